"""Guided questions of the repair script (引导故障位置、故障程度、姓名、电话).

Spot-check criterion: the agent leads the resident through where the fault is, how bad it
is, the name and the phone, so the repairman arrives knowing what to bring and whom to call.
A fact the resident gave before it was asked needs no question (pass); a question asked
only after the closing began, because the resident stopped it, came too late (fail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa_audit.dialogue import Turn, closing_turns, next_turns
from qa_audit.form.facts import CallContext, closing_said
from qa_audit.form.registry import register
from qa_audit.form.verdict import Verdict
from qa_audit.matching import contains_any
from qa_audit.normalize import normalize

if TYPE_CHECKING:
    from qa_audit.phrasebook import FormItem


_VOLUNTEER_LABEL = {"location": "故障位置", "severity": "故障程度", "name": "姓名", "phone": "电话",
                    "address": "地址"}


def _volunteered(ctx: CallContext, slot: str) -> Turn | None:
    """The resident's turn that gave the fact before the agent asked for it."""
    asked = ctx.asked(slot)
    # A fact offered only after the agent's closing ("你不记我名字啊？") was never asked for.
    closing = closing_said(ctx)
    before = asked.turn.index if asked.turn is not None and asked.match.score >= ctx.pass_at \
        else closing[0].index if closing else len(ctx.turns)
    if slot == "phone":
        t = ctx.phone_turn
        return t if t is not None and t.index < before else None
    q = ctx.phrasebook.repair.questions[slot]
    if slot in ("location", "severity"):
        pool = [t for t in ctx.problem_turns if t.index < before]
    else:
        pool = [t for t in ctx.customer() if t.index < before]
    return next((t for t in pool if contains_any(q.volunteered, t.text)), None)


def _closing_started(ctx: CallContext) -> Turn | None:
    """The first agent turn that begins the closing, even if cut off ("好！维修人员会尽快……"):
    it holds the opening words of one of the closing's longer phrases."""
    section = ctx.phrasebook.scripts[ctx.script_kind].closing
    starts = [normalize(p)[:6] for part in section.parts for p in part.phrases if len(p) >= 4]
    return next((t for t in ctx.agent() if contains_any(starts, t.text)), None)


@register("asked.location", label="引导故障位置", scripts={"repair"}, fact="location")
@register("asked.severity", label="引导故障程度", scripts={"repair"}, fact="severity")
@register("asked.name", label="引导姓名", scripts={"repair"}, fact="name")
@register("asked.phone", label="引导电话", scripts={"repair"}, fact="phone")
def check_guided(ctx: CallContext, item: FormItem) -> Verdict:
    slot = item.check.split(".", 1)[1]
    asked = ctx.asked(slot)
    label = _VOLUNTEER_LABEL[slot]
    status = ctx.grade(asked.match.score)
    if status == "pass":
        started = _closing_started(ctx) if slot in ("name", "phone", "address") else None
        if started is not None and asked.turn is not None and asked.turn.index > started.index:
            # "哎，你还没问我叫啥呢" — asked only because the resident stopped the closing.
            return Verdict("fail", f"坐席开始结束语时还没有询问{label}，住户提醒后才问",
                           [started, asked.turn], asked.match.score)
        return Verdict("pass", f"坐席询问了{label}", [asked.turn], asked.match.score)  # type: ignore[list-item]
    volunteered = _volunteered(ctx, slot)
    if volunteered is not None:
        # The agent lost nothing: the fact was given before it had to be asked for.
        return Verdict("pass", f"住户已主动说明{label}，无需引导", [volunteered], asked.match.score)
    if status == "review":
        return Verdict("review", f"坐席可能询问了{label}（「{asked.match.phrase}」匹配度"
                                 f"{asked.match.score:.0f}），请人工确认",
                       [asked.turn], asked.match.score)  # type: ignore[list-item]
    return Verdict("fail", f"坐席没有引导住户说明{label}", _where_expected(ctx, slot),
                   asked.match.score)


def _where_expected(ctx: CallContext, slot: str) -> list[Turn]:
    """Evidence for a question that was never asked: the agent turns where it belonged."""
    if slot in ("location", "severity"):
        window = [t for t in ctx.turns if t.index <= (ctx.problem_turns[-1].index + 1
                                                      if ctx.problem_turns else 1)]
    elif slot == "name" and ctx.address_turn is not None:
        window = next_turns(ctx.turns, ctx.address_turn, "agent", 2)
    elif slot == "phone":
        anchor = ctx.name_turn or ctx.address_turn
        window = next_turns(ctx.turns, anchor, "agent", 2) if anchor else []
    else:
        window = []
    agent = [t for t in window if t.role == "agent"]
    return agent[-2:] or closing_turns(ctx.turns)
