"""The follow-up script's questions (回访: 问题是否解决、维修工态度、是否收费、打分、建议).

Spot-check criterion: on a follow-up call the agent asks each question of the script, so
the company learns whether the repair worked, how the repairman behaved and whether he took
money. A question the resident already answered unasked, or one about a visit that never
happened, is `na`; a resident who cannot talk now and agrees a time makes every question
`na`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qa_audit.dialogue import Turn, closing_turns, first_with
from qa_audit.form.facts import CallContext, not_convenient
from qa_audit.form.registry import register
from qa_audit.form.verdict import Verdict
from qa_audit.normalize import normalize

if TYPE_CHECKING:
    from qa_audit.phrasebook import FormItem


# Questions about the repairman's visit: with no visit there is no attitude and no charge
# to ask about.
_ABOUT_THE_VISIT = ("attitude", "charged")
# "我家暖气根本就没人来修", "一个人影都没见着", "维修人员一直没上门" (not "没来得及", "没来之前").
_NO_VISIT = re.compile(r"(没有?人(来|上门|过来)|人影(都|也)?没|(师傅|维修工|维修人员|修理工|人)"
                       r"(根本|一直|压根儿?|也|都|就|还)*没有?(来|上门|过来|露面))(?!得及|之前|以前)")


def no_visit(ctx: CallContext) -> Turn | None:
    """The resident's turn saying the repairman never came, if the follow-up has one."""
    return next((t for t in ctx.customer() if _NO_VISIT.search(normalize(t.text))), None)


@register("asked.resolved", label="问题是否解决", scripts={"followup"})
@register("asked.attitude", label="维修工态度如何", scripts={"followup"})
@register("asked.charged", label="是否跟您收费", scripts={"followup"})
@register("asked.rating", label="为我们服务打分", scripts={"followup"})
@register("asked.suggestions", label="建议、意见", scripts={"followup"})
@register("asked.payment", label="收费工作已经开始", scripts={"followup"})
def check_followup_question(ctx: CallContext, item: FormItem) -> Verdict:
    slot = item.check.split(".", 1)[1]
    q = ctx.phrasebook.followup.questions[slot]
    asked = ctx.asked(slot)
    status = ctx.grade(asked.match.score)
    if status == "pass":
        return Verdict("pass", f"坐席询问了「{q.label}」", [asked.turn], asked.match.score)  # type: ignore[list-item]
    away = not_convenient(ctx)
    if away is not None:
        return Verdict("na", "住户不方便，已约定回访时间", [away])
    nobody = no_visit(ctx) if slot in _ABOUT_THE_VISIT else None
    if nobody is not None:
        return Verdict("na", f"住户反映维修人员没有上门，无从询问「{q.label}」", [nobody])
    volunteered = first_with(ctx.turns, "customer", q.volunteered) if q.volunteered else None
    # An answer right after what may have been the question ("请问问题解结了吗？" "解决了")
    # answers it: whether it was asked is for a person to hear, not volunteered.
    maybe_asked = status == "review" and asked.turn is not None
    if volunteered is not None and not (maybe_asked and volunteered.index > asked.turn.index):
        return Verdict("na", f"住户已主动说明，无需再问「{q.label}」", [volunteered])
    if status == "review":
        return Verdict("review", f"可能询问了「{q.label}」（匹配度{asked.match.score:.0f}），请人工确认",
                       [asked.turn], asked.match.score)  # type: ignore[list-item]
    return Verdict("fail", f"坐席没有询问「{q.label}」", closing_turns(ctx.turns)[:1],
                   asked.match.score)
