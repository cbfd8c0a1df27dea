"""The verdict rows: the SQL tally, queue and agent page give what the audits' JSON gives,
with people's decisions and appeals applied, on a fresh store and on one backfilled by the
schema step."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
from helpers_audits import RESIDENTS, followup_call, november, repair_call

import qa_audit.store as store_module
from qa_audit.phrasebook import load_phrasebook
from qa_audit.records import Station
from qa_audit.review_page import is_flagged
from qa_audit.store import Store, apply_decisions
from qa_audit.tally import build_tally, build_tally_from_audits


def _calls():
    """November's calls, and more: an October call with open tickets, a call without an
    agent, many serious violations of one agent, a follow-up with odd answers."""
    calls = november()
    day = datetime(2026, 11, 14, 8, 0)
    r = RESIDENTS
    calls.append(repair_call(40, "307", datetime(2026, 10, 30, 9, 0), r[0],
                             findings=["wrong_station"], ticket_station="西园站",
                             repaired_after=None))
    calls.append(repair_call(41, "309", day, r[1], findings=["wrong_address", "wrong_phone"],
                             fail={"readback_phone": "没有跟读电话"},
                             review={"address": "门牌号听不清"}, ticket_phone="13000000000"))
    for k in range(5):
        calls.append(repair_call(50 + k, "309", day + timedelta(hours=k + 1), r[k % 6],
                                 findings=["wrong_station"], ticket_station="西园站",
                                 review={"greeting": "工号听不清"} if k % 2 else {}))
    calls.append(followup_call(60, "309", day + timedelta(days=1), r[2], calls[3].ticket,
                               answers={"resolved": "no", "attitude": "dissatisfied",
                                        "charged": "yes", "rating": 3.5}))
    calls.append(followup_call(61, "309", day + timedelta(days=1, hours=1), r[3],
                               calls[4].ticket, answers={"rating": "十分"}))
    nobody = repair_call(70, "312", day + timedelta(days=2), r[4], findings=["wrong_phone"],
                         ticket_phone="13000000001")
    nobody.audit = nobody.audit.model_copy(update={"agent_id": None})
    calls.append(nobody)
    return calls


def _fill(store: Store, calls) -> None:
    for call in calls:
        store.save_audit(call.audit, transcript=call.transcript, meta=call.meta)
    store.save_tickets(c.ticket for c in calls if c.ticket)


def _decide(store: Store, calls) -> None:
    ids = [c.audit.call_id for c in calls]
    store.decide(ids[0], "greeting", "pass", by="王领班")
    store.decide(ids[0], "readback_name", "pass", by="王领班")
    store.decide(ids[0], "readback_name", "fail", by="李领班")  # the latest one counts
    store.decide(ids[2], "closing", "fail", by="王领班", note="没说再见")  # a pass failed
    accepted = store.appeal(ids[1], "station", reason="北关新村归西园站")
    store.resolve_appeal(accepted.id, "accept", by="王领班")
    rejected = store.appeal(ids[4], "wrong_phone", reason="住户说错")
    store.resolve_appeal(rejected.id, "reject", by="王领班")
    store.appeal(ids[5], "invalid_promise", reason="没有承诺")  # still open
    by_id = {c.audit.call_id: c for c in calls}
    serious = [i for i in ids if i.split("_")[2] == "309" and "repair_05" in i]
    store.decide(serious[0], "wrong_station", "pass", by="王领班")  # a finding withdrawn
    two = next(i for i in ids if i.endswith("_309_repair_041"))
    store.decide(two, "address", "pass", by="王领班")  # takes wrong_address with it
    assert by_id[two].audit.item("address").status == "fail"


def _sheets(tally):
    return {s.key: (s.columns, s.rows) for s in tally.sheets}


@pytest.fixture()
def decided(tmp_path):
    calls = _calls()
    path = tmp_path / "rows.sqlite"
    with Store(path) as store:
        _fill(store, calls)
        _decide(store, calls)
    return path, calls


@pytest.mark.parametrize("with_files", [False, True])
def test_sql_tally_equals_the_tally_from_every_audit(decided, with_files):
    path, calls = decided
    stations = [Station(community=r.community, station=r.station) for r in RESIDENTS]
    kw = {"phrasebook": load_phrasebook(), "now": datetime(2026, 12, 5), "stations": stations}
    if with_files:
        kw["tickets"] = [c.ticket for c in calls if c.ticket]
    with Store(path) as store:
        for month in ("2026-11", "2026-10"):
            new = _sheets(build_tally(store, month, **kw))
            old = _sheets(build_tally_from_audits(store, month, **kw))
            assert new.keys() == old.keys()
            for key in old:
                assert new[key] == old[key], key
    # The case was worth testing: decisions, appeals, the repeat rule and answers show.
    with Store(path) as store:
        tally = build_tally(store, "2026-11", **kw)
    agents = {r[0]: dict(zip(tally.sheet("agents").columns, r))
              for r in tally.sheet("agents").rows}
    assert agents["309"]["累犯加罚 repeat extra"] == 50  # 4 standing of 6 serious
    assert "?" in agents
    followups = {r[0]: r for r in tally.sheet("followups").rows}
    assert followups["309"][-2] == 3.5  # the average rating; the last column: unheard ones


def test_queue_and_agent_page_read_the_rows_as_the_audits_say(decided):
    path, calls = decided
    with Store(path) as store:
        queue = store.review_queue()
        expected = [(a.call_id, i.id, i.label, i.reason, min(e.start for e in i.evidence))
                    for a in store.audits() for i in a.items if i.status == "review"]
        assert [(q.call_id, q.item, q.label, q.reason, q.evidence_start)
                for q in queue] == expected
        assert len(queue) == 2
        assert [q.item for q in store.review_queue(agent="307")] == []  # greeting decided
        for agent in ("307", "308", "309", "311"):
            flagged = [a for a in store.audits(agent=agent) if is_flagged(a)]
            assert list(store.iter_flagged(agent=agent)) == flagged
        # A call the machine passed and a person failed is on the page.
        assert calls[2].audit.call_id in {a.call_id for a in store.iter_flagged(agent="308")}


def test_a_store_made_before_the_rows_is_backfilled_by_the_schema_step(tmp_path, monkeypatch):
    calls = _calls()
    path = tmp_path / "old.sqlite"
    steps = store_module.MIGRATIONS
    monkeypatch.setattr(store_module, "MIGRATIONS", [])
    monkeypatch.setattr(store_module, "save_rows", lambda db, call_id: None)
    with Store(path) as store:
        _fill(store, calls)
        _decide(store, calls)
    assert "call_facts" not in {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master")}
    monkeypatch.setattr(store_module, "MIGRATIONS", steps)
    monkeypatch.undo()
    with Store(path) as store:
        new = _sheets(build_tally(store, "2026-11", now=datetime(2026, 12, 5)))
        old = _sheets(build_tally_from_audits(store, "2026-11", now=datetime(2026, 12, 5)))
        assert new == old
        counts = sqlite3.connect(path).execute(
            "SELECT (SELECT count(*) FROM call_facts), (SELECT count(*) FROM audits)").fetchone()
        assert counts[0] == counts[1] == len(calls)


def test_a_reaudit_replaces_the_rows_and_decisions_still_apply(decided):
    path, calls = decided
    first = calls[0].audit
    clean = first.model_copy(update={"items": [
        i.model_copy(update={"status": "pass", "points": i.max_points}) for i in first.items],
        "score": first.max_score, "findings": []})
    with Store(path) as store:
        store.save_audit(clean)
        rows = sqlite3.connect(path).execute(
            "SELECT count(*), sum(status = 'pass') FROM item_verdicts WHERE call_id = ?",
            (first.call_id,)).fetchone()
        assert rows == (len(first.items), len(first.items))
        # readback_name was last decided fail: it still counts as failed.
        final = apply_decisions(clean, store.decisions(first.call_id))
        assert final.item("readback_name").status == "fail"
        new = _sheets(build_tally(store, "2026-11"))
        old = _sheets(build_tally_from_audits(store, "2026-11"))
        assert new == old


def test_daily_report_by_counts_equals_the_scan_over_every_ticket():
    import random
    from datetime import date

    from qa_audit.records import Ticket
    from qa_audit.tally import _daily_sheet, _daily_sheet_by_scan

    rng = random.Random(11)
    base = datetime(2026, 10, 20, 8, 0)

    def moment(p_none: float):
        return None if rng.random() < p_none else base + timedelta(hours=rng.randrange(1300))

    tickets = [Ticket(ticket_id=f"T{k}", created_at=moment(0.05), repaired_at=moment(0.3),
                      followed_up_at=moment(0.6),
                      station=rng.choice(["西园站", "马坡站", "义宾站", None, ""]),
                      category=rng.choice(["不热", "冰凉", " 测温", "漏水", "咨询", " 咨询 ",
                                           None, "其他"]))
               for k in range(600)]
    stations = [Station(community="义宾小区", station="义宾站"),
                Station(community="金宝小区", station="金宝站")]
    for given in (None, stations):
        fast = _daily_sheet(tickets, given, date(2026, 11, 1), date(2026, 11, 30))
        scan = _daily_sheet_by_scan(tickets, given, date(2026, 11, 1), date(2026, 11, 30))
        assert fast.columns == scan.columns
        assert fast.rows == scan.rows
        assert len(fast.rows) > 100
