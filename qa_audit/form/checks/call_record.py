"""The call record's own fields: the seat (机位), the recorder (记载人) and the address written
in the example format (住址示例修改).

Spot-check criterion: the agent fills in who took the call and where, and writes the address
as the examples do (小区+楼号+单元+房号; a shop: 街道+门牌号+店名), so tickets can be traced and
sorted. These are read off the ticket alone.
"""

from __future__ import annotations

import re
import unicodedata

from qa_audit.form.facts import CallContext
from qa_audit.form.registry import register
from qa_audit.form.ticket import against_ticket
from qa_audit.form.verdict import Verdict


def _check_filled(ctx: CallContext, field: str, label: str) -> Verdict:
    value = getattr(ctx.ticket, field) or ""
    if str(value).strip():
        return Verdict("pass", f"工单已填写{label}：{value}")
    return Verdict("fail", f"工单没有填写{label}")


@register("ticket.seat", label="机位", scripts={"repair"}, needs={"ticket"})
@against_ticket("seat")
def check_seat(ctx: CallContext) -> Verdict:
    return _check_filled(ctx, "seat", "机位")


@register("ticket.recorder", label="记载人", scripts={"repair"}, needs={"ticket"})
@against_ticket("recorder")
def check_recorder(ctx: CallContext) -> Verdict:
    return _check_filled(ctx, "recorder", "记载人")


@register("ticket.address_format", label="住址示例修改", scripts={"repair"},
          needs={"ticket"})
@against_ticket("address_format")
def check_address_format(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    text = unicodedata.normalize("NFKC", ticket.address or "").replace(" ", "")
    pattern = ctx.phrasebook.repair.facts.address_format
    if re.fullmatch(pattern, text):
        return Verdict("pass", "工单住址符合示例格式（小区+楼号+单元+房号；临街商铺为街道+门牌号+店名）")
    return Verdict("fail", f"工单住址「{ticket.address}」不符合示例格式，应写作如"
                           "「宏城花园11号楼2单元503」")
