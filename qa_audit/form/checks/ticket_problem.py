"""The ticket's problem (报修内容) against what the resident reported.

Spot-check criterion: the ticket's category and description say the fault the resident
described (a radiator that is cold, a leak), and every fault reported, so the station sends a
repairman ready for it. A kind the recognizer may have made up (冷水 for 漏水) is `review`.
"""

from __future__ import annotations

from qa_audit.form.facts import CallContext, problem_kinds
from qa_audit.form.registry import register
from qa_audit.form.ticket import against_ticket
from qa_audit.form.verdict import Verdict


# Kinds of problem a resident may call the same thing: 冰凉 is a very cold 不热.
_COMPATIBLE = {"冰凉": {"冰凉", "不热"}, "不热": {"不热", "冰凉"}}


# The faults a ticket must each carry: a cold radiator (不热, 冰凉, or the 测温 that checks
# it) is one, water coming out (漏水) another.
_FAULT = {"不热": "热", "冰凉": "热", "测温": "热", "漏水": "水"}


@register("ticket.problem", label="报修内容", scripts={"repair"}, needs={"ticket"},
          fact="problem")
@against_ticket("problem")
def check_ticket_problem(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    said_turns = ctx.problem_turns
    said = problem_kinds(ctx, "".join(t.text for t in said_turns))
    if not said:
        return Verdict("review", "无法从通话判断报修类别，请人工核对工单的报修内容", said_turns)
    accepted = set().union(*(_COMPATIBLE.get(k, {k}) for k in said))
    category = (ticket.category or "").strip()
    described = problem_kinds(ctx, ticket.description or "")
    problems = []
    if category and category != "其他" and category not in accepted:
        problems.append(f"工单类别「{category}」与住户所述（{'、'.join(sorted(said))}）不符")
    if not category and not described:
        problems.append("工单没有填写报修类别和内容")
    if described and not described & accepted:
        problems.append(f"工单内容「{ticket.description}」与住户所述不符")
    recorded = {_FAULT.get(k, k) for k in described | ({category} if category else set())}
    # Two faults reported (不热, and a drip under the radiator): the ticket must carry both.
    dropped = sorted(k for k in said if _FAULT.get(k, k) not in recorded)
    if recorded and not problems and dropped:
        problem = (f"住户还反映了「{'、'.join(dropped)}」，工单没有记下"
                   f"（工单：{category or ticket.description}）")
        if ctx.from_asr:
            # A recognizer's word for another fault (冷水 for 漏水) is no second fault.
            return Verdict("review", f"{problem}（可能是识别错误，请听录音确认）", said_turns)
        problems.append(problem)
    if problems:
        return Verdict("fail", "；".join(problems), said_turns)
    return Verdict("pass", f"工单报修内容与住户所述一致（{category or ticket.description}）",
                   said_turns)
