"""Shapes of speech first met in blind10, each on a short call of its own: a room corrected
during the read-back, a report for a neighbour, answers volunteered or clarified, a follow-up
put off or about a repair that never happened, rude and promising lines, names heard by a
recognizer without their commas."""

from functools import cache

import pytest
from conftest import (CLOSING, FOLLOWUP_CLOSING, FOLLOWUP_OPENING, GREETING, call, codes, meta,
                     status, ticket)

from qa_audit.phrasebook import load_phrasebook
from qa_audit.form.engine import score_call

A, C = "a", "c"


@cache
def _pb():
    return load_phrasebook()


def _intake(address_turns, name_turn="孙丽。", name_echo="孙丽。请留一下联系电话？"):
    return [
        GREETING,
        (C, "我家卫生间暖气片接头滴水，滴得挺快。"),
        (A, "卫生间暖气片接头滴水，滴得挺快，是吧。请问您的具体地址？"),
        *address_turns,
        (A, "请问您的姓名？"),
        (C, name_turn),
        (A, name_echo),
        (C, "一三六一一二二三三四四。"),
        (A, "一三六一一二二三三四四。"),
        (C, "对。"),
        CLOSING,
    ]


# --- addresses ---------------------------------------------------------------------------

ROOM_CORRECTED_IN_READBACK = [
    (C, "西辛小区五号楼二单元三零二。"),
    (A, "西辛小区五号楼二单元三零二。"),
    (C, "哎不对，三零一，三零二是我对门。三零一。"),
    (A, "好的，西辛小区五号楼二单元三零一。"),
    (C, "对，三零一。"),
]


@pytest.mark.parametrize("source", ["given", "channel"])
def test_a_room_corrected_during_the_read_back_is_the_corrected_room(source) -> None:
    """The resident corrects the room while the agent reads it back, naming the wrong one as
    the flat across the landing: the address is the corrected room, not both numbers."""
    audit = score_call(call(*_intake(ROOM_CORRECTED_IN_READBACK), role_source=source), meta(),
                       _pb(), ticket=ticket())
    assert status(audit, "address") == "pass"
    assert status(audit, "readback_address") == "pass"
    assert "wrong_address" not in codes(audit)


NEIGHBOUR_REPORT = [
    (C, "西辛小区，五号楼，二单元。我家是三零二，他家是对门，三零一。"),
    (A, "西辛小区五号楼二单元三零一，是邻居家，对吗？"),
    (C, "对，三零一。"),
]


@pytest.mark.parametrize("source", ["given", "channel"])
def test_two_flats_named_the_one_read_back_and_confirmed_is_the_address(source) -> None:
    """A neighbour reports for the flat across the landing and names her own too: the flat
    the agent reads back and she confirms is the address, so a ticket with her own flat is a
    wrong address — also from a recognizer, as both numbers were heard, not one misheard."""
    turns = _intake(NEIGHBOUR_REPORT)
    wrong = score_call(call(*turns, role_source=source), meta(), _pb(),
                       ticket=ticket(address="西辛小区5号楼2单元302"))
    assert status(wrong, "address") == "fail"
    assert "wrong_address" in codes(wrong)
    assert status(wrong, "readback_address") == "pass"
    right = score_call(call(*turns, role_source=source), meta(), _pb(), ticket=ticket())
    assert status(right, "address") == "pass"
    assert "wrong_address" not in codes(right)


def test_a_neighbours_flat_mentioned_beside_the_address_still_passes() -> None:
    """Two rooms said, but the read-back is no pick of one of them: the ticket's room said by
    the resident passes, as before."""
    turns = _intake([(C, "西辛小区五号楼二单元三零一，楼上四零一漏下来的。"),
                     (A, "好的。")])
    audit = score_call(call(*turns), meta(), _pb(), ticket=ticket())
    assert status(audit, "address") == "pass"


# --- guiding and names -------------------------------------------------------------------

def test_asking_whether_it_still_drips_asks_the_severity() -> None:
    turns = [
        GREETING,
        (C, "我家客厅暖气片下面那个阀门湿乎乎的，有水印子。"),
        (A, "客厅暖气片下面阀门有水印，是吧？现在还往下滴吗？"),
        (C, "不怎么滴，就是湿。"),
        (A, "阀门渗水，不滴。请问您的具体地址？"),
        (C, "西辛小区五号楼二单元三零一。"),
        (A, "西辛小区五号楼二单元三零一。请问您的姓名？"),
        (C, "孙丽。"),
        (A, "孙丽。请留一下联系电话？"),
        (C, "一三六一一二二三三四四。"),
        (A, "一三六一一二二三三四四。"),
        CLOSING,
    ]
    assert status(score_call(call(*turns), meta(), _pb()), "guide_severity") == "pass"


def test_a_name_after_a_confirmation_without_its_comma() -> None:
    """"对刘女士就行" is "对，刘女士就行" heard without the comma: the name is 刘女士."""
    turns = _intake([(C, "西辛小区5号楼2单元301"), (A, "西辛小区五号楼二单元三零一")],
                    name_turn="房东叫什么我不知道登记我的行不行",
                    name_echo="可以登记您的您贵姓")
    turns[7:7] = [(C, "对刘女士就行"), (A, "刘女士请留一下联系电话")]
    audit = score_call(call(*turns, role_source="channel"), meta(), _pb(),
                       ticket=ticket(caller_name="刘女士"))
    assert status(audit, "name") == "pass"
    assert "wrong_name" not in codes(audit)


def test_a_spelled_name_run_together_by_a_recognizer_is_still_found() -> None:
    """"王静三横王安静的静": the spelling by parts (三横王, normalized 3横王) and by a word
    (安静的静) comes off the name, and the spelled 静 settles the ticket's 王晶 as wrong."""
    turns = _intake([(C, "西辛小区5号楼2单元301"), (A, "西辛小区五号楼二单元三零一")],
                    name_turn="王静三横王安静的静", name_echo="王静安静的静请留一下联系电话")
    audit = score_call(call(*turns, role_source="channel"), meta(), _pb(),
                       ticket=ticket(caller_name="王晶"))
    assert status(audit, "name") == "fail"
    assert "wrong_name" in codes(audit)
    assert status(audit, "readback_name") == "pass"


# --- conduct -----------------------------------------------------------------------------

def test_telling_the_resident_urging_is_useless_is_impolite() -> None:
    turns = [GREETING, (C, "你们电话太难打了！我家暖气不热。"),
             (A, "报修的人多，都在排队，你着急也没用。哪个屋不热？"), (C, "北屋。"), CLOSING]
    assert "impolite" in codes(score_call(call(*turns), meta(), _pb()))
    calm = [GREETING, (C, "我家暖气不热。"), (A, "您别着急，哪个屋不热？"), (C, "北屋。"), CLOSING]
    assert "impolite" not in codes(score_call(call(*calm), meta(), _pb()))


@pytest.mark.parametrize("line", ["我保证师傅半个小时之内就上门。", "师傅两个小时之内肯定上门。"])
def test_a_guaranteed_visit_within_a_time_is_an_invalid_promise(line) -> None:
    turns = [FOLLOWUP_OPENING, (C, "方便。"), (A, "您对我们的服务还有什么建议或意见吗？"),
             (C, "以后能不能快点儿？"), (A, line), FOLLOWUP_CLOSING]
    audit = score_call(call(*turns), meta("followup"), _pb())
    assert "invalid_promise" in codes(audit)


# --- follow-ups --------------------------------------------------------------------------

def _followup(*middle):
    return [FOLLOWUP_OPENING, *middle, FOLLOWUP_CLOSING]


def test_a_repairman_praised_before_the_question_answers_it() -> None:
    audit = score_call(call(*_followup(
        (C, "方便。修好了，师傅来得挺快，人也挺好的。"),
        (A, "跟您收费了吗？"), (C, "没有。"),
        (A, "请您为我们的服务打分，一到十分。"), (C, "十分。"),
        (A, "您对我们的服务还有什么建议或意见吗？"), (C, "没有。"))), meta("followup"), _pb())
    assert status(audit, "asked_attitude") == "na"
    assert status(audit, "asked_resolved") == "na"
    assert audit.answers["attitude"] == "satisfied"


@pytest.mark.parametrize("closing, expected", [(FOLLOWUP_CLOSING, "pass"),
                                               ((A, "好的，那下午三点以后再联系您，再见。"), "na")])
def test_a_follow_up_put_off_asks_nothing_and_its_closing_passes_if_said(closing, expected) -> None:
    turns = [FOLLOWUP_OPENING, (C, "哎呀，现在不太方便，你下午再打行吗？"),
             (A, "好的，那您看下午几点方便？"), (C, "三点以后吧。"), closing]
    audit = score_call(call(*turns), meta("followup"), _pb())
    for item in ("asked_resolved", "asked_attitude", "asked_charged", "asked_rating",
                 "asked_suggestions"):
        assert status(audit, item) == "na", item
    assert status(audit, "closing") == expected
    assert audit.answers == {}


def test_no_repairman_came_so_attitude_and_charge_are_not_asked() -> None:
    audit = score_call(call(*_followup(
        (C, "回访什么呀，根本就没人来修！"),
        (A, "非常抱歉，请问问题解决了吗？"), (C, "没解决，到现在还是凉的。"),
        (A, "我马上给您重新派单催办。请您为我们的服务打分，一到十分。"), (C, "一分。"),
        (A, "您对我们的服务还有什么建议或意见吗？"), (C, "赶紧派人来。"))), meta("followup"), _pb())
    assert status(audit, "asked_attitude") == "na"
    assert status(audit, "asked_charged") == "na"
    assert audit.answers == {"resolved": "no", "rating": 1}


def test_unasked_attitude_still_fails_when_the_repairman_came() -> None:
    audit = score_call(call(*_followup(
        (C, "方便。"), (A, "请问问题解决了吗？"), (C, "解决了，师傅来了一趟就好了。"),
        (A, "请您为我们的服务打分，一到十分。"), (C, "九分。"),
        (A, "您对我们的服务还有什么建议或意见吗？"), (C, "没有。"))), meta("followup"), _pb())
    assert status(audit, "asked_attitude") == "fail"


@pytest.mark.parametrize("reply", ["没怎么解决，屋里还是十七八度。", "没彻底解决，晚上又凉了。"])
def test_a_negation_with_a_degree_word_is_no(reply) -> None:
    audit = score_call(call(*_followup((C, "方便。"), (A, "请问问题解决了吗？"), (C, reply))),
                       meta("followup"), _pb())
    assert audit.answers["resolved"] == "no"


def test_a_clarifying_choice_question_without_punctuation_is_asked_and_answered() -> None:
    """A recognizer drops the question mark of "算是解决了，还是还没解决？": the choice still
    asks, and its answer counts, not a later "等修好了…" inside the rating."""
    audit = score_call(call(
        (A, "您好我们是供暖报修平台对您家报修的处理情况进行回访您现在方便吗"), (C, "方便你说吧"),
        (A, "请问问题解决了吗"), (C, "嗯怎么说呢好点儿了吧白天还行晚上又有点凉"),
        (A, "那您觉得这个问题算是解决了还是还没解决"), (C, "那还是没彻底解决"),
        (A, "请您为我们的服务打分一到十分"), (C, "6分吧等彻底修好了再给你们高分"),
        role_source="channel"), meta("followup"), _pb())
    assert audit.answers["resolved"] == "no"
    assert audit.answers["rating"] == 6
