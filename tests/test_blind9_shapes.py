"""Shapes of speech first met in blind9, each on a short call of its own: everything given in
one breath and confirmed in one 核对 turn, a phone corrected in its last digits, two faults
of which the ticket keeps one, praise of the repairman volunteered, and recognizer output
(a hesitation run into the name, a read-back in traditional characters, one character of a
long closing phrase misheard)."""

from functools import cache

import pytest
from conftest import CLOSING, FOLLOWUP_OPENING, GREETING, call, codes, meta, status, ticket

from qa_audit.matching import phrase_score
from qa_audit.phrasebook import load_phrasebook
from qa_audit.form.engine import score_call

A, C = "a", "c"


@cache
def _pb():
    return load_phrasebook()


# --- everything in one breath, confirmed in one turn ------------------------------------------

ONE_BREATH = [
    GREETING,
    (C, "你好，我一块儿说了啊，我是西辛小区五号楼二单元三零一的，我叫孙丽，电话是幺三六幺幺二二三三四四，"
        "卫生间暖气片接头滴水，滴得挺快。"),
    (A, "好的，我跟您核对一下：卫生间暖气片接头滴水；地址是西辛小区五号楼二单元三零一；姓名孙丽；"
        "电话幺三六幺幺二二三三四四，对吗？"),
    (C, "对，没错。"),
    CLOSING,
    (C, "行，麻烦你们快点儿啊。"),
]
# The same call as a recognizer writes it: no punctuation, the clauses run together.
ONE_BREATH_HEARD = [
    (A, "您好大龙供暖报修三零一号为您服务请问您有什么问题"),
    (C, "你好我一块儿说了啊我是西辛小区五号楼二单元三零一的我叫孙丽电话是要三六要要二二三三四四"),
    (C, "卫生间暖气片接头滴水滴得挺快"),
    (A, "好的我跟您核对一下卫生间暖气片接头滴水地址是西辛小区五号楼二单元三零一姓名孙丽电话136 1122 3344对吗"),
    (C, "对没错"),
    (A, "好维修人员会尽快跟您联系感谢您的来电再见"),
    (C, "行麻烦你们快点儿啊"),
]


@pytest.mark.parametrize("turns,source", [(ONE_BREATH, "given"), (ONE_BREATH_HEARD, "channel")])
def test_a_name_given_in_one_breath_and_confirmed_is_the_name(turns, source) -> None:
    """The agent's 核对 turn reads the name back ("姓名孙丽…，对吗？"); it does not ask for it,
    and the resident's "对，没错" that answers it is no name."""
    audit = score_call(call(*turns, role_source=source), meta(), _pb(), ticket=ticket())
    assert status(audit, "name") == "pass"
    assert status(audit, "readback_name") == "pass"
    assert "wrong_name" not in codes(audit)


def test_a_hesitation_run_into_the_name_is_no_part_of_it() -> None:
    """"哦我叫孙丽" heard without its pause: the name is 孙丽."""
    turns = [
        GREETING,
        (C, "我家卫生间暖气片接头滴水滴得挺快"),
        (A, "卫生间暖气片接头滴水滴得挺快请问您的具体地址"),
        (C, "西辛小区五号楼二单元三零一"),
        (A, "西辛小区五号楼二单元三零一请问您的姓名"),
        (C, "哦我叫孙丽"),
        (A, "孙丽请留一下联系电话"),
        (C, "幺三六幺幺二二三三四四"),
        (A, "13611223344"),
        CLOSING,
    ]
    audit = score_call(call(*turns, role_source="channel"), meta(), _pb(), ticket=ticket())
    assert status(audit, "name") == "pass"
    assert status(audit, "readback_name") == "pass"


def test_a_read_back_in_traditional_characters_reads_back_the_address() -> None:
    turns = [
        GREETING,
        (C, "我家卫生间暖气片接头滴水滴得挺快"),
        (A, "卫生间暖气片接头滴水滴得挺快请问您的具体地址"),
        (C, "西辛小区五号楼二单元三零一"),
        (A, "西辛小區五號樓二單元三零一請問您的姓名"),
        (C, "孙丽"),
        (A, "孙丽请留一下联系电话"),
        (C, "幺三六幺幺二二三三四四"),
        (A, "13611223344"),
        CLOSING,
    ]
    audit = score_call(call(*turns, role_source="channel"), meta(), _pb(), ticket=ticket())
    assert status(audit, "readback_address") == "pass"


# --- a phone corrected in its last digits -------------------------------------------------------

def _phone_call(said: str, echo: str, source: str = "given"):
    return call(
        GREETING,
        (C, "我家卫生间暖气片接头滴水，滴得挺快。"),
        (A, "卫生间暖气片接头滴水，滴得挺快。请问您的具体地址？"),
        (C, "西辛小区，五号楼，二单元，三零一。"),
        (A, "西辛小区五号楼二单元三零一。请问您的姓名？"),
        (C, "孙丽。"),
        (A, "孙丽。请留一下联系电话？"),
        (C, said),
        (A, echo),
        (C, "对。"),
        CLOSING, role_source=source)


CORRECTED = "幺三六，幺幺二二，三三四三……哎，不对，不是四三，是四四，三三四四。"
CORRECTED_HEARD = "要三六 要要二二 三三四三 哎不对 不是四三 是四四 三三四四"


@pytest.mark.parametrize("said,echo,source", [
    (CORRECTED, "幺三六幺幺二二三三四四。", "given"),
    (CORRECTED_HEARD, "13611223344", "channel")])
def test_a_phone_corrected_in_its_last_digits_is_the_corrected_number(said, echo, source) -> None:
    """"…三三四三……不对，不是四三，是四四": the digits named as wrong are what is replaced;
    a ticket with the number from before the correction is wrong."""
    audit = score_call(_phone_call(said, echo, source), meta(), _pb(),
                       ticket=ticket(caller_phone="13611223343"))
    assert status(audit, "phone") == "fail"
    assert "wrong_phone" in codes(audit)
    right = score_call(_phone_call(said, echo, source), meta(), _pb(), ticket=ticket())
    assert status(right, "phone") == "pass"
    assert status(right, "readback_phone") == "pass"
    assert "wrong_phone" not in codes(right)


# --- two faults, one ticketed --------------------------------------------------------------------

def _two_faults():
    return call(
        GREETING,
        (C, "喂，我家暖气不热，还有那个，暖气片底下往下滴水，滴了一晚上了。"),
        (A, "暖气不热，暖气片往下滴水。哪个屋的？滴得快吗？"),
        (C, "客厅的，滴得不快。"),
        (A, "请问您的具体地址？"),
        (C, "西辛小区，五号楼，二单元，三零一。"),
        (A, "西辛小区五号楼二单元三零一。请问您的姓名？"),
        (C, "孙丽。"),
        (A, "孙丽。请留一下联系电话？"),
        (C, "幺三六，幺幺二二，三三四四。"),
        (A, "幺三六幺幺二二三三四四。"),
        CLOSING)


def test_a_ticket_that_drops_one_of_two_faults_fails_the_problem() -> None:
    audit = score_call(_two_faults(), meta(), _pb(),
                       ticket=ticket(category="不热", description="客厅暖气不热"))
    assert status(audit, "problem") == "fail"


def test_a_ticket_that_carries_both_faults_passes_the_problem() -> None:
    audit = score_call(_two_faults(), meta(), _pb(),
                       ticket=ticket(category="漏水", description="客厅暖气片滴水，暖气不热"))
    assert status(audit, "problem") == "pass"


def test_a_measurement_ticket_carries_the_cold_radiator_it_checks() -> None:
    turns = [
        GREETING,
        (C, "我家暖气不热，你们来给测一下温度吧。"),
        (A, "暖气不热，要测温。请问您的具体地址？"),
        (C, "西辛小区，五号楼，二单元，三零一。"),
        (A, "西辛小区五号楼二单元三零一。请问您的姓名？"),
        (C, "孙丽。"),
        (A, "孙丽。请留一下联系电话？"),
        (C, "幺三六，幺幺二二，三三四四。"),
        (A, "幺三六幺幺二二三三四四。"),
        CLOSING,
    ]
    audit = score_call(call(*turns), meta(), _pb(),
                       ticket=ticket(category="测温", description="暖气不热，需测室温"))
    assert status(audit, "problem") == "pass"


# --- follow-up: praise of the repairman volunteered --------------------------------------------

def test_praise_of_the_repairman_volunteered_answers_the_attitude_question() -> None:
    turns = [
        FOLLOWUP_OPENING,
        (C, "哦，是暖气那个事儿吧？修好了，现在挺热乎的，那师傅人可好了。"),
        (A, "好的，问题解决了，师傅态度您也挺满意。那跟您收费了吗？"),
        (C, "没收。"),
        (A, "请您为我们的服务打分，一到十分。"),
        (C, "八分。"),
        (A, "您对我们的服务还有什么建议或意见吗？"),
        (C, "没有。"),
        (A, "感谢您的合作，以后有什么问题，请您随时拨打我们的报修电话，我们将及时为您服务。"),
    ]
    audit = score_call(call(*turns), meta("followup"), _pb())
    assert status(audit, "asked_attitude") in ("na", "pass")
    assert audit.answers.get("attitude") == "satisfied"


# --- a long scripted phrase with one character misheard ------------------------------------------

def test_a_long_phrase_heard_with_one_character_off_still_matches() -> None:
    """"请您随时拔打" for 拨打: the phrase's 请您 is part of what was said, so one character
    off in thirteen is a match, not a doubt."""
    text = "感谢您的合作以后有什么问题请您随时拔打我们的报修电话我们将及时为您服务"
    assert phrase_score("以后有什么问题请您随时拨打", text) >= 85
    # Boilerplate still does not make two questions alike.
    assert phrase_score("请问您的姓名", "请问您的具体地址") < 85


def test_a_follow_up_closing_heard_with_one_character_off_passes() -> None:
    turns = [
        (A, "您好我们是供暖报修平台对您家报修的处理情况进行回访您现在方便吗"),
        (C, "方便你说"),
        (A, "请问问题解决了吗"),
        (C, "解决了"),
        (A, "维修工态度如何"),
        (C, "挺好"),
        (A, "跟您收费了吗"),
        (C, "没收"),
        (A, "请您为我们的服务打分1到10分"),
        (C, "9分"),
        (A, "您对我们的服务还有什么建议或意见吗"),
        (C, "没有"),
        (A, "好的感谢您的合作以后有什么问题请您随时拔打我们的报修电话我们将及时为您服务"),
    ]
    audit = score_call(call(*turns, role_source="channel"), meta("followup"), _pb())
    assert status(audit, "closing") == "pass"
