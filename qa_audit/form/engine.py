"""Filling in the spot-check form (录音抽查测评) for one call, with evidence for every verdict.

Each form item names a check (`opening`, `asked.phone`, `readback.address`, `ticket.station`,
…; see `registry`); a check reads the call's facts and gives `pass`, `fail`, `na` or
`review` with the utterances it rests on and a reason in the shift lead's words. Where the
machine cannot be sure (scores between the thresholds, roles inferred from one mono stream,
words the recognizer was unsure of) the item is `review`, never a guess. Then the findings:
those failed items raise, the finding checks' (conduct, timing), the follow-up answers'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qa_audit import __version__
from qa_audit.form.answers import FollowupAnswers, answer_value, followup_answers
from qa_audit.form.facts import CallContext
from qa_audit.form.findings import finding, nonstandard_opening, ticket_findings
from qa_audit.form.registry import finding_checks, get_check
from qa_audit.form.verdict import Verdict
from qa_audit.records import (CallAudit, CallMeta, Finding, ItemResult, Ticket, Transcript,
                              evidence_of)
from qa_audit.timing import is_timed, response_times

if TYPE_CHECKING:
    from qa_audit.phrasebook import Form, FormItem, Phrasebook


# Items the agent fails by leaving words unsaid: if no one in the call said them, who said
# what does not matter.
_SAID_OR_NOT = ("opening", "closing")


def _missing_whoever_spoke(ctx: CallContext, item: FormItem) -> bool:
    """Whether a failed opening, closing or follow-up question fails even with every word of
    the call taken as the agent's: then the fail does not rest on the roles a mono
    recording's voices were given (devset 209: the opening and the rating question are
    nowhere in the call)."""
    if item.check not in _SAID_OR_NOT and not (
            item.check.startswith("asked.") and ctx.script_kind == "followup"):
        return False
    slot = item.check.removeprefix("asked.")
    if slot in ctx.phrasebook.followup.answers or slot == "rating":
        # An answer said anywhere may be the resident volunteering it: not surely unasked.
        if any(answer_value(ctx, slot, u.text) is not None for u in ctx.transcript.utterances):
            return False
    everyone = ctx.transcript.model_copy(update={"utterances": [
        u.model_copy(update={"role": "agent"}) for u in ctx.transcript.utterances]})
    alone = CallContext(everyone, ctx.meta, ctx.phrasebook, ctx.ticket, ctx.ticket_guessed,
                        ctx.stations, ctx.tickets_given)
    return get_check(item.check).run(alone, item).status == "fail"


def _downgrade(ctx: CallContext, item: FormItem, verdict: Verdict) -> Verdict:
    """A `fail` that rests on uncertain roles or words a person must hear becomes `review`."""
    if verdict.status != "fail":
        return verdict
    m = ctx.phrasebook.matching
    if ctx.transcript.role_confidence < m.min_role_confidence and "ticket" not in get_check(
            item.check).needs and not _missing_whoever_spoke(ctx, item):
        return Verdict("review", f"{verdict.reason}（说话人由单声道推断，置信度"
                                 f"{ctx.transcript.role_confidence:.2f}，请人工确认）",
                       verdict.evidence, verdict.score)
    # A failed first sentence is also a fine (nonstandard_phrase): it needs the surer hearing
    # that fines need.
    bar = m.min_fine_confidence if item.check == "opening" else m.min_asr_confidence
    unsure = [t for t in verdict.evidence if t.utterance.confidence is not None
              and t.utterance.confidence < bar]
    if unsure:
        return Verdict("review", f"{verdict.reason}（识别置信度低：「{unsure[0].text}」，请听录音确认）",
                       verdict.evidence, verdict.score)
    return verdict


_ENQUIRY_ITEMS = ("asked.", "readback.", "ticket.")


def score_form(ctx: CallContext, form: Form) -> list[ItemResult]:
    items: list[ItemResult] = []
    for item in form.items:
        if ctx.is_enquiry and item.check.startswith(_ENQUIRY_ITEMS):
            verdict = Verdict("na", "咨询电话（住户未报修），本项不适用", ctx.customer()[:1])
        else:
            verdict = _downgrade(ctx, item, get_check(item.check).run(ctx, item))
        points = {"pass": item.points, "review": item.points, "fail": 0.0, "na": 0.0}[
            verdict.status]
        items.append(ItemResult(
            id=item.id, label=item.label, status=verdict.status, points=points,
            max_points=item.points, reason=verdict.reason,
            evidence=[evidence_of(t.utterance) for t in verdict.evidence if t is not None],
            match_score=None if verdict.score is None else round(verdict.score, 1)))
    return items


def score_call(transcript: Transcript, meta: CallMeta, phrasebook: Phrasebook, *,
               ticket: Ticket | None = None, ticket_guessed: bool = False,
               stations: Any = None, tickets_given: bool | None = None,
               extra_findings: Sequence[Finding] = ()) -> CallAudit:
    """Fill in the call's form. `meta.call_type` picks the form (repair when unknown)."""
    call_type = meta.call_type or "repair"
    meta = meta.model_copy(update={"call_type": call_type})
    form = phrasebook.form_for(call_type)
    ctx = CallContext(transcript, meta, phrasebook, ticket, ticket_guessed, stations,
                      tickets_given=ticket is not None if tickets_given is None else tickets_given)
    items = score_form(ctx, form)
    findings = list(extra_findings)
    if ctx.cut_off:
        # The line dropped before the intake was complete: there was nothing to ticket yet
        # (the resident calls again); a missing ticket is no fault of this call.
        findings = [f for f in findings if f.code != "missing_ticket"]
    opening = next((i for i in items if form_check(form, i.id) == "opening"), None)
    if opening is not None and opening.status == "fail":
        findings.append(nonstandard_opening(phrasebook, opening))
    for spec in finding_checks():
        if all(_has(ctx, need) for need in spec.needs):
            findings += spec.run(ctx)
    answers = FollowupAnswers()
    if call_type == "followup":
        answers = followup_answers(ctx)
        if answers.values.get("charged") == "yes":
            findings.append(finding(phrasebook, "repairman_charged", "回访中住户反映维修工收费",
                                    answers.sources["charged"]))
        for item in items:
            if form_check(form, item.id).removeprefix("asked.") in answers.unheard:
                item.reason += "；住户的回答未听清"
    if ticket is not None:
        findings += ticket_findings(ctx, form, items)
    max_score = sum(i.max_points for i in items if i.status != "na")
    return CallAudit(
        call_id=transcript.call_id, agent_id=meta.agent_id, call_type=call_type, form=form.id,
        score=sum(i.points for i in items), max_score=max_score, items=items, findings=findings,
        answers=answers.values, unheard=answers.unheard, started_at=meta.started_at,
        response_times=response_times(transcript) if is_timed(transcript) else None,
        ticket_id=ticket.ticket_id if ticket else meta.ticket_id,
        station=ticket.station if ticket else None, audio=transcript.audio,
        provenance={"qa_audit": __version__, "form": f"{form.id}@{form.version}",
                    "phrasebook": phrasebook.version,
                    "transcript": dict(transcript.provenance),
                    "role_source": transcript.role_source,
                    **({"enquiry": True} if ctx.is_enquiry else {}),
                    "role_confidence": transcript.role_confidence,
                    **({"ticket_match": "guessed"} if ticket_guessed else {})})


def form_check(form: Form, item_id: str) -> str:
    return next(i.check for i in form.items if i.id == item_id)


def _has(ctx: CallContext, need: str) -> bool:
    """Whether the call gives what a check needs (see `registry`)."""
    return {"transcript": True, "ticket": ctx.ticket is not None,
            "stations": ctx.stations is not None, "audio": is_timed(ctx.transcript),
            "stereo": ctx.transcript.role_source == "channel"}[need]
