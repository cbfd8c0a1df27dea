"""The agent's self-review page and the lead's CLI commands (review, queue, decide, appeal,
appeals), on a real SQLite file."""

from __future__ import annotations

import json
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers_audits import november, spoken, write_wav

from qa_audit.cli.main import main
from qa_audit.review_page import write_review_page
from qa_audit.store import Store


@pytest.fixture()
def month(tmp_path):
    """A stored month whose first two calls of agent 307 have a real recording."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    wav = write_wav(recordings / "call.wav", 50)
    calls = november(audio=str(wav))
    db = tmp_path / "results.sqlite"
    with Store(db) as store:
        for call in calls:
            store.save_audit(call.audit, transcript=call.transcript, meta=call.meta)
        store.save_tickets(c.ticket for c in calls if c.ticket)
    return db, calls


class _Page(HTMLParser):
    """What a reader of the page gets: text, attributes, the calls and the players."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.attrs: list[str] = []
        self.calls: list[str] = []
        self.audio: list[str] = []
        self.seeks: list[float] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.attrs += [v for v in values.values() if v]
        if tag == "section" and "data-call" in values:
            self.calls.append(values["data-call"])
        if tag == "audio":
            self.audio.append(values["src"])
        if "data-seek" in values:
            self.seeks.append(float(values["data-seek"]))

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> tuple[_Page, str]:
    html = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    return page, html


def _secrets(calls) -> list[str]:
    out = []
    for call in calls:
        r = call.resident
        out += [r.name, r.phone, spoken(r.phone), r.address, r.spoken_address,
                r.phone[3:9], spoken(r.phone[3:9])]
        if call.ticket:
            out += [call.ticket.caller_phone, call.ticket.address]
    return out


def test_page_has_only_the_agents_flagged_calls(month, tmp_path):
    db, calls = month
    with Store(db) as store:
        result = write_review_page(store, "307", tmp_path / "page")
    page, _ = _parse(result.path)
    own_flagged = [c.audit.call_id for c in calls if c.audit.agent_id == "307"]
    assert page.calls == own_flagged  # every call of 307 in the month has a problem
    others = [c.audit.call_id for c in calls if c.audit.agent_id != "307"]
    html = result.path.read_text(encoding="utf-8")
    assert not any(call_id in html for call_id in others)


def test_clean_calls_are_left_out(month, tmp_path):
    db, calls = month
    with Store(db) as store:
        result = write_review_page(store, "308", tmp_path / "page")
    page, _ = _parse(result.path)
    # 308's intake calls are clean; only the follow-up where the repairman charged is shown.
    assert page.calls == [c.audit.call_id for c in calls
                          if c.audit.agent_id == "308" and c.audit.findings]


def test_no_resident_data_leaves_unmasked(month, tmp_path):
    db, calls = month
    with Store(db) as store:
        store.appeal(calls[0].audit.call_id, "readback_name",
                     reason=f"我跟读了{calls[0].resident.name}的名字")
        result = write_review_page(store, "307", tmp_path / "page")
    page, html = _parse(result.path)
    visible = "".join(page.text) + " ".join(page.attrs)
    for secret in _secrets(calls):
        assert secret not in html, secret
    assert re.search(r"\d{7,}", re.sub(r"\d{8}_\d{6}_\d+_\w+", "", visible)) is None
    # What a reviewer needs is still there: surname, community, the phone's ends.
    assert "杨*" in visible and "宏城花园**号楼*单元***" in visible
    assert "一三八******零零" in visible
    assert "我跟读了杨*的名字" in visible


def test_failed_items_show_reason_evidence_and_a_player(month, tmp_path):
    db, calls = month
    with Store(db) as store:
        result = write_review_page(store, "307", tmp_path / "page")
    page, _ = _parse(result.path)
    first = calls[0]
    readback = first.audit.item("readback_name")
    assert readback.reason in "".join(page.text)
    assert readback.evidence[0].start in page.seeks
    # Recordings are copied next to the page; calls without one are listed as missing.
    assert len(page.audio) == 2
    for src in page.audio:
        assert (result.path.parent / src).stat().st_size > 100_000
    assert result.missing_audio == [c.audit.call_id for c in calls
                                    if c.audit.agent_id == "307" and not c.audit.audio]


def test_decisions_and_appeals_show_beside_the_machine_verdict(month, tmp_path):
    db, calls = month
    call_id = calls[0].audit.call_id
    with Store(db) as store:
        store.decide(call_id, "greeting", "fail", by="王领班", note="没有报工号")
        appeal = store.appeal(call_id, "greeting", reason="报了，声音小")
        store.resolve_appeal(appeal.id, "reject", by="王领班", note="复听没有工号")
        result = write_review_page(store, "307", tmp_path / "page")
    text = "".join(_parse(result.path)[0].text)
    assert "领班复核：王领班（机器原判：待复核）；没有报工号" in text
    assert f"申诉 #{appeal.id}（已驳回）：报了，声音小 —— 答复：复听没有工号" in text


def test_cli_review_writes_the_page(month, tmp_path, capsys):
    db, _ = month
    out = tmp_path / "site"
    rc = main(["review", "--agent", "307", "--db", str(db), "--out", str(out),
               "--month", "2026-11"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.out.strip() == str(out / "index.html")
    assert "4 flagged call(s) of agent 307; 2 without a recording" in captured.err
    assert captured.err.count("no recording is registered for this call") == 2
    assert (out / "index.html").exists() and list((out / "audio").iterdir())


@pytest.mark.parametrize(("args", "message"), [
    (["review", "--agent", "307", "--out", "{tmp}/p", "--month", "2026-13"], "not YYYY-MM"),
    (["review", "--agent", "307", "--out", "{tmp}/p", "--from", "10.11.2026"], "not a date"),
    (["decide", "nope", "greeting", "pass", "--by", "王领班"], "unknown call id 'nope'"),
    (["decide", "{call}", "greetng", "pass", "--by", "王领班"], "no item or finding 'greetng'"),
    (["decide", "{call}", "greeting", "maybe", "--by", "王领班"], "not one of: pass, fail"),
    (["appeal", "{call}", "closing", "--reason", "x"], "already counts as pass"),
    (["appeals", "resolve", "42", "accept", "--by", "王领班"], "unknown appeal #42"),
    (["queue", "--date", "yesterday"], "not a date"),
])
def test_cli_bad_input_is_one_line_and_exit_1(month, tmp_path, capsys, args, message):
    db, calls = month
    argv = [a.format(tmp=tmp_path, call=calls[0].audit.call_id) for a in args]
    rc = main([*argv, "--db", str(db)])
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_cli_missing_database_is_reported_not_created(tmp_path, capsys):
    missing = tmp_path / "nope.sqlite"
    rc = main(["queue", "--db", str(missing)])
    assert rc == 1
    assert "no results database" in capsys.readouterr().err
    assert not missing.exists()


def test_cli_locked_database_is_exit_1(month, capsys, monkeypatch):
    db, calls = month
    monkeypatch.setattr("qa_audit.store.DEFAULT_BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        rc = main(["decide", calls[0].audit.call_id, "greeting", "pass", "--by", "王领班",
                   "--db", str(db)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert rc == 1
    assert "locked by another process" in capsys.readouterr().err


def test_cli_queue_decide_appeal_resolve_round_trip(month, capsys, monkeypatch):
    db, calls = month
    monkeypatch.setenv("QA_AUDIT_DB", str(db))  # the env var stands in for --db
    call_id = calls[0].audit.call_id

    assert main(["queue", "--agent", "307"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["录音编号", "call"]
    assert len(out) == 2 and call_id in out[1] and "greeting" in out[1] and "00:00" in out[1]

    assert main(["decide", call_id, "greeting", "pass", "--by", "王领班",
                 "--note", "工号清楚"]) == 0
    assert "review -> pass" in capsys.readouterr().out
    assert main(["queue", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    assert main(["appeal", call_id, "readback_name", "--reason", "我跟读了"]) == 0
    assert "appeal #1 filed" in capsys.readouterr().out
    assert main(["appeals", "--open", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["id"], a["item"], a["filed_by"], a["state"]) for a in listed] == [
        (1, "readback_name", "307", "open")]

    assert main(["appeals", "resolve", "1", "accept", "--by", "王领班", "--note", "确认"]) == 0
    assert "appeal #1 accepted" in capsys.readouterr().out
    assert main(["appeals", "--open"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # the header only
    assert main(["appeals"]) == 0
    table = capsys.readouterr().out
    assert "已通过" in table and "王领班: 确认" in table
    with Store(db) as store:
        final = store.get_audit(call_id)
    assert final.score == final.max_score
