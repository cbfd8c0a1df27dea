"""The resident's answers to the follow-up questions (a–d): resolved, attitude, charged, rating.

Answers come in the shapes residents say them: a bare 没有/是的 opening a longer reply
answers, a hedged rating (八九分) takes the lower number, a degree word inside a negation
(没怎么解决) still negates. On recognizer output a word with one syllable misheard still
answers, a rating heard unsurely does not, and a question surely asked whose reply cannot be
made out is recorded as unheard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qa_audit.dialogue import Turn, clauses, first_with, question_score, reply_to
from qa_audit.form.facts import CallContext
from qa_audit.matching import contains_any, near_sound
from qa_audit.normalize import normalize, to_simplified


_RATING = re.compile(r"(10|[1-9])分")
# Two neighbouring numbers (七八分, 八九分, 九十分 as 9–10): the lower one is the rating, so a
# hedged answer is not counted higher than the resident gave.
_RATING_RANGE = re.compile(r"(?<![0-9])([1-8])([2-9])分|(?<![0-9])(9)(?:10|0)分")
# A bare number as the whole answer ("九。" "八吧"), not a 1 inside 一个 ("你们一个公司的").
_BARE_RATING = re.compile(r"(?:给|打|就)?(10|[1-9])(?:吧|啊|呀|呗|的)?")
# Between two ratings, the resident changes their mind ("八分……算了，给九分吧").
_RATING_CORRECTED = re.compile(r"算了|不对|还是|改成|改|那就|再加|给")
_ANSWER_FILLER = re.compile(r"[啊吧呀呢的了哦嗯]+$")
# A degree word inside a negation ("没怎么解决", "没彻底解决", "不大满意") still negates.
_NEG_DEGREE = re.compile(r"(没有?|不)(怎么|太|大|完全|彻底|咋)(?=解决|修好|热|满意)")
# Whole-answer words that also open a reply as a mere filler ("嗯，我想想"): they answer only
# as the whole reply, not as its first clause.
_FILLER_ANSWERS = frozenset({"嗯", "哦", "啊"})


def answer_has(words: Sequence[str], reply: str) -> bool:
    """Whether a reply uses one of the words. "=是" means the whole reply is 是, or its first
    clause is, with more said after it: "没有，还是在滴水" answers no, "是的，就是慢了点" yes."""
    def whole(text: str) -> str:
        return _ANSWER_FILLER.sub("", normalize(text)) or normalize(text)

    answers = {normalize(w[1:]) for w in words if w.startswith("=")}
    first = clauses(reply)[0]
    said = {whole(reply)} | ({whole(first)} - _FILLER_ANSWERS)
    inside = [w for w in words if not w.startswith("=")]
    return bool(said & answers) or bool(contains_any(inside, reply))


def rating_in(text: str) -> int | None:
    """The 1–10 rating a reply gives: 八分, 打个八分, 八九分 (the lower), 满分, a bare 九, or
    the one a resident corrects to (八分……算了，给九分吧)."""
    n = normalize(text)
    if "满分" in n:
        return 10
    hedged = _RATING_RANGE.search(n)
    if hedged:
        return int(hedged.group(1) or hedged.group(3))
    said = list(_RATING.finditer(n))
    if len(said) > 1 and _RATING_CORRECTED.search(n, said[0].end(), said[-1].start()):
        return int(said[-1].group(1))  # "八分……算了，给九分吧": the corrected one
    m = said[0] if said else _BARE_RATING.fullmatch(n)
    return int(m.group(1)) if m else None


def answer_value(ctx: CallContext, slot: str, text: str) -> Any:
    if slot == "rating":
        return rating_in(text)
    vocab = ctx.phrasebook.followup.answers[slot]
    text = _NEG_DEGREE.sub(r"\1", to_simplified(text))
    return next((v for v, words in vocab.items() if answer_has(words, text)), None)


@dataclass
class FollowupAnswers:
    """The resident's answers to questions a–d, the turns each came from, and the questions
    asked whose answer the recognizer did not make out."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, list[Turn]] = field(default_factory=dict)
    unheard: list[str] = field(default_factory=list)


def followup_answers(ctx: CallContext) -> FollowupAnswers:
    """The resident's answers to questions a–d, with the turns they come from: the reply to
    each time the agent asked (a second asking when the first reply was "啥？"), or what the
    resident volunteered when the agent did not ask. On recognizer output, a question surely
    asked and replied to, whose reply gives no answer that can be made out, is `unheard`."""
    questions = ctx.phrasebook.followup.questions
    found = FollowupAnswers()
    for slot in ("resolved", "attitude", "charged", "rating"):
        q = questions[slot]
        scored = [(question_score(q.phrases, t.text).score, t) for t in ctx.agent()]
        # Surely asked first; then where it may have been asked ("请问问题解结了吗？").
        surely = [t for s, t in scored if s >= ctx.pass_at]
        asking = surely + [t for s, t in scored if ctx.fail_at < s < ctx.pass_at]
        candidates = [reply_to(ctx.turns, t) for t in asking]
        if q.volunteered:
            # Answered before the question, or the question only seemed asked ("…，没有收费。"
            # confirms what was volunteered): what the resident volunteered answers it.
            said = first_with(ctx.turns, "customer", q.volunteered)
            candidates += [[said]] if said is not None else []
        for replies in candidates:
            value = _heard_answer(ctx, slot, replies)
            if value is not None:
                found.values[slot], found.sources[slot] = value, replies
                break
        else:
            if ctx.from_asr and any(reply_to(ctx.turns, t) for t in surely):
                found.unheard.append(slot)
    return found


def _heard_answer(ctx: CallContext, slot: str, replies: list[Turn]) -> Any:
    """The answer in the replies. On recognizer output, a word heard with one syllable
    misheard ("解结了" for 解决了) still answers; a rating heard unsurely is left out, as a
    number is one syllable a recognizer easily mishears (就分 for 六分)."""
    text = "".join(t.text for t in replies)
    value = answer_value(ctx, slot, text)
    if not ctx.from_asr:
        return value
    if slot == "rating":
        bar = ctx.phrasebook.matching.min_fine_confidence
        unsure = any(t.utterance.confidence is not None and t.utterance.confidence < bar
                     for t in replies)
        return None if unsure else value
    if value is None:
        vocab = ctx.phrasebook.followup.answers[slot]
        value = next((v for v, words in vocab.items()
                      if any(near_sound(w, text) for w in words if not w.startswith("="))), None)
    return value
