"""Verdicts on recognizer output, where the words or the speakers may be wrong: a fail that
does not depend on them stands; one that may be a mishearing goes to a person."""

from __future__ import annotations

from conftest import call, meta

from qa_audit.form.engine import score_call

FOLLOWUP_OPENING = "您好，我们是供暖报修平台，对您家报修的处理情况进行回访。您现在方便吗？"
FOLLOWUP_CLOSING = "感谢您的合作，以后有什么问题，请您随时拨打我们的报修电话，我们将及时为您服务。"


def _items(audit):
    return {i.id: i.status for i in audit.items}


def test_on_a_mono_call_an_opening_and_a_question_said_by_no_one_still_fail(pb):
    """Devset 209: the roles of a mono recording are unsure (0.5), but neither the scripted
    opening nor the rating question is anywhere in the call, whoever said each line."""
    audit = score_call(
        call(("c", "喂？"), ("a", "你家暖气修好了吗？"), ("c", "修好了。"), ("a", "维修工态度如何？"),
             ("c", "很满意。"), ("a", "跟您收费了吗？"), ("c", "没收费。"),
             ("a", "您对我们的服务还有什么建议或意见吗？"), ("c", "没有。"), ("a", FOLLOWUP_CLOSING),
             call_id="20261111_103020_305_followup_209", confidence=0.9, role_source="inferred",
             role_confidence=0.5),
        meta("followup", "305"), pb)
    items = _items(audit)
    assert items["opening"] == "fail" and items["asked_rating"] == "fail"
    assert "nonstandard_phrase" in {f.code for f in audit.findings}
    assert items["closing"] == "pass"


def test_on_a_mono_call_a_question_that_may_be_the_residents_words_is_left_to_a_person(pb):
    """The opening was said, but the first line went to the resident's voice: with unsure
    roles that is no fail. Nor is an unasked question whose answer someone gave."""
    audit = score_call(
        call(("c", FOLLOWUP_OPENING), ("a", "方便。"), ("a", "请问问题解决了吗？"),
             ("c", "解决了，师傅态度也挺好，给十分。"), ("a", "跟您收费了吗？"), ("c", "没有。"),
             ("a", "您对我们的服务还有什么建议或意见吗？"), ("c", "没有。"), ("a", FOLLOWUP_CLOSING),
             call_id="20261111_103020_305_followup_209", confidence=0.9, role_source="inferred",
             role_confidence=0.5),
        meta("followup", "305"), pb)
    items = _items(audit)
    assert items["opening"] == "review"
    assert items["asked_rating"] != "fail" and items["asked_attitude"] != "fail"


def test_a_script_part_one_character_off_is_a_fail_from_a_person_and_review_from_a_recognizer(pb):
    """感谢您的合传: a transcriber's 作 heard as 传 may be a mishearing; typed by a person
    (roles given, no confidence) it is what the agent said."""
    turns = [("a", FOLLOWUP_OPENING), ("c", "方便。"), ("a", "请问问题解决了吗？"), ("c", "解决了。"),
             ("a", "维修工态度如何？"), ("c", "挺好。"), ("a", "跟您收费了吗？"), ("c", "没有。"),
             ("a", "请您为我们的服务打分，一到十分。"), ("c", "十分。"),
             ("a", "您对我们的服务还有什么建议或意见吗？"), ("c", "没有。"),
             ("a", FOLLOWUP_CLOSING.replace("合作", "合传"))]
    heard = score_call(call(*turns, call_id="x", confidence=0.9, role_source="channel"),
                       meta("followup", "305"), pb)
    typed = score_call(call(*turns, call_id="x"), meta("followup", "305"), pb)
    assert heard.item("closing").status == "review"
    assert "识别错误" in heard.item("closing").reason
    assert typed.item("closing").status == "fail"


def test_a_closing_in_pieces_is_whole_although_the_resident_speaks_after_it(pb):
    """Sample 403 as heard: the closing cut at its pause, then the resident asks when the
    repairman comes. The closing is the agent's last run of turns, not its last piece."""
    audit = score_call(
        call(("a", "您好，大龙供暖报修，三零五号为您服务，请问您有什么问题？"),
             ("c", "我家屋里温度太低了，才十六度，客厅和主卧都是。"), ("a", "客厅和主卧十六度。请问您的具体地址？"),
             ("c", "万科城二十三号楼二单元一一零一。"), ("a", "万科城二十三号楼二单元一一零一。请问您的姓名？"),
             ("c", "孙志强。"), ("a", "孙志强。请留一下联系电话？"), ("c", "一五九三三八二零六四七。"),
             ("a", "一五九三三八二零六四七。"), ("a", "好！维修人员会尽快跟您联系。"),
             ("a", "感谢您的来电。再见！"), ("c", "哎，那个师傅大概几点能到？")),
        meta("repair", "305"), pb)
    assert audit.item("closing").status == "pass"
    cited = [e.text for e in audit.item("closing").evidence]
    assert "好！维修人员会尽快跟您联系。" in cited and "感谢您的来电。再见！" in cited


def test_a_phone_heard_as_gibberish_and_never_read_back_fails_the_read_back(pb):
    """Sample 403 as heard: the resident's phone came out as 「有三三八 领导主席」, so no
    phone is found — but the agent said no number after it, so it was not read back. Had
    the agent said digits, a person would have to compare them."""
    turns = [("a", "您好，大龙供暖报修，三零五号为您服务，请问您有什么问题？"),
             ("c", "屋里温度太低了，才十六度，客厅和主卧都是。"), ("a", "客厅和主卧十六度。请问您的具体地址？"),
             ("c", "万科城二十三号楼二单元一一零一。"), ("a", "万科城二十三号楼二单元一一零一。请问您的姓名？"),
             ("c", "孙志强。"), ("a", "孙志强。请留一下联系电话？"), ("c", "有三三八 领导主席"),
             ("a", "好！维修人员会尽快跟您联系。感谢您的来电。再见！")]
    unread = score_call(call(*turns, call_id="x", confidence=0.9, role_source="channel"),
                        meta("repair", "305"), pb)
    assert unread.item("readback_phone").status == "fail"
    assert "没有念出任何号码" in unread.item("readback_phone").reason
    turns.insert(8, ("a", "幺五九三三八二零六四七。"))
    read = score_call(call(*turns, call_id="x", confidence=0.9, role_source="channel"),
                      meta("repair", "305"), pb)
    assert read.item("readback_phone").status != "fail"


def test_a_second_fault_heard_by_a_recognizer_is_for_a_person_to_hear(pb):
    """Sample 402 as heard: 漏水 came out as 冷水 (cold), a fault the leak ticket lacks. From a
    recognizer that is review; typed by a person, a fault left off the ticket fails."""
    from qa_audit.pipeline import audit_transcript, load_dispatch

    from conftest import REPO

    samples = REPO / "samples"
    data = load_dispatch(calls=samples / "calls.csv", tickets=samples / "tickets.csv",
                         stations=samples / "stations.csv")
    turns = [("a", "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？"),
             ("c", "我是滨河花园的，五号楼三单元四零一，我家暖气冷水了。"),
             ("a", "滨河花园五号楼三单元四零一，暖气漏水。是哪个房间漏水？漏得厉害吗？"),
             ("c", "卫生间那个暖气片，下边接头往外冒水，地上都湿了。"),
             ("a", "卫生间暖气片接头冒水。请问您的姓名？"), ("c", "我叫刘海涛。"),
             ("a", "刘海涛。请留一下联系电话？"), ("c", "幺三九零五幺七二八四六。"),
             ("a", "幺三九零五幺七二八四六。"), ("a", "好！维修人员会尽快跟您联系。感谢您的来电。再见！")]
    cid = "20261116_094030_301_repair_402"
    heard = audit_transcript(call(*turns, call_id=cid, confidence=0.9, role_source="channel"),
                             data, pb)
    typed = audit_transcript(call(*turns, call_id=cid), data, pb)
    assert heard.item("problem").status == "review"
    assert typed.item("problem").status == "fail"
