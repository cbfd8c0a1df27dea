"""`qa-audit import`: results from elsewhere into the store, bad lines reported one by one,
decisions kept, batches whole or not at all."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest
from helpers_audits import november

from qa_audit.cli.main import main
from qa_audit.cli.importing import read_results
from qa_audit.store import Store
from qa_audit.tally import build_tally


def _jsonl(path, audits, *, extra_lines=()):
    with path.open("w", encoding="utf-8") as fh:
        for audit in audits:
            fh.write(audit.model_dump_json(exclude_none=True) + "\n")
        for line in extra_lines:
            fh.write(line + "\n")
    return path


def _sheets(path):
    with Store(path) as store:
        return {s.key: s.rows for s in build_tally(store, "2026-11",
                                                   now=datetime(2026, 12, 5)).sheets}


def test_import_gives_the_store_that_auditing_gave_and_reports_bad_lines(tmp_path, capsys):
    calls = november()
    audited = tmp_path / "audited.sqlite"
    with Store(audited) as store:
        for call in calls:
            store.save_audit(call.audit)
    results = _jsonl(tmp_path / "results.jsonl", [c.audit for c in calls], extra_lines=[
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"call_id": "x1", "call_type": "repair"}),
        json.dumps({**json.loads(calls[0].audit.model_dump_json()), "call_type": "visit"}),
    ])
    imported = tmp_path / "imported.sqlite"
    rc = main(["import", str(results), "--db", str(imported), "--batch-size", "4"])
    err = capsys.readouterr().err.splitlines()
    assert rc == 1
    bad = [line for line in err if line.startswith("error: ")]
    n = len(calls)
    assert [line.split(": ")[1] for line in bad] == [
        f"{results}:{n + 2}", f"{results}:{n + 3}", f"{results}:{n + 4} (call x1)",
        f"{results}:{n + 5} (call {calls[0].audit.call_id})"]
    assert "not JSON" in bad[0] and "field form" in bad[2] and "field call_type" in bad[3]
    assert all("fix or remove the line" in line for line in bad)
    assert f"{n} call(s) imported" in err[-2] and "4 bad line(s)" in err[-1]
    assert _sheets(imported) == _sheets(audited)


def test_reimport_replaces_results_and_keeps_decisions(tmp_path, capsys):
    calls = november()
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        for call in calls:
            store.save_audit(call.audit, transcript=call.transcript, meta=call.meta)
        store.decide(calls[0].audit.call_id, "greeting", "pass", by="王领班")
    first = calls[0].audit
    changed = first.model_copy(update={"score": first.score - 1, "items": [
        i.model_copy(update={"status": "fail", "points": 0}) if i.id == "closing" else i
        for i in first.items]})
    results = _jsonl(tmp_path / "again.jsonl", [changed, *[c.audit for c in calls[1:]]])
    assert main(["import", str(results), "--db", str(path)]) == 0
    assert f"{len(calls)} call(s) imported" in capsys.readouterr().err
    with Store(path) as store:
        final = store.get_audit(first.call_id)
        assert final.item("greeting").status == "pass"  # the lead's decision stays
        assert final.item("closing").status == "fail"  # the new result is in
        assert store.get_transcript(first.call_id) == calls[0].transcript  # kept
        assert [q.call_id for q in store.review_queue()] == []
    db = sqlite3.connect(path)
    assert db.execute("SELECT revision FROM audits WHERE call_id = ?",
                      (first.call_id,)).fetchone() == (2,)
    assert db.execute("SELECT count(*) FROM item_verdicts WHERE call_id = ?",
                      (first.call_id,)).fetchone() == (len(first.items),)


def test_an_interrupted_import_keeps_whole_batches_only(tmp_path):
    calls = november()
    path = tmp_path / "i.sqlite"

    def interrupted():
        for k, call in enumerate(calls):
            if k == 7:
                raise KeyboardInterrupt
            yield call.audit

    with Store(path) as store, pytest.raises(KeyboardInterrupt):
        store.save_audits(interrupted(), batch_size=3)
    db = sqlite3.connect(path)
    counts = db.execute("""SELECT (SELECT count(*) FROM audits), (SELECT count(*) FROM call_facts),
                                  (SELECT count(DISTINCT call_id) FROM item_verdicts)""").fetchone()
    assert counts == (6, 6, 6)


def test_a_missing_file_is_one_line(tmp_path, capsys):
    rc = main(["import", str(tmp_path / "none.jsonl"), "--db", str(tmp_path / "x.sqlite")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith("error: ") and "cannot read" in err and "\n" not in err


def test_results_are_read_line_by_line(tmp_path):
    path = _jsonl(tmp_path / "r.jsonl", [c.audit for c in november()[:2]])
    bad: list[str] = []
    reader = read_results(path, bad)
    assert next(reader).call_id == november()[0].audit.call_id
    assert bad == []
