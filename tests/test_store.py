"""The results store on a real SQLite file: resume, decisions, appeals, samples, locking,
two writers at once and a writer killed mid-batch."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers_audits import RESIDENTS, batch_call, fingerprint, november, repair_call

from qa_audit.errors import InputError, StoreError
from qa_audit.records import CallMeta
from qa_audit.store import Store, default_db_path, sample_per_agent

HELPER = Path(__file__).with_name("helpers_audits.py")


@pytest.fixture()
def month_store(tmp_path):
    calls = november()
    store = Store(tmp_path / "results.sqlite")
    for call in calls:
        store.save_audit(call.audit, transcript=call.transcript, meta=call.meta)
    store.save_tickets(c.ticket for c in calls if c.ticket)
    yield store, calls
    store.close()


def test_a_saved_audit_reads_back_equal_after_reopening(tmp_path):
    call = november()[0]
    path = tmp_path / "sub" / "results.sqlite"
    with Store(path) as store:
        store.save_audit(call.audit, transcript=call.transcript, meta=call.meta)
    with Store(path, create=False) as store:
        assert store.get_audit(call.audit.call_id, final=False) == call.audit
        assert store.get_transcript(call.audit.call_id) == call.transcript
        assert store.get_meta(call.audit.call_id) == call.meta
    journal = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_filters_by_agent_month_and_days(month_store):
    store, calls = month_store
    assert {a.agent_id for a in store.audits(agent="307")} == {"307"}
    assert len(store.audits(agent="307")) == sum(c.audit.agent_id == "307" for c in calls)
    assert store.audits(month="2026-12") == []
    one_day = store.audits(date_from="2026-11-10", date_to="2026-11-10")
    assert one_day and all(a.started_at.date().isoformat() == "2026-11-10" for a in one_day)
    assert store.months() == ["2026-11"]


def test_resume_skips_calls_with_the_same_fingerprint_only(tmp_path):
    call = november()[0]
    with Store(tmp_path / "r.sqlite") as store:
        assert not store.has_audit(call.audit.call_id)
        store.save_audit(call.audit, fingerprint="abc")
        assert store.has_audit(call.audit.call_id)
        assert store.has_audit(call.audit.call_id, fingerprint="abc")
        assert not store.has_audit(call.audit.call_id, fingerprint="changed-phrasebook")


def test_reaudit_replaces_the_machine_result_and_keeps_decisions(month_store):
    store, calls = month_store
    call = calls[0]
    call_id = call.audit.call_id
    store.decide(call_id, "greeting", "pass", by="王领班", note="工号听得清")
    store.decide(call_id, "readback_name", "pass", by="王领班", note="跟读了")
    store.decide(call_id, "readback_name", "fail", by="李部长", note="复听确实没跟读")
    rerun = call.audit.model_copy(update={"provenance": {"model": "v2"}})
    store.save_audit(rerun)

    assert store.get_audit(call_id, final=False).provenance == {"model": "v2"}
    history = store.decisions(call_id)
    assert [(d.item, d.status, d.by) for d in history] == [
        ("greeting", "pass", "王领班"), ("readback_name", "pass", "王领班"),
        ("readback_name", "fail", "李部长")]
    final = store.get_audit(call_id)
    greeting = final.item("greeting")
    assert greeting.status == "pass" and greeting.points == 5
    assert greeting.model_extra["machine_status"] == "review"
    assert final.item("readback_name").status == "fail"  # the latest decision wins
    assert final.score == call.audit.score + 5
    # The transcript saved with the first audit survives a re-audit without one.
    assert store.get_transcript(call_id) == call.transcript


def test_deciding_an_item_pass_withdraws_its_finding(month_store):
    store, calls = month_store
    call = calls[1]  # wrong station, 30 yuan
    store.decide(call.audit.call_id, "station", "pass", by="王领班",
                 note="北关新村今年划给西园站")
    final = store.get_audit(call.audit.call_id)
    assert final.findings == [] and final.item("station").status == "pass"
    assert store.get_audit(call.audit.call_id, final=False).findings[0].code == "wrong_station"


def test_review_queue_lists_undecided_items_until_decided(month_store):
    store, calls = month_store
    queue = store.review_queue()
    assert [(q.call_id, q.item) for q in queue] == [(calls[0].audit.call_id, "greeting")]
    assert queue[0].reason and queue[0].evidence_start == calls[0].transcript.utterances[0].start
    assert store.review_queue(agent="308") == []
    assert store.review_queue(day="2026-11-11") == []
    store.decide(calls[0].audit.call_id, "greeting", "fail", by="王领班")
    assert store.review_queue() == []


def test_appeal_accepted_counts_as_pass_and_rejected_does_not(month_store):
    store, calls = month_store
    first = store.appeal(calls[0].audit.call_id, "readback_name", reason="我跟读了姓名")
    assert first.filed_by == "307" and first.state == "open"
    second = store.appeal(calls[4].audit.call_id, "wrong_phone", reason="住户自己说错了")
    assert [a.id for a in store.appeals(open_only=True)] == [first.id, second.id]

    store.resolve_appeal(first.id, "accept", by="王领班", note="复听确认已跟读")
    store.resolve_appeal(second.id, "reject", by="王领班", note="录音里住户说的是5")
    assert store.get_audit(calls[0].audit.call_id).item("readback_name").status == "pass"
    assert [f.code for f in store.get_audit(calls[4].audit.call_id).findings] == ["wrong_phone"]
    assert store.appeals(open_only=True) == []
    decision = store.decisions(calls[0].audit.call_id)[-1]
    assert decision.source == "appeal" and decision.appeal_id == first.id


def test_appeal_bad_cases_are_one_line_input_errors(month_store):
    store, calls = month_store
    call_id = calls[0].audit.call_id
    with pytest.raises(InputError, match="unknown call id"):
        store.appeal("no-such-call", "greeting", reason="x")
    with pytest.raises(InputError, match="no item or finding 'greting'.*greeting"):
        store.appeal(call_id, "greting", reason="x")
    with pytest.raises(InputError, match="already counts as pass"):
        store.appeal(call_id, "closing", reason="x")
    with pytest.raises(InputError, match="--reason"):
        store.appeal(call_id, "readback_name", reason="  ")
    appeal = store.appeal(call_id, "readback_name", reason="跟读了")
    with pytest.raises(InputError, match="still open"):
        store.appeal(call_id, "readback_name", reason="again")
    with pytest.raises(InputError, match="not one of: accept, reject"):
        store.resolve_appeal(appeal.id, "maybe", by="王领班")
    store.resolve_appeal(appeal.id, "reject", by="王领班")
    with pytest.raises(InputError, match="already rejected"):
        store.resolve_appeal(appeal.id, "accept", by="王领班")
    with pytest.raises(InputError, match="unknown appeal #99"):
        store.resolve_appeal(99, "accept", by="王领班")


def test_decide_bad_cases(month_store):
    store, calls = month_store
    with pytest.raises(InputError, match="unknown call id"):
        store.decide("nope", "greeting", "pass", by="王领班")
    with pytest.raises(InputError, match="not one of: pass, fail"):
        store.decide(calls[0].audit.call_id, "greeting", "ok", by="王领班")
    with pytest.raises(InputError, match="--by"):
        store.decide(calls[0].audit.call_id, "greeting", "pass", by=" ")
    assert store.decisions(calls[0].audit.call_id) == []


def test_tickets_are_kept_and_found_for_intake_and_follow_up(month_store):
    store, calls = month_store
    assert len(store.tickets(month="2026-11")) == sum(1 for c in calls if c.ticket)
    intake = calls[2]
    followup = next(c for c in calls if c.audit.call_type == "followup"
                    and c.audit.ticket_id == intake.ticket.ticket_id)
    assert store.tickets_of_call(intake.audit.call_id) == [intake.ticket]
    assert store.tickets_of_call(followup.audit.call_id) == [intake.ticket]
    updated = intake.ticket.model_copy(update={"station": "宏城站"})
    store.save_tickets([updated])
    assert store.tickets_of_call(intake.audit.call_id)[0].station == "宏城站"


def _metas(days: int = 3) -> list[CallMeta]:
    metas = []
    for day in range(days):
        for agent in ("301", "305", "309"):
            for k in range(5):
                start = datetime(2026, 11, 9 + day, 8, 0) + timedelta(minutes=13 * k)
                metas.append(CallMeta(call_id=f"{start:%Y%m%d_%H%M%S}_{agent}_repair_{k}",
                                      agent_id=agent, call_type="repair", started_at=start))
    return metas


def test_sample_is_n_per_agent_per_day_and_reproducible():
    metas = _metas()
    sample = sample_per_agent(metas, 2, seed=7, period="day")
    per_day_agent = {}
    for meta in sample:
        key = (meta.started_at.date(), meta.agent_id)
        per_day_agent[key] = per_day_agent.get(key, 0) + 1
    assert set(per_day_agent.values()) == {2} and len(per_day_agent) == 9
    assert sample_per_agent(list(reversed(metas)), 2, seed=7, period="day") == sample
    assert sample_per_agent(metas, 2, seed=8, period="day") != sample
    weekly = sample_per_agent(metas, 3, seed=7, period="week")
    assert len(weekly) == 3 * 3  # 2026-11-09..11 is one ISO week
    with pytest.raises(InputError, match="at least 1"):
        sample_per_agent(metas, 0, seed=1)


def test_recorded_sample_knows_what_was_audited(tmp_path):
    metas = _metas(1)
    sample = sample_per_agent(metas, 1, seed=3, period="day")
    call = repair_call(0, sample[0].agent_id, sample[0].started_at, RESIDENTS[0])
    audit = call.audit.model_copy(update={"call_id": sample[0].call_id})
    with Store(tmp_path / "s.sqlite") as store:
        assert store.record_sample(sample, n=1, seed=3, period="day") == 3
        store.save_audit(audit)
        entries = store.samples(month="2026-11")
    assert [e.call_id for e in entries] == sorted(m.call_id for m in sample)
    assert {e.call_id for e in entries if e.audited} == {sample[0].call_id}
    assert {(e.seed, e.per_agent, e.period_key) for e in entries} == {(3, 1, "2026-11-09")}


def test_default_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("QA_AUDIT_DB", raising=False)
    assert default_db_path() == Path("qa-audit.sqlite")
    monkeypatch.setenv("QA_AUDIT_DB", str(tmp_path / "x.sqlite"))
    assert default_db_path() == tmp_path / "x.sqlite"


def test_unusable_files_are_reported_in_one_line(tmp_path):
    garbage = tmp_path / "notes.sqlite"
    garbage.write_bytes(b"this is a text file, not a database" * 100)
    with pytest.raises(StoreError, match="not a qa-audit results database"):
        Store(garbage)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    db.close()
    with pytest.raises(StoreError, match="another program's SQLite database"):
        Store(other)
    newer = tmp_path / "newer.sqlite"
    Store(newer).close()
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer qa-audit"):
        Store(newer)
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="no results database"):
        Store(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()


def test_a_locked_database_gives_a_store_error_not_a_hang(tmp_path):
    path = tmp_path / "locked.sqlite"
    call = november()[0]
    Store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Store(path, timeout=0.2) as store, \
                pytest.raises(StoreError, match="locked by another process"):
            store.save_audit(call.audit)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store(path) as store:
        store.save_audit(call.audit)
        assert store.has_audit(call.audit.call_id)


def _writer(db: Path, prefix: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPER), "write", str(db), "--prefix", prefix, "--count", str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _content(db: Path) -> list[tuple]:
    """Everything stored about the audits except when it was written."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT call_id, agent_id, call_type, started_at, day, fingerprint, audit, "
            "transcript, meta, revision FROM audits ORDER BY call_id").fetchall()
    finally:
        conn.close()


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_two_leads_writing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "shared.sqlite"
    writers = [_writer(db, prefix, 150) for prefix in ("A", "B")]
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
        assert out.count("saved") == 150
    assert _integrity(db) == "ok"
    rows = _content(db)
    assert len(rows) == 300
    with Store(db) as store:
        for prefix in ("A", "B"):
            for index in (0, 77, 149):
                call = batch_call(prefix, index)
                assert store.get_audit(call.audit.call_id, final=False) == call.audit


def test_a_writer_killed_mid_batch_loses_nothing_and_a_rerun_completes(tmp_path):
    count = 400
    killed = tmp_path / "killed.sqlite"
    writer = _writer(killed, "K", count)
    reported = 0
    for line in writer.stdout:  # kill it while it is writing, after some calls are in
        reported += line.startswith("saved")
        if reported >= 60:
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()
    writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL

    assert _integrity(killed) == "ok"
    kept = _content(killed)
    assert reported <= len(kept) < count
    with Store(killed) as store:
        for index in range(reported):  # every call reported saved is there, intact
            call = batch_call("K", index)
            assert store.has_audit(call.audit.call_id, fingerprint=fingerprint(call))
            assert store.get_audit(call.audit.call_id, final=False) == call.audit

    rerun = _writer(killed, "K", count)
    out, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err
    assert out.count("saved") == count - len(kept)  # resumed, not restarted

    clean = tmp_path / "clean.sqlite"
    fresh = _writer(clean, "K", count)
    _, err = fresh.communicate(timeout=240)
    assert fresh.returncode == 0, err
    assert _content(killed) == _content(clean)


def test_schema_steps_are_applied_once_to_older_stores_and_unknown_steps_refused(
        tmp_path, monkeypatch):
    import qa_audit.store as store_module

    path = tmp_path / "old.sqlite"
    Store(path).close()  # a store made before the step below existed
    step = ("test_notes", "CREATE TABLE test_notes (id INTEGER PRIMARY KEY, text TEXT)")
    known = list(store_module.MIGRATIONS)
    monkeypatch.setattr(store_module, "MIGRATIONS", [*known, step])
    Store(path).close()
    Store(path).close()  # opening again must not apply it twice
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM migrations WHERE name = 'test_notes'").fetchone() == (1,)
    db.execute("INSERT INTO test_notes (text) VALUES ('x')")
    db.commit()
    db.close()
    monkeypatch.setattr(store_module, "MIGRATIONS", known)  # this code's steps, not test_notes
    with pytest.raises(StoreError, match="newer qa-audit.*test_notes"):
        Store(path)
