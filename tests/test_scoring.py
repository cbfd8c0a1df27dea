"""The audit engine on realistic calls, clean and as a recognizer writes them."""

from datetime import datetime

import pytest
from conftest import call, meta

from qa_audit.form.engine import score_call

A, C = "a", "c"

CLEAN_REPAIR = [
    (A, "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？"),
    (C, "喂，你好，我家卧室暖气不热。"),
    (A, "卧室暖气不热是吧。大概多少度？其他屋热吗？"),
    (C, "十六度，别的屋还行。"),
    (A, "主卧十六度。请问您的具体地址？"),
    (C, "西园小区三号楼一单元四零二。"),
    (A, "西园小区三号楼一单元四零二。请问您的姓名？"),
    (C, "我姓韩，韩雪梅。"),
    (A, "韩雪梅。请留一下联系电话？"),
    (C, "一三六一一二二三三四四。"),
    (A, "一三六一一二二三三四四，对吗？"),
    (C, "对。"),
    (A, "好！维修人员会尽快跟您联系。感谢您的来电。再见！"),
]

# The same call as Whisper writes it on a phone line: homophones, traditional characters,
# digits in either script, punctuation lost, 1 read as 幺.
ASR_REPAIR = [
    (A, "您好 大龍公暖保修 301號為您服務 請問您有什麼問題"),
    (C, "喂你好 我家卧室暖气不热"),
    (A, "卧室暖气不热是吧 大概多少度 其他屋热吗"),
    (C, "16度 别的屋还行"),
    (A, "主卧16度 请问您的具体地址"),
    (C, "西园小区3号楼1单元402"),
    (A, "西园小区三号楼幺单元四零二 请问您的性命"),
    (C, "我姓韩 韩雪梅"),
    (A, "韩雪梅 请留一下联系电话"),
    (C, "幺三六幺幺二二三三四四"),
    (A, "13611223344对吗"),
    (C, "对"),
    (A, "好 维修人员会尽快跟您联系 感谢您的来电 再见"),
]


def statuses(audit):
    return {i.id: i.status for i in audit.items}


def not_passing(audit, skip_ticket=True):
    ticket = {"problem", "name", "phone", "address", "station", "seat", "recorder",
              "address_format"}
    return {i.id: i.status for i in audit.items
            if i.status != "pass" and not (skip_ticket and i.id in ticket)}


@pytest.mark.parametrize("turns", [CLEAN_REPAIR, ASR_REPAIR], ids=["clean", "asr"])
def test_a_call_by_the_script_passes_every_item(pb, turns) -> None:
    audit = score_call(call(*turns), meta(), pb)
    assert not_passing(audit) == {}
    assert audit.findings == []
    # Without a ticket export the ticket items cannot be judged and don't count.
    assert audit.item("station").status == "na"
    assert audit.max_score == 35 - 3 - 1 - 1 - 5 - 1 - 1 - 5 - 1
    assert audit.score == audit.max_score


def replace(turns, index, text):
    out = list(turns)
    out[index] = (out[index][0], text)
    return out


def test_greeting_without_agent_id_fails_with_evidence_and_a_fine(pb) -> None:
    turns = replace(CLEAN_REPAIR, 0, "您好，大龙供暖报修，请问您有什么问题？")
    audit = score_call(call(*turns), meta(), pb)
    greeting = audit.item("greeting")
    assert greeting.status == "fail"
    assert "报工号" in greeting.reason
    assert greeting.evidence[0].text.startswith("您好，大龙供暖报修")
    assert [f.code for f in audit.findings] == ["nonstandard_phrase"]
    assert audit.findings[0].fine_yuan == 10


def test_a_greeting_cut_into_pieces_at_its_pauses_is_still_the_greeting(pb) -> None:
    """The recognizer ends a piece at each pause of the greeting; the opening is all the
    agent says before the resident speaks, not just the first two pieces."""
    turns = [("a", "您好，大龙供暖报修，"), ("a", "三零一号为您服务，"), ("a", "请问您有什么问题？"),
             *CLEAN_REPAIR[1:]]
    assert score_call(call(*turns), meta(), pb).item("greeting").status == "pass"
    # Still only the agent's words before the resident's: an id said later does not count.
    late = [("a", "您好，大龙供暖报修，"), ("a", "请问您有什么问题？"), CLEAN_REPAIR[1],
            ("a", "三零一号为您服务。"), *CLEAN_REPAIR[2:]]
    assert score_call(call(*late), meta(), pb).item("greeting").status != "pass"


def test_greeting_with_someone_elses_id_is_not_a_pass(pb) -> None:
    audit = score_call(call(*CLEAN_REPAIR), meta(agent_id="309"), pb)
    assert audit.item("greeting").status in {"fail", "review"}
    assert "309" in audit.item("greeting").reason


def test_holiday_greeting_depends_on_the_date(pb) -> None:
    holiday = replace(CLEAN_REPAIR, 0, "国庆节快乐！大龙报修三零一号为您服务，请问您有什么问题？")
    on_holiday = meta(started_at=datetime(2026, 10, 2, 9, 0))
    assert score_call(call(*holiday), on_holiday, pb).item("greeting").status == "pass"
    # The plain greeting on National Day is not the standard one...
    plain = score_call(call(*CLEAN_REPAIR), on_holiday, pb).item("greeting")
    assert plain.status == "fail" and "国庆节快乐" in plain.reason
    # ...and the holiday greeting on an ordinary day is not either.
    off = score_call(call(*holiday), meta(), pb).item("greeting")
    assert off.status == "fail" and "非节日" in off.reason


def test_skipped_phone_readback(pb) -> None:
    turns = replace(CLEAN_REPAIR, 10, "好的。")
    audit = score_call(call(*turns), meta(), pb)
    assert not_passing(audit) == {"readback_phone": "fail"}
    evidence = [e.text for e in audit.item("readback_phone").evidence]
    assert "一三六一一二二三三四四。" in evidence


def test_skipped_name_readback_and_problem_readback(pb) -> None:
    turns = replace(CLEAN_REPAIR, 8, "好的。请留一下联系电话？")
    turns = replace(turns, 2, "好的。大概多少度？其他屋热吗？")
    turns = replace(turns, 4, "请问您的具体地址？")
    audit = score_call(call(*turns), meta(), pb)
    assert not_passing(audit) == {"readback_name": "fail", "readback_problem": "fail"}


def test_unasked_guiding_questions(pb) -> None:
    turns = [t for i, t in enumerate(CLEAN_REPAIR) if i not in (2, 3)]
    turns = replace(turns, 2, "好的，请问您的具体地址？")
    audit = score_call(call(*turns), meta(), pb)
    result = not_passing(audit)
    # The resident said "卧室" (where) unasked, so the location question is not needed;
    # nobody said how bad it is, and the agent never asked.
    assert result["guide_severity"] == "fail"
    assert result.get("guide_location", "na") == "na"
    assert audit.item("guide_severity").evidence


def test_phone_never_asked_nor_given(pb) -> None:
    turns = CLEAN_REPAIR[:8] + [(A, "韩雪梅。好！维修人员会尽快跟您联系。感谢您的来电。再见！")]
    audit = score_call(call(*turns), meta(), pb)
    assert not_passing(audit) == {"guide_phone": "fail", "readback_phone": "fail"}


def test_resident_volunteers_the_phone(pb) -> None:
    turns = CLEAN_REPAIR[:6] + [
        (A, "西园小区三号楼一单元四零二。"),
        (C, "我叫韩雪梅，电话一三六一一二二三三四四。"),
        (A, "韩雪梅，一三六一一二二三三四四。"),
        (A, "好！维修人员会尽快跟您联系。感谢您的来电。再见！")]
    audit = score_call(call(*turns), meta(), pb)
    # Nothing lost: the facts came before they had to be asked for.
    assert not_passing(audit) == {}
    assert "主动说明" in audit.item("guide_name").reason
    assert "主动说明" in audit.item("guide_phone").reason


def test_name_offered_after_the_closing_was_never_asked(pb) -> None:
    turns = CLEAN_REPAIR[:6] + [
        (A, "西园小区三号楼一单元四零二。请留一下联系电话？"),
        (C, "一三六一一二二三三四四。"),
        (A, "一三六一一二二三三四四。好！维修人员会尽快跟您联系。感谢您的来电。再见！"),
        (C, "哎，等会儿，你不记我名字啊？我叫韩雪梅。"),
        (A, "韩雪梅，好的，给您记上了。再见。")]
    audit = score_call(call(*turns), meta(), pb)
    assert audit.item("guide_name").status == "fail"
    assert audit.item("readback_name").status == "pass"
    assert audit.item("closing").status == "pass"  # said in full before the resident spoke


def test_closing_cut_short(pb) -> None:
    turns = replace(CLEAN_REPAIR, 12, "好的，再见。")
    audit = score_call(call(*turns), meta(), pb)
    closing = audit.item("closing")
    assert closing.status == "fail"
    assert "感谢您的来电" in closing.reason
    assert closing.evidence[-1].text == "好的，再见。"
    assert audit.findings == []  # a short closing costs points, not a fine


def test_paraphrased_but_acceptable_script(pb) -> None:
    turns = [
        (A, "您好，大龙供暖报修，305号为您服务，有什么可以帮您？"),
        (C, "我们家厨房的暖气管子漏水了，滴答滴答的。"),
        (A, "厨房管子漏水。漏得厉害吗？"),
        (C, "不算厉害，一直往下滴。"),
        (A, "一直在滴。您家住哪儿？具体地址。"),
        (C, "建新南区五号楼三单元一零二。"),
        (A, "建新南区5号楼3单元102是吧。您贵姓？"),
        (C, "姓周。"),
        (A, "周女士，留个电话吧。"),
        (C, "一八六零零一二三四五六。"),
        (A, "一八六零零一二三四五六。好的，维修人员会尽快联系您，感谢来电，再见。"),
    ]
    audit = score_call(call(*turns), meta(agent_id="305"), pb)
    assert not_passing(audit) == {}
    assert "主动说明" in audit.item("guide_location").reason  # 厨房 was said unasked


def test_impolite_phrase_and_invalid_promise_are_findings(pb) -> None:
    turns = CLEAN_REPAIR[:12] + [
        (C, "你们什么时候能来啊？我都打了好几次了。"),
        (A, "我不是说了吗，维修人员会跟您联系。您放心，两小时之内肯定修好。"),
        CLEAN_REPAIR[12]]
    audit = score_call(call(*turns), meta(), pb)
    codes = sorted(f.code for f in audit.findings)
    assert codes == ["impolite", "invalid_promise"]
    impolite = next(f for f in audit.findings if f.code == "impolite")
    assert impolite.fine_yuan == 50 and impolite.evidence[0].text.startswith("我不是说了吗")
    assert next(f for f in audit.findings if f.code == "invalid_promise").serious


def test_the_standard_closing_is_not_a_promise_nor_rude(pb) -> None:
    audit = score_call(call(*CLEAN_REPAIR), meta(), pb)
    assert audit.findings == []


def test_customer_words_never_make_conduct_findings(pb) -> None:
    turns = CLEAN_REPAIR[:12] + [(C, "你听不懂吗？我不是说了吗！"), CLEAN_REPAIR[12]]
    assert score_call(call(*turns), meta(), pb).findings == []


def test_inferred_roles_turn_fails_into_review(pb) -> None:
    turns = replace(CLEAN_REPAIR, 10, "好的。")
    t = call(*turns, role_source="inferred", role_confidence=0.55)
    audit = score_call(t, meta(), pb)
    item = audit.item("readback_phone")
    assert item.status == "review"
    assert "0.55" in item.reason


def test_unsure_words_turn_fails_into_review(pb) -> None:
    turns = replace(CLEAN_REPAIR, 0, "您好，大龙供暖报修，请问您有什么问题？")
    t = call(*turns, confidence=0.2, role_source="channel")
    audit = score_call(t, meta(), pb)
    assert audit.item("greeting").status == "review"
    # No fine on an item a person has not decided yet.
    assert "nonstandard_phrase" not in {f.code for f in audit.findings}


FOLLOWUP = [
    (A, "您好，我们是供暖报修平台，对您家报修的处理情况进行回访。您现在方便吗？"),
    (C, "方便，你说。"),
    (A, "请问问题解决了吗？"),
    (C, "还是不太热，师傅来看了说要再等等。"),
    (A, "维修工态度如何？"),
    (C, "态度挺好的，很满意。"),
    (A, "跟您收费了吗？"),
    (C, "收了五十块钱，说是材料费。"),
    (A, "请您为我们的服务打分，一到十分。"),
    (C, "给七分吧。"),
    (A, "您对我们的服务还有什么建议或意见吗？"),
    (C, "没有了。"),
    (A, "感谢您的合作，以后有什么问题，请您随时拨打我们的报修电话，我们将及时为您服务。"),
]


def test_followup_answers_are_extracted(pb) -> None:
    audit = score_call(call(*FOLLOWUP, call_id="f1"), meta(call_type="followup"), pb)
    assert {i.id: i.status for i in audit.items if i.status != "pass"} == {}
    assert audit.answers == {"resolved": "no", "attitude": "satisfied", "charged": "yes",
                             "rating": 7}
    charged = next(f for f in audit.findings if f.code == "repairman_charged")
    assert "五十块" in charged.evidence[0].text


def test_followup_with_missing_question_and_opening(pb) -> None:
    turns = [t for i, t in enumerate(FOLLOWUP) if i not in (8, 9)]
    turns = replace(turns, 0, "喂，是张先生吧？暖气修好了吗？")
    turns = turns[:1] + turns[3:]  # the question in the opening is answered directly
    audit = score_call(call(*turns, call_id="f2"), meta(call_type="followup"), pb)
    result = {i.id: i.status for i in audit.items if i.status != "pass"}
    assert result == {"opening": "fail", "asked_rating": "fail"}
    assert "nonstandard_phrase" in {f.code for f in audit.findings}
    assert "rating" not in audit.answers


def test_followup_not_convenient(pb) -> None:
    turns = [FOLLOWUP[0], (C, "我现在在开车，不方便。"),
             (A, "好的，那我们下午再给您打过来，再见。")]
    audit = score_call(call(*turns, call_id="f3"), meta(call_type="followup"), pb)
    result = {i.id: i.status for i in audit.items}
    assert result["opening"] == "pass"
    assert {result[k] for k in result if k.startswith("asked_")} == {"na"}
    assert audit.answers == {}


@pytest.mark.parametrize(("reply", "expected"), [
    ("解决了，现在挺热的。", "yes"), ("没解决。", "no"), ("不漏了，修好了。", "yes"),
    ("还是不热。", "no"),
])
def test_resolved_answers(pb, reply, expected) -> None:
    turns = replace(FOLLOWUP, 3, reply)
    audit = score_call(call(*turns, call_id="f4"), meta(call_type="followup"), pb)
    assert audit.answers["resolved"] == expected


@pytest.mark.parametrize(("reply", "expected"), [
    ("不满意，态度很差。", "dissatisfied"), ("一般吧。", "neutral"), ("还行。", "neutral"),
    ("挺好的。", "satisfied"),
])
def test_attitude_answers(pb, reply, expected) -> None:
    turns = replace(FOLLOWUP, 5, reply)
    audit = score_call(call(*turns, call_id="f5"), meta(call_type="followup"), pb)
    assert audit.answers["attitude"] == expected


@pytest.mark.parametrize(("reply", "expected"), [("满分。", 10), ("十分。", 10), ("打八分吧。", 8),
                                                 ("9分", 9)])
def test_rating_answers(pb, reply, expected) -> None:
    turns = replace(FOLLOWUP, 9, reply)
    audit = score_call(call(*turns, call_id="f6"), meta(call_type="followup"), pb)
    assert audit.answers["rating"] == expected


def test_every_fail_names_evidence(pb) -> None:
    broken = [(A, "喂。"), (C, "暖气不热。"), (A, "地址？"), (C, "马坡花园二号楼。"), (A, "行。")]
    audit = score_call(call(*broken), meta(), pb)
    fails = [i for i in audit.items if i.status == "fail"]
    assert len(fails) >= 5
    assert all(i.evidence and i.reason for i in fails)


def test_an_enquiry_on_the_repair_line_is_not_judged_as_an_intake(pb) -> None:
    turns = [
        (A, "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？"),
        (C, "我不是报修，就想问问今年的供暖费在哪儿交？"),
        (A, "您可以到收费大厅交，也可以在公众号上交。"),
        (C, "好的，知道了，谢谢。"),
        (A, "不客气，感谢您的来电，再见！"),
    ]
    audit = score_call(call(*turns), meta(), pb)
    statuses = {i.id: i.status for i in audit.items}
    assert statuses["greeting"] == "pass" and statuses["closing"] == "pass"
    assert {s for k, s in statuses.items() if k not in ("greeting", "closing")} == {"na"}
    # The same words in a real repair call do not make it an enquiry.
    repair = score_call(call(*CLEAN_REPAIR), meta(), pb)
    assert repair.item("readback_phone").status == "pass"


@pytest.mark.parametrize(("reply", "expected"), [
    ("工钱倒没要，就是换了个排气阀，要了十五块钱。", "yes"), ("没收钱。", "no"), ("那倒没有。", "no"),
])
def test_charged_answers(pb, reply, expected) -> None:
    turns = replace(FOLLOWUP, 7, reply)
    audit = score_call(call(*turns, call_id="f7"), meta(call_type="followup"), pb)
    assert audit.answers["charged"] == expected


@pytest.mark.parametrize("confidence, status", [(0.9, "fail"), (0.6, "review")])
def test_a_misheard_greeting_is_fined_only_when_heard_surely(pb, confidence, status) -> None:
    turns = replace(CLEAN_REPAIR, 0, "宜好，大龙公断报修，三零一号为民服务，请问您有什么问题？")
    audit = score_call(call(*turns, confidence=confidence, role_source="channel"), meta(), pb)
    assert audit.item("greeting").status == status
    assert ("nonstandard_phrase" in {f.code for f in audit.findings}) == (status == "fail")


def test_a_question_asked_only_after_the_resident_stops_the_closing_fails(pb) -> None:
    turns = CLEAN_REPAIR[:6] + [
        (A, "西园小区三号楼一单元四零二。请留一下联系电话？"),
        (C, "一三六一一二二三三四四。"),
        (A, "一三六一一二二三三四四。好！维修人员会尽快……"),
        (C, "哎，你还没问我叫啥呢。"),
        (A, "哦，不好意思。请问您的姓名？"),
        (C, "韩雪梅。"),
        (A, "韩雪梅。好！维修人员会尽快跟您联系。感谢您的来电。再见！")]
    audit = score_call(call(*turns), meta(), pb)
    assert audit.item("guide_name").status == "fail"
    assert "提醒" in audit.item("guide_name").reason
    assert audit.item("readback_name").status == "pass"


def test_a_short_reply_is_not_a_long_phrase_it_happens_to_be_part_of(pb) -> None:
    # "电话？" is inside the 忌语 "还有好多电话", but asks for the phone and nothing more.
    turns = replace(CLEAN_REPAIR, 8, "电话？")
    audit = score_call(call(*turns), meta(), pb)
    assert "impolite" not in {f.code for f in audit.findings}


def test_an_address_said_backwards_is_the_same_address(pb) -> None:
    from qa_audit.records import Ticket

    turns = replace(CLEAN_REPAIR, 5, "我们家是四零二，一单元，三号楼，西园小区。")
    ticket = Ticket(ticket_id="T1", seat="02", recorder="301", caller_name="韩雪梅",
                    caller_phone="13611223344", address="西园小区3号楼1单元402", category="不热")
    audit = score_call(call(*turns), meta(), pb, ticket=ticket)
    assert audit.item("address").status == "pass"
    assert audit.item("readback_address").status == "pass"


# --- blind set 8: ways of talking found by the eighth author --------------------------------

def test_a_cold_radiator_after_the_season_asked_about_is_an_enquiry(pb) -> None:
    turns = [
        (A, "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？"),
        (C, "你好，我想问一下，我家暖气从前天就凉了，是坏了还是咋回事？"),
        (A, "您好，今年供暖期是到三月十五日结束的，前天开始已经正常停暖了，不是您家暖气坏了。"),
        (C, "哦，停了啊？可这两天还挺冷的，就不能再烧几天吗？"),
        (A, "理解您的心情，停暖时间是统一规定的，我这边没法给您延长，天冷的话您注意保暖。"),
        (C, "行吧，那我知道了。"),
        (A, "好的，感谢您的来电。再见！"),
    ]
    audit = score_call(call(*turns), meta(started_at=datetime(2027, 3, 17, 9, 10)), pb)
    statuses = {i.id: i.status for i in audit.items}
    assert statuses.pop("greeting") == "pass" and statuses.pop("closing") == "pass"
    assert set(statuses.values()) == {"na"}
    assert audit.provenance.get("enquiry") is True
    assert audit.findings == []  # declining honestly is no invalid promise


def test_a_leak_after_the_season_is_still_a_repair(pb) -> None:
    turns = replace(CLEAN_REPAIR, 1, "你好，暖气不是停了吗，我家卧室暖气片怎么还漏水啊？")
    audit = score_call(call(*turns), meta(started_at=datetime(2027, 3, 16, 8, 40)), pb)
    assert "enquiry" not in audit.provenance
    assert audit.item("readback_address").status == "pass"


def test_extent_asked_or_told_by_the_rooms_is_severity(pb) -> None:
    unasked = replace(CLEAN_REPAIR, 2, "卧室暖气不热是吧。")
    # "别的屋还行": the resident tells how far it goes before being asked.
    told = replace(replace(unasked, 1, "我家暖气不热，厨房跟小卧室那俩片子是凉的，别的屋还行。"), 3, "嗯。")
    assert score_call(call(*told), meta(), pb).item("guide_severity").status == "pass"
    asked = replace(replace(unasked, 2, "暖气片上边热下边凉。是哪个屋的暖气片？几个屋都这样吗？"), 1,
                    "我家暖气不太热。")
    assert score_call(call(*asked), meta(), pb).item("guide_severity").status == "pass"
    neither = replace(unasked, 3, "就卧室。")
    assert score_call(call(*neither), meta(), pb).item("guide_severity").status == "fail"


def test_a_recognizer_running_a_readback_into_the_next_question_asks_no_severity(pb) -> None:
    turns = [(A, "您好大龙供暖报修301号为您服务请问您有什么问题"),
             (C, "你好我们家那个卧室的暖气漏水了"),
             (A, "卧室暖气漏水 请问您的具体地址"), *ASR_REPAIR[5:]]
    audit = score_call(call(*turns, role_source="channel"), meta(), pb)
    assert audit.item("guide_severity").status == "fail"
    assert audit.item("readback_problem").status == "pass"


def test_a_problem_read_back_by_its_facts_passes(pb) -> None:
    turns = CLEAN_REPAIR[:1] + [
        (C, "哎你好，我跟你说啊，我家这暖气，从年前就不怎么热，我找过物业，物业说找你们，结果……"),
        (A, "您就说现在什么问题吧。"),
        (C, "就是不热啊，客厅十七度，卧室也就十八度，我家老爷子……"),
        (A, "客厅十七度，卧室十八度。地址。"),
    ] + CLEAN_REPAIR[5:]
    audit = score_call(call(*turns), meta(), pb)
    assert audit.item("readback_problem").status == "pass"
    assert "impolite" in {f.code for f in audit.findings}  # "您就说…吧" cut her off
    skipped = replace(turns, 4, "请问您的具体地址？")
    assert score_call(call(*skipped), meta(), pb).item("readback_problem").status == "fail"


@pytest.mark.parametrize(("agent", "code"), [
    ("就暖气片下边那个，这个都不知道啊？自己家的暖气。", "impolite"),  # mocking
    ("这个您跟维修站说去，师傅几点去我们这边也管不了。", "impolite"),  # brushing off
    ("行，我给您备注一下，让师傅第一个先去您家。", "invalid_promise"),  # the station's order
    ("这样，我跟站里说一声，明天再单独给您家供两天暖，这几天的暖气费也给您退了。", "invalid_promise"),
    ("我给您备注一下，反馈给维修站，让他们尽快联系您。", None),
    ("停暖时间是统一规定的，我这边没法给您延长。", None),
    ("好的，我跟站里说去，让师傅再给您看看。", None),
    ("退费的话需要您去收费大厅办理，我们这边没法给您退费。", None),
])
def test_conduct_shapes(pb, agent, code) -> None:
    turns = CLEAN_REPAIR[:12] + [(A, agent), (C, "哦。"), CLEAN_REPAIR[12]]
    codes = {f.code for f in score_call(call(*turns), meta(), pb).findings}
    assert codes == ({code} if code else set())


def test_a_followup_opening_that_asks_how_it_is_now_asks_resolved(pb) -> None:
    turns = [(A, "喂，是刘女士吧？我这边供暖公司的，你家前两天报修那个暖气，现在咋样了？"),
             (C, "啊，是我。还是不太热，比之前强点儿。"), *FOLLOWUP[4:]]
    audit = score_call(call(*turns, call_id="f8"), meta(call_type="followup"), pb)
    assert audit.item("opening").status == "fail"
    assert audit.item("asked_resolved").status == "pass"
    assert audit.answers["resolved"] == "no"


def test_answers_volunteered_then_confirmed_back_count(pb) -> None:
    turns = [FOLLOWUP[0],
             (C, "方便方便。我跟你说，师傅来得挺快，人也挺客气，满意，没收钱，现在暖气也热了，挺好的。"),
             (A, "好的，问题解决了，对维修工满意，没有收费。您对我们的服务还有什么建议或意见吗？"),
             (C, "没啥意见，挺好。"), FOLLOWUP[-1]]
    audit = score_call(call(*turns, call_id="f9"), meta(call_type="followup"), pb)
    result = {i.id: i.status for i in audit.items if i.status != "pass"}
    assert result.pop("asked_rating") == "fail"
    assert set(result.values()) <= {"na"}
    assert audit.answers == {"resolved": "yes", "attitude": "satisfied", "charged": "no"}


def test_a_rating_corrected_by_the_resident_is_the_last_one(pb) -> None:
    turns = replace(FOLLOWUP, 9, "八分……算了，给九分吧，人家过年也不容易。")
    audit = score_call(call(*turns, call_id="f10"), meta(call_type="followup"), pb)
    assert audit.answers["rating"] == 9


def test_a_question_heard_with_one_syllable_misheard_is_review_and_still_answered(pb) -> None:
    # Whisper writes 解结 for 解决: the question may have been asked; a person listens.
    turns = replace(replace(FOLLOWUP, 2, "请问问题解结了吗?"), 3, "解结了,现在暖气挺热乎。")
    audit = score_call(call(*turns, call_id="f11", confidence=0.8, role_source="channel"),
                       meta(call_type="followup"), pb)
    assert audit.item("asked_resolved").status == "review"
    assert audit.answers["resolved"] == "yes"
    # Skipped altogether, it still fails.
    skipped = [t for i, t in enumerate(FOLLOWUP) if i not in (2, 3)]
    audit = score_call(call(*skipped, call_id="f12", confidence=0.8, role_source="channel"),
                       meta(call_type="followup"), pb)
    assert audit.item("asked_resolved").status == "fail"


@pytest.mark.parametrize(("reply", "confidence", "rating"), [
    ("就分吧。", 0.9, None),  # 六分 misheard: no number heard, none guessed
    ("七分吧。", 0.6, None),  # a number heard unsurely is left out
    ("七分吧。", 0.9, 7),
])
def test_a_rating_from_a_recognizer_is_kept_only_when_heard_surely(pb, reply, confidence,
                                                                   rating) -> None:
    turns = replace(FOLLOWUP, 9, reply)
    audit = score_call(call(*turns, call_id="f13", confidence=confidence, role_source="channel"),
                       meta(call_type="followup"), pb)
    assert audit.answers.get("rating") == rating
