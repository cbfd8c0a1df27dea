"""From inputs to filled-in forms: transcripts (or recordings), call records, tickets, stations.

Shared by `qa-audit score` and `qa-audit audit`: finding the inputs, loading the dispatch
data once, and auditing one transcript with everything known about its call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qa_audit.callmeta import (AUDIO_SUFFIXES, DEFAULT_PATTERN, CallRecords, load_calls,
                               resolve_meta)
from qa_audit.dispatch import (DispatchRules, StationDirectory, TicketSet, cdr_findings,
                               load_stations, load_tickets)
from qa_audit.errors import InputError
from qa_audit.phrasebook import Phrasebook
from qa_audit.records import CallAudit, CallMeta, Ticket, Transcript
from qa_audit.form.engine import score_call

if TYPE_CHECKING:
    from qa_audit.transcribe import Transcriber

TRANSCRIPT_SUFFIXES = frozenset({".json"})


def collect_inputs(paths: Iterable[Path]) -> list[Path]:
    """Files named on the command line, and the transcripts and recordings inside folders."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix.lower() in TRANSCRIPT_SUFFIXES | AUDIO_SUFFIXES)
            if not found:
                raise InputError(f"{path}: no transcripts (.json) or recordings "
                                 f"({', '.join(sorted(AUDIO_SUFFIXES))}) in this folder")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return list(dict.fromkeys(out))


def is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_SUFFIXES


@dataclass
class DispatchData:
    """The dispatch system's exports, loaded once for a batch."""

    calls: CallRecords | None = None
    tickets: TicketSet | None = None
    stations: StationDirectory | None = None
    rules: DispatchRules = field(default_factory=DispatchRules)

    @property
    def problems(self) -> list[str]:
        """Rows that could not be taken in full, to show the user as warnings."""
        return [p for part in (self.calls, self.tickets, self.stations) if part is not None
                for p in part.problems]

    def station_names(self) -> list[str]:
        if self.stations is None:
            return []
        return [name for s in self.stations.stations for name in (s.community, *s.aliases)]


def load_dispatch(*, calls: Path | None = None, tickets: Path | None = None,
                  stations: Path | None = None, columns: Path | None = None,
                  rules: DispatchRules | None = None) -> DispatchData:
    from qa_audit.tables import load_column_map

    column_map = load_column_map(columns) if columns else None
    return DispatchData(
        calls=load_calls(calls, column_map) if calls else None,
        tickets=load_tickets(tickets, column_map) if tickets else None,
        stations=load_stations(stations, column_map) if stations else None,
        rules=rules or DispatchRules())


def audit_transcript(transcript: Transcript, data: DispatchData, phrasebook: Phrasebook, *,
                     pattern: str = DEFAULT_PATTERN, now: datetime | None = None,
                     transcriber: Transcriber | None = None) -> CallAudit:
    """Fill in one call's form with everything known about the call. With the `transcriber`
    that made a transcript from a recording, the items the recognizer left in `review` are
    listened to again (qa_audit.listen)."""
    meta = resolve_meta(transcript.call_id, data.calls, pattern)
    quality = transcript.recording_quality
    if quality is not None and quality.unusable:
        return unusable_audit(transcript, meta, phrasebook)
    match = (data.tickets.for_call(meta, window_minutes=data.rules.ticket_window_minutes)
             if data.tickets is not None else None)
    extra = cdr_findings(meta, match, fines=phrasebook.fines, rules=data.rules,
                         have_tickets=data.tickets is not None, now=now)
    for finding in extra:
        finding.serious = finding.serious or phrasebook.is_serious(finding.code)
    audit = score_call(transcript, meta, phrasebook,
                      ticket=match.ticket if match else None,
                      ticket_guessed=bool(match and match.guessed),
                      tickets_given=data.tickets is not None,
                      stations=data.stations, extra_findings=extra)
    if transcriber is not None and _in_doubt(audit) and transcript.audio \
            and transcript.role_source != "given":
        listen_again(audit, transcript, transcriber, phrasebook, meta,
                     ticket=None if match is None or match.guessed else match.ticket)
    if audit.provenance.get("enquiry"):
        # An enquiry creates no ticket (咨询量 in the daily report, not 报修量).
        audit.findings = [f for f in audit.findings if f.code != "missing_ticket"]
    audit.recording_quality = quality
    if quality is not None and quality.verdict == "dead_channel":
        audit = with_dead_channel(audit, phrasebook)
    return audit


def _in_doubt(audit: CallAudit) -> bool:
    """Whether the recognizer may have got an item wrong: one is in review, or failed (a
    read-back or script line failed on what it wrote is heard again: qa_audit.listen)."""
    return any(i.status in ("review", "fail") for i in audit.items)


def unusable_audit(transcript: Transcript, meta: CallMeta, phrasebook: Phrasebook) -> CallAudit:
    """A recording with no call in it (录音异常): kept and named, scored against no one —
    no item, no finding, no fine; the tally counts it in a column of its own."""
    call_type = meta.call_type or "repair"
    return CallAudit(
        call_id=transcript.call_id, agent_id=meta.agent_id, call_type=call_type,
        form=phrasebook.form_for(call_type).id, score=0, max_score=0, items=[], findings=[],
        started_at=meta.started_at, ticket_id=meta.ticket_id, audio=transcript.audio,
        status="unusable", recording_quality=transcript.recording_quality,
        provenance={"transcript": dict(transcript.provenance),
                    "phrasebook": phrasebook.version})


# Checks that hear only the agent's side: a dead resident channel leaves them as they are.
_AGENT_ONLY_CHECKS = frozenset({"opening", "closing"})


def _depends_on(check: str, speaker: str, dead_role: str) -> bool:
    """Whether a form item's check needs the side whose channel is dead."""
    if dead_role == "agent":
        # The ticket items hold the ticket against what the resident said: the live side.
        return not check.startswith("ticket.")
    return not (check in _AGENT_ONLY_CHECKS or check == "phrase" and speaker == "agent")


def with_dead_channel(audit: CallAudit, phrasebook: Phrasebook) -> CallAudit:
    """One side of a stereo call carries no speech: every failed item that depends on that
    side becomes `review` (a person listens), and the findings of those items go."""
    quality = audit.recording_quality
    dead_role = quality.dead_role if quality is not None else None
    if dead_role is None:
        return audit
    form = phrasebook.forms.get(audit.form) or phrasebook.form_for(audit.call_type)
    checks = {i.id: (i.check, i.speaker) for i in form.items}
    whose = "坐席" if dead_role == "agent" else "住户"
    opened: set[str] = set()
    items = []
    for item in audit.items:
        check, speaker = checks.get(item.id, ("", "agent"))
        if item.status == "fail" and _depends_on(check, speaker, dead_role):
            opened.add(item.id)
            item = item.model_copy(update={
                "status": "review", "points": item.max_points,
                "reason": f"录音异常：{whose}声道无语音，此项需人工复听（原判：{item.reason}）"})
        items.append(item)
    findings = [f for f in audit.findings if f.item not in opened]
    return audit.model_copy(update={
        "items": items, "findings": findings,
        "score": sum(i.points for i in items)})


def listen_again(audit: CallAudit, transcript: Transcript, transcriber: Transcriber,
                 phrasebook: Phrasebook, meta: CallMeta, *, ticket: Ticket | None) -> None:
    """Hear the recording again where the recognizer left an item open (qa_audit.listen)."""
    from qa_audit.audio import load_recording
    from qa_audit.errors import AudioError
    from qa_audit.listen import Listener, recheck
    from qa_audit.form.checks.script import standard_text
    from qa_audit.form.facts import CallContext

    try:
        recording = load_recording(Path(transcript.audio or ""))
    except (AudioError, OSError):
        return  # the transcript stands as it is; the file was reported when transcribed
    ctx = CallContext(transcript=transcript, meta=meta, phrasebook=phrasebook)
    script = phrasebook.scripts[ctx.script_kind]
    standards = {"opening": standard_text(ctx, script.opening),
                 "closing": standard_text(ctx, script.closing)}
    listener = Listener(transcriber.model, recording,
                        agent_channel=transcriber.options.agent_channel)
    recheck(audit, transcript, listener, phrasebook=phrasebook, ticket=ticket,
            standards=standards)


def audit_transcripts(transcripts: Sequence[Transcript], data: DispatchData,
                      phrasebook: Phrasebook, **kwargs: object) -> list[CallAudit]:
    return [audit_transcript(t, data, phrasebook, **kwargs) for t in transcripts]  # type: ignore[arg-type]
