"""The ticket's phone (电话) against the number the resident gave.

Spot-check criterion: the ticket carries a number the resident gave (of two, either), so the
repairman can call. Digits are compared as digits; a number the recognizer may have cut
short is `review`. A wrong number is a fine (wrong_phone).
"""

from __future__ import annotations

from qa_audit.dialogue import correction_of, phone_in
from qa_audit.dispatch import phone_numbers, same_phone
from qa_audit.form.facts import CallContext
from qa_audit.form.registry import register
from qa_audit.form.ticket import against_ticket, fine_doubt, readback_of
from qa_audit.form.verdict import Verdict
from qa_audit.normalize import is_subsequence


@register("ticket.phone", label="电话", scripts={"repair"}, finding="wrong_phone",
          needs={"ticket"}, fact="phone")
@against_ticket("phone")
def check_ticket_phone(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    said = ctx.phone_turn
    numbers = phone_numbers(ticket.caller_phone or "")
    if not numbers:
        return Verdict("fail", "工单没有填写联系电话", [said] if said else [])
    if said is None:
        return Verdict("review", "通话中找不到住户的电话号码，无法核对工单电话")
    # A resident may give two numbers (a mobile and a landline) and the ticket keep one or
    # both; a number said and then corrected ("不对，是…") is not one of them.
    given = [t for t in ctx.customer() if phone_in(t.text)]
    kept = [t for i, t in enumerate(given)
            if not any(correction_of(u.text) for u in given[i + 1:])]
    for t in kept or [said]:
        if any(same_phone(phone_in(t.text), n) for n in numbers):
            return Verdict("pass", "工单电话与住户所说一致", [t])
    heard = phone_in(said.text)
    recorded = next((n for n in numbers if len(n) == len(heard)), numbers[0])
    echo = readback_of(ctx, said)
    echoed = phone_in(echo.text) if echo else ""
    # A mobile number has 11 digits; a recognizer drops digits more often than it invents
    # them in the right order.
    complete = len(heard) == len(recorded) or not (
        recorded.startswith("1") or is_subsequence(heard, recorded))
    doubt = fine_doubt(ctx, said, echo, complete=complete,
                       echo_agrees=bool(echoed) and same_phone(echoed, heard))
    if doubt:
        return Verdict("review", f"工单电话{recorded}与识别出的{heard}不同，{doubt}，请听录音确认",
                       [said] + ([echo] if echo else []))
    return Verdict("fail", f"工单电话{recorded}与住户所说{heard}不符", [said])
