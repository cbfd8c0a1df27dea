"""Masking of residents' names, phones and addresses (保密制度)."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from helpers_audits import RESIDENTS, Resident, repair_call, spoken
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_audit.privacy import (
    Masker,
    digits_of,
    mask_address,
    mask_name,
    mask_phone,
    names_given,
)
from qa_audit.records import Ticket, Transcript, Utterance


def _transcript(*lines: tuple[str, str]) -> Transcript:
    return Transcript(call_id="c1", utterances=[
        Utterance(role=role, start=float(i), end=i + 0.9, text=text)
        for i, (role, text) in enumerate(lines)])


def test_phone_keeps_first_three_and_last_two_digits():
    assert mask_phone("13800138000") == "138******00"
    assert mask_phone("一三八零零一三八零零零") == "一三八******零零"
    assert mask_phone("138 0013 8000") == "138 **** **00"
    # A landline without area code is too short to keep five of its digits.
    assert mask_phone("82345678") == "8******8"


def test_name_keeps_the_surname_including_compound_ones():
    assert mask_name("杨帆") == "杨*"
    assert mask_name("何建平") == "何**"
    assert mask_name("欧阳明月") == "欧阳**"
    assert mask_name("司马青") == "司马*"
    assert mask_name("杨") == "杨"


def test_address_keeps_the_community_and_hides_every_number():
    assert mask_address("宏城花园11号楼2单元503") == "宏城花园**号楼*单元***"
    assert mask_address("北关新村七号楼一单元三零一") == "北关新村*号楼*单元***"
    # A numeral inside the community's name is not a house number.
    assert mask_address("五里仓小区4号楼1单元202") == "五里仓小区*号楼*单元***"
    assert mask_address("三师家属院12号楼1单元302室") == "三师家属院**号楼*单元***室"
    assert mask_address("宏城花园11-2-503") == "宏城花园**-*-***"


def test_the_name_given_after_the_agent_asked_is_found():
    transcript = _transcript(
        ("agent", "请问您的姓名？"), ("customer", "免贵姓林，林小红。"),
        ("agent", "林小红。请留一下联系电话？"), ("customer", "我叫什么不重要吧"),
    )
    assert names_given(transcript) == ["林小红"]


def test_a_name_the_resident_volunteers_is_found_too():
    transcript = _transcript(
        ("agent", "您好，大龙供暖报修，三零七号为您服务，请问您有什么问题？"),
        ("customer", "喂，我叫许文博，宏城花园的，家里暖气不热。"),
    )
    assert names_given(transcript) == ["许文博"]
    assert "许文博" not in Masker.for_call(transcript).utterance(transcript.utterances[1]).text


def test_surname_with_honorific_is_not_taken_as_a_full_name():
    transcript = _transcript(("agent", "您怎么称呼？"), ("customer", "杨女士。"))
    assert names_given(transcript) == []


def test_a_whole_intake_call_is_masked_line_by_line():
    resident = RESIDENTS[3]  # 郭静怡, 北关新村7号楼1单元301, 13522334455
    call = repair_call(1, "322", datetime(2026, 11, 10, 11, 2), resident)
    mask = Masker.for_call(call.transcript, [call.ticket])
    masked = "\n".join(mask.utterance(u).text for u in call.transcript.utterances)
    assert "郭静怡" not in masked and "郭**" in masked
    assert spoken(resident.phone) not in masked
    assert "一三五******五五" in masked
    assert "北关新村*号楼*单元***" in masked
    assert spoken("301") not in masked
    # The agent's own id in the greeting is not a resident's number.
    assert "三二二号为您服务" in masked


def test_agent_reading_back_a_number_in_groups_is_masked():
    transcript = _transcript(
        ("agent", "请留一下联系电话？"), ("customer", "一三三，一四一五，一六一七。"),
        ("agent", "一三三。一四一五。一六一七。对吗？"),
    )
    mask = Masker.for_call(transcript)
    readback = mask(transcript.utterances[2].text, said_by="agent")
    assert "一四一五" not in readback and "一六一七" not in readback


def test_short_customer_digit_runs_are_masked_five_digits_and_up():
    mask = Masker.for_call(_transcript(("customer", "我家座机八二三四五六，门牌三号。")))
    masked = mask("我家座机八二三四五六，门牌三号。", said_by="customer")
    assert masked == "我家座机八****六，门牌*号。"


def test_reasons_and_details_are_masked_but_ids_stay_readable():
    ticket = Ticket(ticket_id="T1110204", caller_name="杨帆", caller_phone="13800138000",
                    address="宏城花园11号楼2单元503")
    mask = Masker.for_call(None, [ticket])
    text = mask("工单T1110204（录音20261110_110205_322_repair_204）电话13800138000、"
                "住址宏城花园11号楼2单元503、姓名杨帆与通话不符，通话中说的是13800138800")
    assert "T1110204" in text and "20261110_110205_322_repair_204" in text
    assert "13800138000" not in text and "13800138800" not in text
    assert "杨帆" not in text and "503" not in text
    assert "138******00" in text and "宏城花园**号楼*单元***" in text and "杨*" in text


def test_masking_an_audit_covers_reasons_evidence_and_findings():
    resident = RESIDENTS[0]
    call = repair_call(2, "307", datetime(2026, 11, 10, 9, 0), resident,
                       findings=["wrong_phone"], ticket_phone="13800138001")
    mask = Masker.for_call(call.transcript, [call.ticket])
    dumped = mask.audit(call.audit).model_dump_json()
    for secret in (resident.phone, "13800138001", spoken(resident.phone), resident.name,
                   resident.address):
        assert secret not in dumped
    # Verdicts are untouched.
    assert [i.status for i in mask.audit(call.audit).items] == [i.status for i in call.audit.items]


_DIGITS = st.text(alphabet="0123456789", min_size=10, max_size=10)
_SURNAMES = st.sampled_from(["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴",
                             "欧阳", "司马"])
_GIVEN = st.text(alphabet="明华建国丽娟伟芳秀英敏静强磊军洋勇艳杰涛超霞平刚",
                 min_size=1, max_size=2)


@settings(max_examples=60, deadline=None)
@given(rest=_DIGITS, spoken_form=st.booleans(), surname=_SURNAMES, given_name=_GIVEN)
def test_no_phone_or_name_survives_masking(rest, spoken_form, surname, given_name):
    phone = "1" + rest
    said = spoken(phone) if spoken_form else phone
    name = surname + given_name
    transcript = _transcript(
        ("agent", "请问您的姓名？"), ("customer", f"我叫{name}。"),
        ("agent", f"{name}。请留一下联系电话？"), ("customer", f"{said}。"),
        ("agent", f"{said}。"),
    )
    mask = Masker.for_call(transcript)
    masked = "".join(mask.utterance(u).text for u in transcript.utterances)
    assert phone not in digits_of(masked)
    assert name not in masked
    assert mask_name(name) in masked


@settings(max_examples=60, deadline=None)
@given(building=st.integers(1, 40), unit=st.integers(1, 9), room=st.integers(101, 2604),
       community=st.sampled_from(["宏城花园", "五里仓小区", "马坡花园", "三师家属院", "北关新村"]),
       spoken_form=st.booleans())
def test_no_house_number_survives_masking(building, unit, room, community, spoken_form):
    resident = Resident("李明", "13900000000", community, str(building), str(unit), str(room), "")
    text = resident.spoken_address if spoken_form else resident.address
    masked = Masker()(text, said_by="customer")
    assert masked.startswith(community)
    tail = masked[len(community):]
    assert digits_of(tail) == "", masked


DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"


@pytest.mark.skipif(not (DEVSET / "labels").is_dir(), reason="needs ../shared/devset")
def test_devset_calls_leave_no_personal_data_once_masked():
    """The labelled calls as residents said them, masked with what the tickets hold."""
    with (DEVSET / "data" / "tickets.csv").open(encoding="utf-8-sig") as handle:
        tickets = {row["call_id"]: Ticket(**{k: v for k, v in row.items() if v})
                   for row in csv.DictReader(handle)}
    checked = 0
    for label in sorted((DEVSET / "labels").glob("*.json")):
        raw = json.loads(label.read_text(encoding="utf-8"))
        transcript = Transcript(call_id=raw["call_id"], utterances=raw["utterances"])
        ticket = tickets.get(transcript.call_id)
        if ticket is None:
            continue  # follow-ups: no intake ticket of their own
        mask = Masker.for_call(transcript, [ticket])
        masked = "\n".join(mask.utterance(u).text for u in transcript.utterances)
        house = re.findall(r"\d+", ticket.address)
        for secret in (ticket.caller_name, ticket.caller_phone, spoken(ticket.caller_phone),
                       ticket.address, *(spoken(n) for n in house if len(n) > 1)):
            assert secret not in masked, (transcript.call_id, secret)
        assert mask_name(ticket.caller_name) in masked
        checked += 1
    assert checked >= 8


def test_what_the_recognizer_first_wrote_is_masked_too():
    from qa_audit.privacy import Masker
    from qa_audit.records import Ticket, Utterance

    masker = Masker.for_call(None, [Ticket(ticket_id="T1", caller_name="刘海涛",
                                           caller_phone="13905172846")])
    said = Utterance(role="customer", start=1.0, end=3.0, text="我叫刘海涛，电话13905172846",
                     heard="我叫刘海涛，电话13905172846")
    masked = masker.utterance(said)
    assert "13905172846" not in masked.heard and "刘海涛" not in masked.heard
    assert "13905172846" not in masked.text
