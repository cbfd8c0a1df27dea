"""The ticket held against what was said: phones, names and addresses as residents really give
them, and the line between a recognizer's mishearing (review) and a wrong entry (a fine)."""

from functools import cache

import pytest
from conftest import call, meta

from qa_audit.phrasebook import load_phrasebook
from qa_audit.records import Ticket
from qa_audit.form.engine import score_call

A, C = "a", "c"


def _intake(name_turn: str = "我姓韩，韩雪梅。", phone_turn: str = "一三六一一二二三三四四。",
            phone_echo: str = "一三六一一二二三三四四，对吗？",
            address_turn: str = "西园小区三号楼一单元四零二。") -> list[tuple[str, str]]:
    return [
        (A, "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？"),
        (C, "我家卧室暖气不热，十六度。"),
        (A, "卧室暖气不热，十六度。请问您的具体地址？"),
        (C, address_turn),
        (A, "西园小区三号楼一单元四零二。请问您的姓名？"),
        (C, name_turn),
        (A, f"{name_turn.split('，')[-1].rstrip('。')}。请留一下联系电话？"),
        (C, phone_turn),
        (A, phone_echo),
        (C, "对。"),
        (A, "好！维修人员会尽快跟您联系。感谢您的来电。再见！"),
    ]


def _ticket(**fields: str) -> Ticket:
    base = {"ticket_id": "T1", "seat": "02", "recorder": "301", "caller_name": "韩雪梅",
            "caller_phone": "13611223344", "address": "西园小区3号楼1单元402",
            "category": "不热", "description": "卧室16度", "station": "西园站"}
    return Ticket(**{**base, **fields})


def _audit(turns, ticket: Ticket, **transcript):
    return score_call(call(*turns, **transcript), meta(), _pb(), ticket=ticket)


@cache
def _pb():
    return load_phrasebook()


def _item(audit, item_id):
    return next(i for i in audit.items if i.id == item_id)


def _codes(audit):
    return {f.code for f in audit.findings}


def test_a_ticket_with_two_numbers_matches_the_one_said() -> None:
    audit = _audit(_intake(), _ticket(caller_phone="13611223344/2286410"))
    assert _item(audit, "phone").status == "pass"
    assert "wrong_phone" not in _codes(audit)


def test_a_resident_who_starts_the_number_again_gives_the_last_eleven_digits() -> None:
    turns = _intake(phone_turn="一三九……哦不对，一三六，一三六一一二二三三四四。")
    audit = _audit(turns, _ticket())
    assert _item(audit, "phone").status == "pass"
    assert _item(audit, "readback_phone").status == "pass"


def test_a_character_described_by_its_parts_is_spelled() -> None:
    turns = _intake(name_turn="我姓仝，仝是人字头底下一个工，仝桂芝。")
    audit = _audit(turns, _ticket(caller_name="佟桂芝"))  # same sound, not what was spelled
    assert _item(audit, "name").status == "fail"
    assert "wrong_name" in _codes(audit)


def test_a_surname_only_is_recorded_with_a_title() -> None:
    audit = _audit(_intake(name_turn="名字就别登了吧，我姓刘就行。"), _ticket(caller_name="刘先生"))
    assert _item(audit, "name").status == "pass"


def test_the_callers_number_read_off_the_display_and_confirmed() -> None:
    turns = _intake()[:6] + [
        (A, "好的，刘先生。联系电话就留您现在打来的这个号码吗？一三六一一二二三三四四。"),
        (C, "对，就这个。"),
        (A, "好！维修人员会尽快跟您联系。感谢您的来电。再见！")]
    audit = _audit(turns, _ticket())
    assert _item(audit, "readback_phone").status == "pass"
    assert _item(audit, "phone").status == "pass"


def test_a_line_that_drops_mid_intake_is_not_a_missing_ticket() -> None:
    from qa_audit.records import Finding

    turns = _intake()[:5] + [(C, "我叫……喂？喂？听得见吗？喂……")]
    missing = Finding(code="missing_ticket", fine_yuan=0, detail="no ticket")
    cut = score_call(call(*turns), meta(), _pb(), extra_findings=[missing])
    assert "missing_ticket" not in _codes(cut)
    whole = score_call(call(*_intake()), meta(), _pb(), extra_findings=[missing])
    assert "missing_ticket" in _codes(whole)


# --- recognized speech ---------------------------------------------------------------------

def test_a_number_the_recognizer_cut_short_is_review_not_a_fine() -> None:
    # The "13" of both hearings went to the turn before (what Whisper does at chunk edges).
    turns = _intake(phone_turn="611223344。", phone_echo="611223344，对吗？")
    audit = _audit(turns, _ticket(), confidence=0.9, role_source="channel")
    assert _item(audit, "phone").status == "review"
    assert "wrong_phone" not in _codes(audit)


def test_a_wrong_number_heard_twice_and_surely_is_a_fine() -> None:
    audit = _audit(_intake(), _ticket(caller_phone="13611223355"), confidence=0.9,
                   role_source="channel")
    assert _item(audit, "phone").status == "fail"
    assert "wrong_phone" in _codes(audit)


def test_the_same_number_heard_unsurely_is_review() -> None:
    audit = _audit(_intake(), _ticket(caller_phone="13611223355"), confidence=0.5,
                   role_source="channel")
    assert _item(audit, "phone").status == "review"
    assert "置信度" in _item(audit, "phone").reason
    assert "wrong_phone" not in _codes(audit)


def test_a_name_that_only_sounds_like_the_tickets_is_review() -> None:
    turns = _intake(name_turn="东莉华。")
    audit = _audit(turns, _ticket(caller_name="邓丽华"), confidence=0.9, role_source="channel")
    assert _item(audit, "name").status == "review"
    assert "wrong_name" not in _codes(audit)


# --- blind set 8 -------------------------------------------------------------------------

def test_a_phone_corrected_inside_the_turn_is_the_corrected_number() -> None:
    # A landline whose last group is said again: the ticket's 68342791 is right.
    turns = _intake(phone_turn="打家里座机吧，六八三四，二七五……不对不对，是二七九一。",
                    phone_echo="六八三四二七九一，是座机对吧？")
    audit = _audit(turns, _ticket(caller_phone="68342791"))
    assert _item(audit, "phone").status == "pass"
    assert _item(audit, "readback_phone").status == "pass"
    assert "wrong_phone" not in _codes(audit)


def test_a_ticket_keeping_the_digits_the_resident_corrected_is_a_wrong_phone() -> None:
    turns = _intake(phone_turn="一三七，幺六五八，三二零四……哦不是，最后是三二四零。",
                    phone_echo="好的，一三七一六五八三二四零。")
    audit = _audit(turns, _ticket(caller_phone="13716583204"))
    assert _item(audit, "phone").status == "fail"
    assert "13716583240" in _item(audit, "phone").reason
    assert "wrong_phone" in _codes(audit)
    right = _audit(turns, _ticket(caller_phone="13716583240"))
    assert _item(right, "phone").status == "pass"
    assert _item(right, "readback_phone").status == "pass"


def test_a_tower_keeps_its_block_in_the_standard_address_form() -> None:
    turns = _intake(address_turn="金宝大厦，B座，一五零六。")
    assert _item(_audit(turns, _ticket(address="金宝大厦B座1506")), "address_format").status == "pass"
    chinese = _ticket(address="宏城花园十六号楼三单元二零二")
    assert _item(_audit(_intake(), chinese), "address_format").status == "fail"


@pytest.mark.parametrize(("said", "number"), [
    ("六八三四，二七五……不对不对，是二七九一。", "68342791"),
    ("137 1658 3204 哦不是最后是3240", "13716583240"),  # as a recognizer writes it
    ("一三九……哦不对，一三六，一三六零三一二七七八九。", "13603127789"),  # all said again
    ("一三五一二三四五六七八，地址不对，是五零二。", "13512345678"),  # corrects something else
    ("十二号楼不对是十三号楼，电话一三五一二三四五六七八。", "13512345678"),
])
def test_the_number_a_resident_ends_up_giving(said, number) -> None:
    from qa_audit.dialogue import phone_in

    assert phone_in(said) == number
