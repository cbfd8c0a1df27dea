"""Killed runs and runs side by side: the store ends as one clean run leaves it, each call is
audited once in total, and every run reports every call it was asked for."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import DEV

from qa_audit.cli.main import main
from qa_audit.records import CallAudit
from qa_audit.run import owner_gone, owner_name
from qa_audit.store import Store

CALLS = 36


def _args(db: Path, *extra: str) -> list[str]:
    return ["audit", str(DEV / "clean"), "--calls", str(DEV / "calls.csv"), "--tickets",
            str(DEV / "tickets.csv"), "--stations", str(DEV / "stations.csv"), "--db", str(db),
            *extra]


def _dump(db: Path) -> list[tuple]:
    """What a re-run must reproduce: every audit as the machine made it (timestamps aside)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT call_id, agent_id, day, fingerprint, audit FROM audits "
                           "ORDER BY call_id").fetchall()
        tickets = con.execute("SELECT ticket_id, ticket FROM tickets ORDER BY ticket_id") \
            .fetchall()
        claims = con.execute("SELECT count(*) FROM claims").fetchone()[0]
    finally:
        con.close()
    return [(cid, agent, day, fp, json.loads(audit)) for cid, agent, day, fp, audit in rows] \
        + [tickets, ("claims left", claims)]


def _diff(mine: object, theirs: object) -> str:
    if isinstance(mine, tuple) and isinstance(theirs, tuple) and len(mine) == 5:
        a, b = mine[4], theirs[4]
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return f"{mine[0]}: differs in {keys}: " + "; ".join(
            f"{k}: {str(a.get(k))[:300]} != {str(b.get(k))[:300]}" for k in keys)
    return f"{str(mine)[:300]} != {str(theirs)[:300]}"


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "QA_AUDIT_CACHE": str(tmp_path / "cache")}


def _stored(db: Path) -> int:
    try:
        con = sqlite3.connect(db, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM audits").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> list[tuple]:
    db = tmp_path_factory.mktemp("clean") / "clean.sqlite"
    assert main(_args(db)) == 0
    return _dump(db)


@pytest.mark.parametrize("after", [0, 1, 12, 30])
def test_killed_at_any_point_then_rerun_equals_a_clean_run(tmp_path, clean, after):
    db, out = tmp_path / "k.sqlite", tmp_path / "k.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "qa_audit.cli.main",
                             *_args(db, "--out", str(out))], env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    saved = 0
    while time.monotonic() < deadline and proc.poll() is None:
        saved = _stored(db)
        if saved >= after and (after or db.exists()):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(timeout=30)
    if proc.returncode == 0:
        pytest.skip("the audit finished before it could be killed")
    # The killed run's --out holds valid lines, each a call it finished and stored.
    if out.exists():
        lines = out.read_text(encoding="utf-8").splitlines()
        with Store(db) as store:
            for line in lines:
                audit = CallAudit.model_validate_json(line)
                assert store.has_audit(audit.call_id)
    assert main(_args(db, "--out", str(out))) == 0
    again = _dump(db)
    assert [row[0] for row in again[:CALLS]] == [row[0] for row in clean[:CALLS]]
    for mine, theirs in zip(again, clean):
        assert mine == theirs, _diff(mine, theirs)
    assert len(out.read_text(encoding="utf-8").splitlines()) == CALLS


def test_two_runs_started_together_share_the_calls_and_both_report_all(tmp_path, clean):
    db = tmp_path / "shared.sqlite"
    with Store(db):
        pass  # the schema exists before both start, as for any day after the first
    procs = [subprocess.Popen([sys.executable, "-m", "qa_audit.cli.main",
                               *_args(db, "--out", str(tmp_path / f"{n}.jsonl"))],
                              env=_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    for n in (1, 2):
        lines = (tmp_path / f"{n}.jsonl").read_text(encoding="utf-8").splitlines()
        assert sorted(json.loads(line)["call_id"] for line in lines) == sorted(
            row[0] for row in clean[:CALLS])
    con = sqlite3.connect(db)
    revisions = [r[0] for r in con.execute("SELECT revision FROM audits")]
    con.close()
    assert len(revisions) == CALLS and set(revisions) == {1}  # each call audited once
    assert _dump(db) == clean


def test_a_claim_holds_against_a_live_run_and_passes_on_when_it_dies_or_expires(tmp_path):
    with Store(tmp_path / "c.sqlite") as store:
        assert store.claim("c1", "a", lease_s=60) == "mine"
        assert store.claim("c1", "b", lease_s=60) == "taken"
        assert store.claim("c1", "a", lease_s=60) == "mine"  # renewing one's own
        assert store.claim("c1", "b", lease_s=60, gone=lambda owner: owner == "a") == "mine"
        assert store.claim("c2", "a", lease_s=0.05) == "mine"
        time.sleep(0.1)
        assert store.claim("c2", "b", lease_s=60) == "mine"  # the lease ran out
        store.release_claim("c2", "b")
        assert store.claim("c2", "a", lease_s=60) == "mine"
        # Killed after storing c3, before letting it go: found done, the claim cleared.
        assert store.claim("c3", "dead", lease_s=60) == "mine"
        store.save_audit(CallAudit(call_id="c3", call_type="repair", form="repair", score=1,
                                   max_score=1, items=[]), fingerprint="f")
        assert store.claim("c3", "b", lease_s=60, fingerprint="f",
                           gone=lambda owner: owner == "dead") == "done"
        assert store._query("SELECT count(*) FROM claims WHERE call_id = 'c3'")[0][0] == 0


def test_a_dead_process_on_this_machine_is_known_at_once(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    host = owner_name().split(":")[0]
    assert owner_gone(f"{host}:{proc.pid}:x")
    assert not owner_gone(owner_name())
    assert not owner_gone(f"another-host:{proc.pid}:x")


def test_a_run_killed_beside_another_leaves_its_calls_to_the_other(tmp_path, clean):
    db = tmp_path / "shared.sqlite"
    with Store(db):
        pass
    survivor, victim = (subprocess.Popen(
        [sys.executable, "-m", "qa_audit.cli.main", *_args(db, "--out", str(tmp_path / name))],
        env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for name in ("survivor.jsonl", "victim.jsonl"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and victim.poll() is None and _stored(db) < 6:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    _, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err
    lines = (tmp_path / "survivor.jsonl").read_text(encoding="utf-8").splitlines()
    assert len({json.loads(line)["call_id"] for line in lines}) == CALLS
    assert _dump(db) == clean
