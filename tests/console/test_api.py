"""The console's JSON API for each role, on the sample store: the contract of docs/api.md,
who may see and do what, and what each action leaves behind."""

from __future__ import annotations

import io
import re
import sqlite3
from datetime import date, timedelta

import pytest
from .console_support import PASSWORD, USERS
from fastapi.testclient import TestClient
from openpyxl import load_workbook

CALL_401 = "20261116_081205_318_repair_401"  # agent 318, address and name under review
CALL_402 = "20261116_094030_301_repair_402"  # agent 301
CALL_406 = "20261120_164503_318_repair_406"  # agent 318, wrong station (a finding)

API_GETS = ["/api/me", "/api/calls", f"/api/calls/{CALL_401}", f"/api/calls/{CALL_401}/audio",
            "/api/queue", "/api/appeals", "/api/tally?month=2026-11", "/api/dashboard",
            "/api/log", "/api/me/month"]


def test_every_api_route_wants_a_session(client):
    for url in API_GETS:
        assert client.get(url).status_code == 401, url
    assert client.post(f"/api/calls/{CALL_401}/items/name/decision",
                       json={"status": "pass"}).status_code == 401
    assert client.post("/api/appeals/1/resolve", json={"outcome": "accept"}).status_code == 401


def test_a_page_without_a_session_leads_to_the_login(client):
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert "用户名" in client.get("/login").text


def test_me_tells_name_role_agent_and_csrf(as_user):
    me = as_user("a318").get("/api/me").json()
    assert me["name"] == "a318" and me["role"] == "agent" and me["agent_id"] == "318"
    assert len(me["csrf"]) >= 32


def test_lead_decides_a_queue_item_and_the_machine_verdict_stays_beside_it(as_user):
    lead = as_user("王班长")
    items = lead.get("/api/queue", params={"from": "2026-11-16", "to": "2026-11-16"}).json()
    waiting = [i for i in items["items"] if i["call_id"] == CALL_401]
    assert {i["item"] for i in waiting} >= {"name", "address"}
    assert all(i["evidence"] and i["reason"] for i in waiting)
    decided = lead.post(f"/api/calls/{CALL_401}/items/address/decision",
                        json={"status": "fail", "note": "工单门牌号与住户所说不同"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["machine_status"] == "review"
    # The item left the queue; the call shows the person's verdict with the machine's.
    after = lead.get("/api/queue", params={"date": "2026-11-16"}).json()["items"]
    assert ("address", CALL_401) not in {(i["item"], i["call_id"]) for i in after}
    call = lead.get(f"/api/calls/{CALL_401}").json()
    address = next(i for i in call["audit"]["items"] if i["id"] == "address")
    assert address["status"] == "fail" and address["machine_status"] == "review"
    assert address["decided_by"] == "王班长" and address["points"] == 0


def test_queue_filters_by_agent_and_item(as_user):
    lead = as_user("王班长")
    only_318 = lead.get("/api/queue", params={"agent": "318"}).json()["items"]
    assert only_318 and {i["agent_id"] for i in only_318} == {"318"}
    addresses = lead.get("/api/queue", params={"item": "address"}).json()["items"]
    assert addresses and {i["item"] for i in addresses} == {"address"}


def test_lead_sees_residents_unmasked_and_the_ticket(as_user):
    call = as_user("王班长").get(f"/api/calls/{CALL_401}").json()
    assert call["tickets"][0]["caller_name"] == "赵丽萍"
    assert "18612347709" in " ".join(u["text"] for u in call["transcript"]["utterances"])


def test_calls_list_contract_and_filters(as_user):
    lead = as_user("王班长")
    calls = lead.get("/api/calls").json()["calls"]
    assert len(calls) == 10
    assert set(calls[0]) >= {"call_id", "agent_id", "call_type", "started_at", "score",
                             "max_score", "flagged"}
    week = lead.get("/api/calls", params={"from": "2026-11-16", "to": "2026-11-17",
                                          "agent": "318"}).json()["calls"]
    assert [c["call_id"] for c in week] == [CALL_401]
    flagged = lead.get("/api/calls", params={"flagged": 1}).json()["calls"]
    assert flagged and all(c["flagged"] for c in flagged)


def test_agent_gets_only_own_calls_flagged_first(as_user):
    agent = as_user("a318")
    calls = agent.get("/api/calls").json()["calls"]
    assert {c["agent_id"] for c in calls} == {"318"} and len(calls) == 2
    flags = [c["flagged"] for c in calls]
    assert flags == sorted(flags, reverse=True)
    # Asking for another agent's calls still gives only one's own.
    assert {c["agent_id"] for c in agent.get("/api/calls", params={"agent": "301"})
            .json()["calls"]} <= {"318"}


def test_another_agents_call_and_audio_are_refused(as_user):
    agent = as_user("a318")
    assert agent.get(f"/api/calls/{CALL_402}").status_code == 404
    assert agent.get(f"/api/calls/{CALL_402}/audio").status_code == 404
    assert agent.get(f"/calls/{CALL_402}").status_code == 404
    # The same answer as for a call that does not exist: nothing is revealed.
    assert agent.get("/api/calls/no-such-call").status_code == 404
    assert agent.get(f"/api/calls/{CALL_401}").status_code == 200


def test_agent_cannot_decide_resolve_queue_sample_or_download_the_tally(as_user):
    agent = as_user("a318")
    assert agent.post(f"/api/calls/{CALL_401}/items/name/decision",
                      json={"status": "pass"}).status_code == 403
    assert agent.post("/api/appeals/1/resolve", json={"outcome": "accept"}).status_code == 403
    assert agent.get("/api/queue").status_code == 403
    assert agent.get("/api/tally", params={"month": "2026-11"}).status_code == 403
    assert agent.get("/api/dashboard").status_code == 403
    assert agent.post("/api/samples", json={"from": "2026-11-16", "to": "2026-11-22",
                                            "per_agent": 1}).status_code == 403
    assert agent.get("/api/log").status_code == 403


def test_office_gets_figures_and_the_workbook_but_no_call_contents(as_user):
    office = as_user("钱会计")
    for url in ("/api/calls", f"/api/calls/{CALL_401}", f"/api/calls/{CALL_401}/audio",
                "/api/queue", "/api/appeals", f"/calls/{CALL_401}"):
        assert office.get(url).status_code in (403, 404), url
    tally = office.get("/api/tally", params={"month": "2026-11"})
    assert tally.status_code == 200
    assert "tally-2026-11.xlsx" in tally.headers["content-disposition"]
    book = load_workbook(io.BytesIO(tally.content))
    assert "坐席 agents" in book.sheetnames
    figures = office.get("/api/dashboard", params={"month": "2026-11"}).json()
    assert {a["agent_id"] for a in figures["agents"]} == {"301", "305", "309", "318", "322"}
    assert {"agents", "fines", "items", "stations", "backlog", "overturns"} <= set(
        figures["figures"])
    station = next(s for s in figures["stations"] if s["station"] == "建新站")
    assert station["dispatch_errors"] == 1  # 406 sent to 建新站, not 滨河站
    assert figures["review_backlog"] > 0
    # The office's page holds figures, not calls.
    page = office.get("/dashboard", params={"month": "2026-11"}).text
    assert "下载月度汇总表" in page and "赵丽萍" not in page and CALL_401 not in page


def test_the_tally_refuses_a_bad_month(as_user):
    response = as_user("钱会计").get("/api/tally", params={"month": "2026-13"})
    assert response.status_code == 400 and "YYYY-MM" in response.json()["error"]


def test_audio_supports_range_requests(as_user):
    agent = as_user("a318")
    whole = agent.get(f"/api/calls/{CALL_401}/audio")
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    part = agent.get(f"/api/calls/{CALL_401}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(whole.content)}"
    assert part.content == whole.content[1000:2000]


def test_agent_appeals_then_sees_the_leads_answer(as_user):
    agent, lead = as_user("a318"), as_user("王班长")
    filed = agent.post(f"/api/calls/{CALL_406}/items/station/appeals",
                       json={"reason": "住户先说的是电力局家属院，我按别名派的"})
    assert filed.status_code == 201, filed.text
    appeal_id = filed.json()["id"]
    # A second appeal on the same item waits for the answer.
    again = agent.post(f"/api/calls/{CALL_406}/items/station/appeals", json={"reason": "再次"})
    assert again.status_code == 400
    open_ones = lead.get("/api/appeals", params={"state": "open"}).json()["appeals"]
    assert [a["id"] for a in open_ones] == [appeal_id]
    assert open_ones[0]["agent_id"] == "318" and open_ones[0]["state"] == "open"
    answer = lead.post(f"/api/appeals/{appeal_id}/resolve",
                       json={"outcome": "accept", "note": "别名确属电力小区，改判合格"})
    assert answer.status_code == 200 and answer.json()["state"] == "accepted"
    mine = agent.get("/api/appeals").json()["appeals"]
    assert mine[0]["state"] == "accepted" and mine[0]["answer"] == "别名确属电力小区，改判合格"
    call = agent.get(f"/api/calls/{CALL_406}").json()
    assert call["appeals"][0]["state"] == "accepted"
    station = next(i for i in call["audit"]["items"] if i["id"] == "station")
    assert station["status"] == "pass" and station["machine_status"] == "fail"
    # Resolved once is resolved.
    assert lead.post(f"/api/appeals/{appeal_id}/resolve",
                     json={"outcome": "reject"}).status_code == 400


def test_an_agent_cannot_appeal_another_agents_call(as_user):
    response = as_user("a301").post(f"/api/calls/{CALL_406}/items/station/appeals",
                                    json={"reason": "x"})
    assert response.status_code == 404


def test_the_appeal_window_closes_after_the_working_days(db, as_user):
    con = sqlite3.connect(db)
    long_ago = (date.today() - timedelta(days=30)).isoformat() + "T09:00:00"
    con.execute("UPDATE audits SET audited_at = ? WHERE call_id = ?", (long_ago, CALL_406))
    con.commit()
    con.close()
    agent = as_user("a318")
    late = agent.post(f"/api/calls/{CALL_406}/items/station/appeals", json={"reason": "迟了"})
    assert late.status_code == 400 and "appeal window" in late.json()["error"]
    assert agent.get(f"/api/calls/{CALL_406}").json()["appeal_until"] < date.today().isoformat()


def test_a_post_without_the_csrf_token_is_refused(app):
    with TestClient(app) as client:
        response = client.post("/login", data={"username": "王班长", "password": PASSWORD},
                               headers={"Accept": "application/json"})
        assert response.status_code == 200
        url = f"/api/calls/{CALL_401}/items/name/decision"
        assert client.post(url, json={"status": "pass"}).status_code == 403
        assert client.post(url, json={"status": "pass"},
                           headers={"X-CSRF-Token": "0" * 64}).status_code == 403
        assert client.post(url, json={"status": "pass"},
                           headers={"X-CSRF-Token": "é".encode("latin-1")}).status_code == 403
        token = client.get("/api/me").json()["csrf"]
        assert client.post(url, json={"status": "pass"},
                           headers={"X-CSRF-Token": token}).status_code == 200
        # Logging out by form needs the token too.
        assert client.post("/logout", data={}).status_code == 403


def test_a_login_posted_from_another_site_is_refused(client):
    response = client.post("/login", data={"username": "王班长", "password": PASSWORD},
                           headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert "qa_console" not in response.cookies


def test_session_cookie_is_httponly_samesite_and_expires(client):
    response = client.post("/login", data={"username": "王班长", "password": PASSWORD},
                           follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie


def test_a_tampered_cookie_is_no_session(client):
    client.post("/login", data={"username": "a318", "password": PASSWORD})
    value = client.cookies.get("qa_console")
    assert client.get("/api/me").status_code == 200
    client.cookies.clear()
    client.cookies.set("qa_console", value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB"))
    assert client.get("/api/me").status_code == 401


def test_five_wrong_passwords_lock_the_account(client):
    for _ in range(5):
        wrong = client.post("/login", data={"username": "a318", "password": "wrong-password"},
                            headers={"Accept": "application/json"})
        assert wrong.status_code == 401
    locked = client.post("/login", data={"username": "a318", "password": PASSWORD},
                         headers={"Accept": "application/json"})
    assert locked.status_code == 429 and "locked" in locked.json()["error"]
    # Another user is not affected.
    assert client.post("/login", data={"username": "a301", "password": PASSWORD},
                       headers={"Accept": "application/json"}).status_code == 200


def test_logout_ends_the_session(as_user):
    agent = as_user("a318")
    assert agent.post("/logout", headers={"Accept": "application/json"}).status_code == 200
    assert agent.get("/api/me").status_code == 401


def test_head_draws_a_reproducible_weekly_sample(as_user):
    head = as_user("赵部长")
    body = {"from": "2026-11-16", "to": "2026-11-22", "per_agent": 1, "seed": 47}
    first = head.post("/api/samples", json=body)
    assert first.status_code == 200, first.text
    picked = first.json()["calls"]
    assert sorted(c["agent_id"] for c in picked) == ["301", "305", "309", "318", "322"]
    assert head.post("/api/samples", json=body).json()["calls"] == picked
    assert as_user("王班长").post("/api/samples", json=body).status_code == 403
    bad = head.post("/api/samples", json={**body, "per_agent": 0})
    assert bad.status_code == 400


def test_the_audit_log_records_who_did_what(as_user):
    lead, agent, head = as_user("王班长"), as_user("a318"), as_user("赵部长")
    lead.post(f"/api/calls/{CALL_401}/items/name/decision", json={"status": "pass"})
    appeal = agent.post(f"/api/calls/{CALL_406}/items/station/appeals",
                        json={"reason": "别名"}).json()
    lead.post(f"/api/appeals/{appeal['id']}/resolve", json={"outcome": "reject", "note": "不符"})
    entries = head.get("/api/log").json()["entries"]
    seen = {(e["actor"], e["action"]) for e in entries}
    assert {("王班长", "login"), ("a318", "login"), ("王班长", "decision"),
            ("a318", "appeal"), ("王班长", "appeal_rejected")} <= seen
    decision = next(e for e in entries if e["action"] == "decision")
    assert decision["target"] == f"{CALL_401} name" and "review -> pass" in decision["detail"]
    assert "操作日志" in head.get("/log").text


def test_bad_input_gets_a_400_with_a_message(as_user):
    lead = as_user("王班长")
    bad = lead.post(f"/api/calls/{CALL_401}/items/name/decision", json={"status": "maybe"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]
    unknown = lead.post(f"/api/calls/{CALL_401}/items/no_such_item/decision",
                        json={"status": "pass"})
    assert unknown.status_code == 400 and "no_such_item" in unknown.json()["error"]
    assert lead.get("/api/queue", params={"date": "yesterday"}).status_code == 400


@pytest.mark.parametrize("name", sorted(USERS))
def test_every_role_lands_on_its_page(app, name):
    with TestClient(app) as client:
        response = client.post("/login", data={"username": name, "password": PASSWORD})
        assert response.status_code == 200  # followed to the role's home page
        role = USERS[name][0]
        expected = {"lead": "/queue", "head": "/queue", "agent": "/my",
                    "office": "/dashboard"}[role]
        assert response.url.path == expected
        assert "录音质检台" in response.text


def test_pages_and_json_are_not_cached_or_framed(as_user):
    lead = as_user("王班长")
    for url in ("/api/queue", f"/calls/{CALL_401}"):
        response = lead.get(url)
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_pages_load_nothing_from_the_internet(as_user):
    """The console works on a LAN with no internet: scripts, styles and charts are its own."""
    head = as_user("赵部长")
    for url in ("/queue", f"/calls/{CALL_401}", "/dashboard?month=2026-11", "/sample", "/log",
                "/appeals", "/calls"):
        html = head.get(url).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and not [s for s in sources if "//" in s], (url, sources)
    plotly = head.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200 and "plotly" in plotly.text[:2000].lower()
    assert head.get("/static/console.js").status_code == 200


def test_the_queue_is_the_stores_review_queue(as_user, db):
    """Read inside SQLite, the queue agrees with Store.review_queue, decisions included."""
    from qa_audit.store import Store

    lead = as_user("王班长")
    lead.post(f"/api/calls/{CALL_401}/items/name/decision", json={"status": "fail"})
    api = [(i["call_id"], i["item"], i["reason"]) for i in lead.get("/api/queue").json()["items"]]
    with Store(db) as store:
        expected = [(i.call_id, i.item, i.reason) for i in store.review_queue()]
    assert api == expected and len(api) > 10
    assert (CALL_401, "name") not in {(c, i) for c, i, _ in api}


def test_the_leads_queue_names_unusable_recordings_with_their_measured_reason(as_user, db):
    """A recording with no call in it (录音异常) is shown to the lead, who may delete it; it
    carries no item to decide."""
    from qa_audit.records import CallAudit, RecordingQuality
    from qa_audit.store import Store

    quality = RecordingQuality(verdict="unusable", reason_code="silent", duration=60.0,
                               speech_s=0.0, reason="静音 silent (peak -90 dBFS): 0 s of speech")
    with Store(db) as store:
        store.save_audit(CallAudit(
            call_id="20261117_110000_305_repair_499", agent_id="305", call_type="repair",
            form="repair", score=0, max_score=0, items=[], status="unusable",
            recording_quality=quality))
    lead = as_user("王班长")
    queue = lead.get("/api/queue", params={"agent": "305"}).json()
    assert [u["call_id"] for u in queue["unusable"]] == ["20261117_110000_305_repair_499"]
    assert "silent" in queue["unusable"][0]["reason"]
    assert all(i["call_id"] != "20261117_110000_305_repair_499" for i in queue["items"])
    page = lead.get("/queue").text
    assert "录音异常" in page and "20261117_110000_305_repair_499" in page
