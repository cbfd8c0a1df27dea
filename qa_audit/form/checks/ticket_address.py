"""The ticket's address (住址) against the address the resident gave.

Spot-check criterion: the ticket's community and house numbers are those the resident said
(a floor or a neighbour added by the resident is no difference), so the repairman comes to the
right door. A wrong address is a fine (wrong_address); one digit off on recognizer output
is `review`.
"""

from __future__ import annotations

from qa_audit.dialogue import without_phone
from qa_audit.dispatch import community_of, house_numbers, place_said, same_house
from qa_audit.form.facts import CallContext
from qa_audit.form.registry import register
from qa_audit.form.ticket import against_ticket, fine_doubt, readback_of
from qa_audit.form.verdict import Verdict
from qa_audit.normalize import normalize, to_simplified


def _contains_run(numbers: list[str], run: list[str]) -> bool:
    """Whether the recorded numbers all appear, in order, among those said: a resident adds
    a floor ("四单元一楼一零一") or a neighbour ("楼上是五零一") that the ticket leaves out."""
    it = iter(numbers)
    return bool(run) and all(any(n == r for n in it) for r in run)


@register("ticket.address", label="住址", scripts={"repair"}, finding="wrong_address",
          needs={"ticket"}, fact="address")
@against_ticket("address")
def check_ticket_address(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    said = ctx.address_turn
    recorded = ticket.address or ""
    if not normalize(recorded):
        return Verdict("fail", "工单没有填写住址", [said] if said else [])
    if said is None:
        return Verdict("review", "通话中找不到住户的地址，无法核对工单住址")
    problems = []
    said_text = ctx.address_text or said.text
    said_numbers, recorded_numbers = house_numbers(said_text), house_numbers(recorded)
    if said_numbers != recorded_numbers and not _contains_run(said_numbers, recorded_numbers) \
            and not same_house(said_text, recorded):
        problems.append(f"门牌号{'-'.join(recorded_numbers) or '（无）'}与住户所说"
                        f"{'-'.join(said_numbers) or '（无）'}不符")
    said_place, recorded_place = _place(ctx, said_text), _place(ctx, recorded)
    if said_place and recorded_place and said_place != recorded_place:
        problems.append(f"小区「{community_of(recorded)}」与住户所说「{community_of(said_text)}」不符")
    if not problems:
        return Verdict("pass", "工单住址与住户所说一致", [said])
    echo = readback_of(ctx, said)
    # The ticket took the other flat the resident mentioned (her own 603, not the neighbour's
    # 604 she reported for): a mix-up of two numbers both heard, not a mishearing of one.
    mentioned = set(house_numbers(without_phone(said.text)))
    one_off = len(said_numbers) == len(recorded_numbers) and sum(
        a != b for a, b in zip(said_numbers, recorded_numbers)) == 1 and not (
        set(recorded_numbers) <= mentioned)
    doubt = fine_doubt(ctx, said, echo, complete=len(said_numbers) >= len(recorded_numbers),
                       alike=one_off and said_place == recorded_place,
                       echo_agrees=echo is not None and house_numbers(
                           to_simplified(without_phone(echo.text))) == said_numbers)
    if doubt:
        return Verdict("review", "；".join(problems) + f"（{doubt}，请听录音确认）",
                       [said] + ([echo] if echo else []))
    return Verdict("fail", "；".join(problems), [said])


def _place(ctx: CallContext, address: str) -> str | None:
    """The community an address is in, by the station directory; else its written name."""
    if ctx.stations is not None:
        match = ctx.stations.station_for_address(address)
        if match is not None and match.score >= ctx.pass_at:
            return match.community
        return None
    name = normalize(place_said(address))
    return name or None
