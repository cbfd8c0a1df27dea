"""Holding the ticket against the call: the frame every ticket check shares.

Phones and house numbers are compared as digits, not characters. When the transcript comes
from speech recognition, a difference the recognizer could have caused (a homophone in a
name, one digit) is `review`, not a fine (`fine_doubt`); when the resident's words and the agent's
read-back agree with each other and not with the ticket, it is a `fail`.

`against_ticket` turns a check of one ticket field into a form item's check: no ticket is
`na` (or a fail when the export was given and holds none for this repair call), a verdict
without evidence points where the fact was said, and a fail on a ticket matched only by
agent and time is `review`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from qa_audit.dialogue import Turn, closing_turns, next_turns, opening_turns
from qa_audit.form.facts import CallContext
from qa_audit.form.verdict import Verdict
from qa_audit.normalize import normalize

if TYPE_CHECKING:
    from qa_audit.form.registry import ItemCheck
    from qa_audit.phrasebook import FormItem


def readback_of(ctx: CallContext, said: Turn) -> Turn | None:
    following = next_turns(ctx.turns, said, "agent", 2)
    return following[0] if following else None


def fine_doubt(ctx: CallContext, said: Turn, echo: Turn | None, *, complete: bool,
               echo_agrees: bool, alike: bool = False) -> str | None:
    """Why a difference between a recognizer's hearing and the ticket cannot be fined, or
    None when it can (or the words come from a person).

    A fine needs two hearings of the fact, the resident's words and the agent's read-back,
    that are complete, agree with each other, were heard with confidence, and differ from
    the ticket in a way a recognizer would not produce (`alike`: sounds close to the ticket)."""
    if not ctx.from_asr:
        return None
    if not complete:
        return "识别出的内容不完整，可能是识别错误"
    if alike:
        return "与工单读音相近，可能是识别错误"
    if echo is None or not echo_agrees:
        return "坐席跟读未能印证识别结果"
    bar = ctx.phrasebook.matching.min_fine_confidence
    low = [t.utterance.confidence for t in (said, echo)
           if t.utterance.confidence is not None and t.utterance.confidence < bar]
    if low:
        return f"识别置信度低（{min(low):.2f}）"
    return None


def _where_said(ctx: CallContext, field: str) -> list[Turn]:
    """The call's turns a ticket verdict rests on when the ticket alone decided it: where the
    resident gave the fact (or, when never given, where the agent should have asked), and for
    seat/recorder the agent's answering of the call."""
    said = {"name": ctx.name_turn, "phone": ctx.phone_turn, "address": ctx.address_turn,
            "address_format": ctx.address_turn, "station": ctx.address_turn}.get(field)
    if said is not None:
        return [said]
    if field in ("seat", "recorder"):
        return opening_turns(ctx.turns)[:1]
    if field == "problem":
        return ctx.problem_turns[:1]
    return closing_turns(ctx.turns)[:1]


def against_ticket(field: str) -> Callable[[Callable[[CallContext], Verdict]], ItemCheck]:
    """The form item's check for a check of the ticket's `field` (see the module's doc)."""
    def wrap(check: Callable[[CallContext], Verdict]) -> ItemCheck:
        @functools.wraps(check)
        def run(ctx: CallContext, item: FormItem) -> Verdict:
            if ctx.ticket is None and ctx.tickets_given and ctx.script_kind == "repair":
                said = {"problem": ctx.problem_turns[:1], "name": [ctx.name_turn],
                        "phone": [ctx.phone_turn]}.get(field, [ctx.address_turn])
                return Verdict("fail", "没有找到本通报修电话的工单（工单导出中无此录音编号，也无同坐席同时段的工单）",
                               [t for t in said if t is not None] or opening_turns(ctx.turns)[:1])
            if ctx.ticket is None:
                return Verdict("na", "需要工单数据才能评定（--tickets）")
            verdict = check(ctx)
            if not verdict.evidence and verdict.status in ("fail", "review"):
                verdict.evidence = _where_said(ctx, field)
            if ctx.ticket_guessed and verdict.status == "fail":
                verdict.status = "review"
                verdict.reason += "（工单按坐席和时间推测匹配，请确认是否为本通电话的工单）"
            return verdict
        return run
    return wrap


def ticket_value(ctx: CallContext, field: str) -> str:
    return normalize(str(getattr(ctx.ticket, field, "") or "")) if ctx.ticket else ""
