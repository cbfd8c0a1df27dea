"""The resident's answers to a follow-up's questions in the shapes people say them: a bare
no or yes with more said after it, hedged and roundabout ratings, and an answer the
recognizer did not make out, which is marked so rather than silently missing."""

from __future__ import annotations

import pytest
from conftest import FOLLOWUP_CLOSING, FOLLOWUP_OPENING, call, meta

from qa_audit.form.answers import rating_in
from qa_audit.form.engine import score_call


def _followup(resolved: str, rating: str, *, confidence: float | None = None):
    return call(FOLLOWUP_OPENING, ("c", "方便。"), ("a", "请问问题解决了吗？"), ("c", resolved),
                ("a", "维修工态度如何？"), ("c", "挺好的。"), ("a", "跟您收费了吗？"), ("c", "没有。"),
                ("a", "请您为我们的服务打分，一到十分。"), ("c", rating),
                ("a", "您对我们的服务还有什么建议或意见吗？"), ("c", "没有。"), FOLLOWUP_CLOSING,
                call_id="20261111_103020_305_followup_900", confidence=confidence,
                role_source="given" if confidence is None else "channel")


@pytest.mark.parametrize("reply, expected", [
    ("没有，还是在滴水。", "no"),            # a bare no, then the problem going on
    ("没，暖气片还是冰凉的。", "no"),
    ("是的，就是师傅来得晚了点。", "yes"),   # a yes with a qualification
    ("对，现在挺好。", "yes"),
    ("嗯，我想想啊，还是不太热。", "no"),    # 嗯 opens the reply; the words that follow answer
])
def test_a_bare_answer_followed_by_more_words_answers_the_question(pb, reply, expected):
    audit = score_call(_followup(reply, "十分。"), meta("followup", "305"), pb)
    assert audit.answers.get("resolved") == expected


def test_a_filler_that_opens_a_reply_is_no_answer(pb):
    reply = "嗯，我想想，这个怎么说呢。"
    audit = score_call(_followup(reply, "十分。"), meta("followup", "305"), pb)
    assert "resolved" not in audit.answers


@pytest.mark.parametrize("reply, rating", [
    ("六分吧。", 6), ("打个八分。", 8), ("给你们打八分吧。", 8), ("八九分吧。", 8),
    ("七八分。", 7), ("九十分吧。", 9), ("满分。", 10), ("八分……算了，给九分吧。", 9), ("十分。", 10),
    ("九。", 9),
])
def test_ratings_in_the_shapes_residents_say_them(reply, rating):
    assert rating_in(reply) == rating


def test_a_rating_the_recognizer_heard_unsurely_is_unheard_not_a_silent_zero(pb):
    """六分吧 heard as 分吧 (confidence low): no rating is counted, and the call says which
    answer was not made out, on the item too."""
    audit = score_call(_followup("解决了。", "分吧。", confidence=0.3), meta("followup", "305"), pb)
    assert "rating" not in audit.answers
    assert audit.unheard == ["rating"]
    item = audit.item("asked_rating")
    assert item.status == "pass" and "未听清" in item.reason


def test_a_rating_heard_surely_is_not_unheard(pb):
    audit = score_call(_followup("解决了。", "八分吧。", confidence=0.95),
                       meta("followup", "305"), pb)
    assert audit.answers["rating"] == 8 and audit.unheard == []
