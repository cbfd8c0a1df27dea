"""The station the ticket was sent to (选对维修站).

Spot-check criterion: the ticket goes to the station that serves the resident's community by
the station directory (--stations); without the directory the item is `na`. A wrong station
is a fine (wrong_station); a community matched only partly, or on recognizer output, is
`review`.
"""

from __future__ import annotations

from qa_audit.form.facts import CallContext
from qa_audit.form.registry import register
from qa_audit.form.ticket import against_ticket
from qa_audit.form.verdict import Verdict
from qa_audit.normalize import normalize


def _station_key(name: str) -> str:
    return normalize(name).removesuffix("维修站").removesuffix("站")


@register("ticket.station", label="选对维修站", scripts={"repair"},
          finding="wrong_station", needs={"ticket", "stations"})
@against_ticket("station")
def check_ticket_station(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    if ctx.stations is None:
        return Verdict("na", "需要维修站目录才能评定（--stations）")
    if not normalize(ticket.station or ""):
        return Verdict("fail", "工单没有填写维修站")
    said = ctx.address_turn
    source = (ctx.address_text or said.text) if said is not None else ticket.address or ""
    match = ctx.stations.station_for_address(source)
    if match is None and said is not None:
        match = ctx.stations.station_for_address(ticket.address or "")
    evidence = [said] if said else []
    if match is None:
        return Verdict("review", f"维修站目录中找不到该地址所属的小区，请人工核对「{ticket.station}」",
                       evidence)
    right = _station_key(match.station) == _station_key(ticket.station or "")
    if match.score < ctx.pass_at:
        return Verdict("review", f"地址与小区「{match.community}」只部分匹配（{match.score:.0f}），"
                                 f"应派{match.station}，工单派{ticket.station}，请人工确认", evidence)
    if right:
        return Verdict("pass", f"{match.community}由{match.station}负责，派单正确", evidence)
    if ctx.from_asr and match.score < 100:
        return Verdict("review", f"识别出的地址像是「{match.community}」（{match.station}负责，匹配度"
                                 f"{match.score:.0f}），工单派{ticket.station}，请听录音确认", evidence)
    return Verdict("fail", f"{match.community}由{match.station}负责，工单却派给{ticket.station}",
                   evidence)
