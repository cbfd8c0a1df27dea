"""No agent-facing response carries a resident's name, phone or house number (保密制度).

The oracle here is independent of the masker: every ticket's caller name, the names the
resident gave as the recognizer heard them, the phone (written, spoken, with 幺), and the
building and room numbers (as digits, as spoken digits, as sound-alikes: 六灵爱 is 602) are
looked for in every string an agent receives — JSON and HTML — after a lead wrote resident
facts into a note and an answer.
"""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser

import pytest

from qa_audit.privacy import Masker, names_given
from qa_audit.records import Transcript
from qa_audit.review_page import write_review_page
from qa_audit.store import Store

from .console_support import DATA, SAMPLES

# The oracle's own reading of digits: written, spoken, and what Whisper wrote for them here.
DIGIT_LIKE = {**{str(i): str(i) for i in range(10)},
              **{ch: str(i) for i, ch in enumerate("零一二三四五六七八九")},
              "〇": "0", "洞": "0", "幺": "1", "两": "2", "灵": "0", "铃": "0", "爱": "2",
              "物": "5", "要": "1", "因": "1"}
SEPARATORS = set(" ,，、-.·")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?|\d{2}:\d{2}")


def _tickets() -> list[dict]:
    with open(SAMPLES / "tickets.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _heard_names() -> set[str]:
    names = set()
    for path in sorted((DATA / "transcripts").glob("*.json")):
        names.update(names_given(Transcript.model_validate_json(path.read_text("utf-8"))))
    return names


TICKETS = _tickets()
CALL_IDS = [p.stem for p in (DATA / "transcripts").glob("*.json")]
NAMES = {t["caller_name"] for t in TICKETS} | _heard_names()
PHONES = {t["caller_phone"] for t in TICKETS}
HOUSES = [re.match(r".*?(\d+)号楼(\d+)单元(\d+)", t["address"]).groups() for t in TICKETS]
# What residents said where the ticket differs (401: 六零二, the ticket's 620 is the error).
ROOMS = {room for _, _, room in HOUSES} | {"602"}
BUILDINGS = {building for building, _, _ in HOUSES}


def project(text: str) -> str:
    """Digit-likes as digits; separators between digits dropped."""
    out: list[str] = []
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch in SEPARATORS and out and out[-1].isdigit() and i + 1 < len(chars) \
                and chars[i + 1] in DIGIT_LIKE:
            continue
        out.append(DIGIT_LIKE.get(ch, ch))
    return "".join(out)


def leaks(text: str) -> list[str]:
    for known_id in CALL_IDS + [t["ticket_id"] for t in TICKETS]:
        text = text.replace(known_id, "")  # ids, not residents' numbers
    text = DATETIME.sub("", text)
    found = [name for name in NAMES if name in text]
    digits = project(text)
    found += [phone for phone in PHONES if phone[3:9] in digits]
    found += [room for room in ROOMS if room in digits]
    found += [f"{b}号" for b in BUILDINGS if re.search(rf"(?<!\d){b}号(?!为)", digits)]
    return found


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag, attrs) -> None:
        # Attributes a browser shows (title, value, placeholder) count too; a hidden field
        # holds the CSRF token, whose hex digits are no one's phone.
        if ("type", "hidden") not in attrs:
            self.parts += [v for k, v in attrs
                           if k in ("title", "value", "placeholder", "alt") and v]


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    return []


def test_the_oracle_finds_what_it_should():
    """Unmasked text is caught, so the test below can fail."""
    assert set(leaks("龙府嘉园三号楼一单元六灵爱")) == {"602", "3号"}
    assert leaks("电话一三六零三九一五二七八") == ["13603915278"]
    assert "102" in leaks("电力小区，七号，龙二三，元一零二一。")
    assert leaks("您好，大龙供暖报修，三零五号为您服务") == []
    assert "赵丽萍" in leaks("赵丽萍") and "教律庭" in leaks("教律庭，")


def _agent_calls(lead) -> dict[str, list[str]]:
    by_agent: dict[str, list[str]] = {}
    for call in lead.get("/api/calls").json()["calls"]:
        by_agent.setdefault(call["agent_id"], []).append(call["call_id"])
    return by_agent


def assert_no_agent_leaks(as_user) -> int:
    """A lead writes resident facts into a note and an answer, as leads do; then every
    agent's every response is searched. Returns how many responses were checked."""
    lead = as_user("王班长")
    lead.post("/api/calls/20261116_081205_318_repair_401/items/address/decision",
              json={"status": "fail", "note": "住户说的是六零二，工单写成620；电话18612347709，赵丽萍"})
    agent = as_user("a318")
    appeal = agent.post("/api/calls/20261120_164503_318_repair_406/items/station/appeals",
                        json={"reason": "住户说电力局家属院7号楼2单元102"}).json()
    lead.post(f"/api/appeals/{appeal['id']}/resolve",
              json={"outcome": "reject", "note": "王建军家7号楼，电话13603915278，应派滨河站"})
    checked = 0
    for agent_id, calls in sorted(_agent_calls(lead).items()):
        client = as_user(f"a{agent_id}")
        responses = [client.get("/api/calls"), client.get("/api/appeals"),
                     client.get("/api/me/month", params={"month": "2026-11"}),
                     client.get("/my"), client.get("/appeals"), client.get("/calls")]
        for call_id in calls:
            responses += [client.get(f"/api/calls/{call_id}"), client.get(f"/calls/{call_id}")]
        for response in responses:
            assert response.status_code == 200, response.url
            if response.headers["content-type"].startswith("application/json"):
                strings = json_strings(response.json())
            else:
                strings = [html_text(response.text)]
            for text in strings:
                assert leaks(text) == [], (str(response.url), text)
            checked += 1
    # The lead still reads the note as written: masking is for agents only.
    call = lead.get("/api/calls/20261116_081205_318_repair_401").json()
    address = next(i for i in call["audit"]["items"] if i["id"] == "address")
    assert "620" in address["decision_note"]
    return checked


def test_no_agent_response_carries_a_resident_fact(as_user):
    assert assert_no_agent_leaks(as_user) >= 30


@pytest.mark.slow
def test_no_agent_response_leaks_on_the_store_audited_from_the_recordings(tmp_path):
    """The same sweep on the sample recordings audited end to end (Whisper, listening)."""
    from fastapi.testclient import TestClient

    from qa_audit.cli.main import main
    from qa_audit.console.accounts import Accounts
    from qa_audit.console.app import create_app

    from .console_support import PASSWORD, REPO, USERS, login

    db = tmp_path / "qa.sqlite"
    assert main(["audit", str(SAMPLES / "recordings"), "--calls", str(SAMPLES / "calls.csv"),
                 "--tickets", str(SAMPLES / "tickets.csv"), "--stations",
                 str(SAMPLES / "stations.csv"), "--db", str(db)]) == 0
    with Store(db) as store:
        for name, (role, agent) in USERS.items():
            Accounts(store).add(name, role, PASSWORD, agent_id=agent)
    app = create_app(db, audio_root=REPO)
    clients = []

    def as_user(name):
        client = TestClient(app)
        clients.append(client)
        client.headers["X-CSRF-Token"] = login(client, name)["csrf"]
        return client

    try:
        assert assert_no_agent_leaks(as_user) >= 30
        # The recordings play for their agent.
        audio = as_user("a318").get("/api/calls/20261116_081205_318_repair_401/audio",
                                    headers={"Range": "bytes=0-99"})
        assert audio.status_code == 206
    finally:
        for client in clients:
            client.close()


def test_the_agent_still_sees_what_the_call_was_about(as_user):
    """Masking keeps the community, the surname and the phone's ends."""
    call = as_user("a318").get("/api/calls/20261116_081205_318_repair_401").json()
    lines = [u["text"] for u in call["transcript"]["utterances"]]
    assert any(line.startswith("龙府嘉园") and "*" in line for line in lines)
    assert "186******09" in lines


def test_the_static_review_page_is_masked_the_same_way(db, tmp_path, as_user):
    lead = as_user("王班长")
    lead.post("/api/calls/20261116_081205_318_repair_401/items/address/decision",
              json={"status": "fail", "note": "住户说的是六零二，工单写成620；电话18612347709"})
    with Store(db) as store:
        for agent_id in ("301", "305", "309", "318", "322"):
            page = write_review_page(store, agent_id, tmp_path / agent_id, audio_root=SAMPLES,
                                     link_audio=True)
            text = html_text(page.path.read_text(encoding="utf-8"))
            assert leaks(text) == [], (agent_id, leaks(text))


@pytest.mark.parametrize("heard, hidden", [
    ("龙府嘉园三号楼一单元六灵爱。", "六灵爱"),
    ("电力小区，七号，龙二三，元一零二一。", "一零二一"),
    ("裕龙小75号楼一单人物灵爱,", "物灵爱"),
    ("万科城二十三号罗二单元因。", "二十三"),
    ("东兴家园十二号楼一带远三零二", "三零二"),
    ("四单言二零一,", "二零一"),
])
def test_sound_alike_house_numbers_are_masked_for_either_speaker(heard, hidden):
    mask = Masker()
    for role in ("customer", "agent"):
        masked = mask(heard, said_by=role)
        assert hidden not in masked and "*" in masked, (role, masked)


def test_the_agents_greeting_and_prices_are_left_alone():
    mask = Masker()
    assert mask("您好，大龙供暖报修，三一八号为您服务", said_by="agent") == \
        "您好，大龙供暖报修，三一八号为您服务"
    assert mask("修了50元材料费", said_by="customer") == "修了50元材料费"
    assert mask("龙府嘉园", said_by="customer") == "龙府嘉园"


def test_every_number_in_a_persons_note_is_masked():
    mask = Masker()
    assert mask.note("住户说的是602，工单写成六二零，电话一三八") == "住户说的是***，工单写成***，电话***"
    assert mask.note("听了录音，跟读完整") == "听了录音，跟读完整"


def test_json_of_an_audit_round_trips_after_masking():
    """Masking keeps the audit a valid formats.md result."""
    path = DATA / "transcripts" / "20261120_164503_318_repair_406.json"
    transcript = Transcript.model_validate_json(path.read_text("utf-8"))
    masked = Masker.for_call(transcript).transcript(transcript)
    assert json.loads(masked.model_dump_json())["call_id"] == transcript.call_id
    assert not any(leaks(u.text) for u in masked.utterances)
    assert any(leaks(u.text) for u in transcript.utterances)  # and there was something to hide
