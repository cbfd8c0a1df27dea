"""`qa-audit audit` end to end on transcripts: store, resume, sample, kill safety."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa_audit.cli.main import main
from qa_audit.store import Store

DEV = Path(__file__).parent / "data" / "devcalls"


def _args(db: Path, *extra: str) -> list[str]:
    return ["audit", str(DEV / "clean"), "--calls", str(DEV / "calls.csv"), "--tickets",
            str(DEV / "tickets.csv"), "--stations", str(DEV / "stations.csv"), "--db", str(db),
            *extra]


def _dump(db: Path) -> list[tuple]:
    """The store's content that a re-run must reproduce (timestamps aside)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT call_id, agent_id, fingerprint, audit FROM audits "
                           "ORDER BY call_id").fetchall()
        tickets = con.execute("SELECT count(*) FROM tickets").fetchone()
    finally:
        con.close()
    return [(cid, agent, fp, json.loads(audit)["items"]) for cid, agent, fp, audit in rows] + [
        tickets]


def test_audit_stores_every_call_and_prints_a_summary_per_agent(tmp_path: Path, capsys) -> None:
    db = tmp_path / "qa.sqlite"
    out = tmp_path / "r.jsonl"
    assert main(_args(db, "--out", str(out))) == 0
    captured = capsys.readouterr()
    assert "坐席汇总" in captured.out and "326" in captured.out
    with Store(db) as store:
        audits = store.audits()
        assert len(audits) == 36
        assert len(store.tickets()) >= 29
    assert len(out.read_text(encoding="utf-8").splitlines()) == 36
    # A second run finds everything done and changes nothing.
    before = _dump(db)
    assert main(_args(db)) == 0
    assert "36 call(s) already audited" in capsys.readouterr().err
    assert _dump(db) == before


def test_audit_only_one_day_and_a_reproducible_sample(tmp_path: Path, capsys) -> None:
    db = tmp_path / "qa.sqlite"
    assert main(_args(db, "--from", "2026-11-01", "--to", "2026-11-30", "--sample",
                      "1-per-agent", "--period", "week", "--seed", "7")) == 0
    with Store(db) as store:
        first = sorted(a.call_id for a in store.audits())
        sampled = store.samples()
    assert first and all(cid.startswith("202611") for cid in first)
    assert sorted(s.call_id for s in sampled) == first
    # At most one call per agent per ISO week.
    weeks = {}
    for a in first:
        key = (a.split("_")[2], __import__("datetime").date.fromisoformat(
            f"{a[:4]}-{a[4:6]}-{a[6:8]}").isocalendar()[1])
        weeks[key] = weeks.get(key, 0) + 1
    assert max(weeks.values()) == 1
    db2 = tmp_path / "again.sqlite"
    assert main(_args(db2, "--from", "2026-11-01", "--to", "2026-11-30", "--sample",
                      "1-per-agent", "--period", "week", "--seed", "7")) == 0
    with Store(db2) as store:
        assert sorted(a.call_id for a in store.audits()) == first


def test_bad_options_get_one_line(tmp_path: Path, capsys) -> None:
    assert main(_args(tmp_path / "x.sqlite", "--sample", "lots")) == 1
    assert capsys.readouterr().err.startswith("error: --sample 'lots'")
    assert main(_args(tmp_path / "x.sqlite", "--date", "2026-13-40")) == 1
    assert "2026-13-40" in capsys.readouterr().err


def test_killed_half_way_then_rerun_gives_the_same_store(tmp_path: Path) -> None:
    clean_db = tmp_path / "clean.sqlite"
    assert main(_args(clean_db)) == 0
    killed_db = tmp_path / "killed.sqlite"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "qa_audit.cli.main", *_args(killed_db)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    saved = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            con = sqlite3.connect(killed_db, timeout=1)
            saved = con.execute("SELECT count(*) FROM audits").fetchone()[0]
            con.close()
        except sqlite3.Error:
            saved = 0
        if saved >= 5:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    if proc.returncode == 0:
        pytest.skip("the audit finished before it could be killed")
    assert 0 < saved < 36
    assert main(_args(killed_db)) == 0
    assert _dump(killed_db) == _dump(clean_db)
