"""Findings (fines) raised by the form's verdicts: a failed first sentence
(nonstandard_phrase), a ticket field entered wrong (wrong_name, wrong_phone, wrong_address,
wrong_station: the finding its check declares in the registry), and a follow-up resident who
says the repairman took money (repairman_charged)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa_audit.dialogue import Turn
from qa_audit.form.registry import finding_of
from qa_audit.form.ticket import ticket_value
from qa_audit.records import Finding, ItemResult, evidence_of

if TYPE_CHECKING:
    from qa_audit.form.facts import CallContext
    from qa_audit.phrasebook import Form, Phrasebook


def nonstandard_opening(pb: Phrasebook, opening: ItemResult) -> Finding:
    """The fine for a failed first sentence (nonstandard_phrase), on the opening item."""
    return Finding(code="nonstandard_phrase", fine_yuan=pb.fine("nonstandard_phrase"),
                   detail=f"开头语不规范：{opening.reason}", evidence=opening.evidence,
                   item=opening.id, serious=pb.is_serious("nonstandard_phrase"))


def finding(pb: Phrasebook, code: str, detail: str, evidence: Sequence[Turn],
            item: str | None = None) -> Finding:
    return Finding(code=code, fine_yuan=pb.fine(code), detail=detail,
                   evidence=[evidence_of(t.utterance) for t in evidence], item=item,
                   serious=pb.is_serious(code))


def ticket_findings(ctx: CallContext, form: Form, items: list[ItemResult]) -> list[Finding]:
    """wrong_name / wrong_phone / wrong_address / wrong_station for the ticket items that fail."""
    pb = ctx.phrasebook
    checks = {i.id: i.check for i in form.items}
    out = []
    recorded = {"wrong_name": ticket_value(ctx, "caller_name"),
                "wrong_phone": ticket_value(ctx, "caller_phone"),
                "wrong_address": ticket_value(ctx, "address"),
                "wrong_station": ticket_value(ctx, "station")}
    for item in items:
        check = checks.get(item.id, "")
        code = finding_of(check) if check.startswith("ticket.") else None
        # An empty field costs the item's points; it is not a wrong entry to be fined.
        if code and item.status == "fail" and recorded[code]:
            out.append(Finding(code=code, fine_yuan=pb.fine(code), detail=item.reason,
                               evidence=item.evidence, item=item.id, serious=pb.is_serious(code)))
    return out
