"""Shapes of speech and data from the blind11 set: a shop's street address, a radiator asked
about where a shop has no rooms, a problem read back from more than one of the resident's
turns, 俩 for 两个, a recognizer running the next question into a read-back or a name into
what follows it, and 要 for 幺 at the ends of a house number."""

from functools import cache

from conftest import CLOSING, GREETING, call, meta, ticket as full_ticket

from qa_audit.phrasebook import load_phrasebook
from qa_audit.records import Ticket
from qa_audit.form.engine import score_call

A, C = "a", "c"


@cache
def _pb():
    return load_phrasebook()


def _ticket(**fields: str) -> Ticket:
    base = {"ticket_id": "T1", "seat": "02", "recorder": "301", "caller_name": "韩雪梅",
            "caller_phone": "13611223344", "address": "西园小区3号楼1单元402",
            "category": "不热", "description": "卧室16度", "station": "西园站"}
    return full_ticket(**{**base, **fields})


def _item(turns, item_id, ticket: Ticket | None = None, **transcript):
    audit = score_call(call(*turns, **transcript), meta(), _pb(), ticket=ticket or _ticket())
    return next(i for i in audit.items if i.id == item_id)


def _intake(problem: list[tuple[str, str]], address: str = "西园小区三号楼一单元四零二。",
            address_echo: str = "西园小区三号楼一单元四零二。",
            name: str = "韩雪梅。", name_echo: str = "韩雪梅。请留一下联系电话？"):
    return [GREETING, *problem, (C, address), (A, address_echo), (A, "请问您的姓名？"),
            (C, name), (A, name_echo), (C, "一三六一一二二三三四四。"),
            (A, "一三六一一二二三三四四。"), CLOSING]


_ROOMS = [(C, "我家暖气不热，十六度。"), (A, "是哪个屋？"), (C, "卧室。"),
          (A, "卧室十六度。请问您的具体地址？")]


def test_a_shop_on_a_street_is_in_the_standard_form() -> None:
    # A shop has no 号楼/单元: street (and 段), house number, the shop's name.
    shop = _ticket(address="幸福街东段128号福源超市")
    assert _item(_intake(_ROOMS), "address_format", shop).status == "pass"
    # A residential address without its unit is still not the standard form.
    for address in ("幸福街5号楼301", "幸福街5号楼", "幸福街128号", "西园小区3栋1门402"):
        assert _item(_intake(_ROOMS), "address_format", _ticket(address=address)).status == "fail"


def test_asking_which_radiator_asks_where_the_fault_is() -> None:
    problem = [(C, "我们店里暖气片一点都不热，冰凉。"),
               (A, "店里暖气冰凉。是店里所有暖气片都凉，还是哪一片凉？"),
               (C, "前边门脸儿那两片凉，后边库房那片还有点温乎。"),
               (A, "前厅两片暖气片冰凉，库房的温乎。请问您的具体地址？")]
    assert _item(_intake(problem), "guide_location").status == "pass"


def test_a_problem_read_back_from_two_of_the_residents_turns() -> None:
    # 十七度 from the first turn, 小卧室 from the answer to 是哪个屋: read back together.
    problem = [(C, "你好，我们家暖气不热，屋里十七度。"), (A, "十七度。是哪个屋？"),
               (C, "小卧室，孩子住那屋。"), (A, "小卧室十七度。请问您的具体地址？")]
    assert _item(_intake(problem), "readback_problem").status == "pass"


def test_a_read_back_run_together_with_the_next_question() -> None:
    # A recognizer writes no punctuation: the address question is no part of the read-back.
    problem = [(C, "你好我们家暖气不热屋里17度"), (A, "17度是哪个屋"),
               (C, "小卧室孩子住那屋"), (A, "小卧室十七度请问您的具体地址")]
    assert _item(_intake(problem), "readback_problem", role_source="channel").status == "pass"


def test_lia_is_liangge_in_a_read_back() -> None:
    problem = [(C, "我家暖气不热。"), (A, "是哪个屋不热？多少度？"),
               (C, "俩卧室都不热，温度计上就十五度。"), (A, "两个卧室十五度。请问您的具体地址？")]
    assert _item(_intake(problem), "readback_problem").status == "pass"


def test_a_name_run_into_what_the_resident_says_next() -> None:
    # "我叫刘建华老太太耳朵背…": where the name ends, the agent's read-back tells.
    turns = _intake(_ROOMS, name="我叫刘建华老太太耳朵背您有事打我电话就行",
                    name_echo="刘建华请留一下联系电话")
    ticket = _ticket(caller_name="刘建华")
    assert _item(turns, "readback_name", ticket, role_source="channel").status == "pass"
    assert _item(turns, "name", ticket, role_source="channel").status == "pass"
    # A ticket with another name still fails against it.
    assert _item(turns, "name", _ticket(caller_name="刘建国")).status == "fail"


def test_yao_for_one_at_the_ends_of_a_room_number() -> None:
    turns = _intake(_ROOMS, address="西园小区三号楼一单元要两洞要",
                    address_echo="西园小区三号楼一单元一二零一")
    ticket = _ticket(address="西园小区3号楼1单元1201")
    assert _item(turns, "address", ticket, role_source="channel").status == "pass"
    assert _item(turns, "readback_address", ticket, role_source="channel").status == "pass"
