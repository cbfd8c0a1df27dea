"""Typed records passed between the stages (formats.md is the contract).

Transcript -> (score) -> CallAudit, with CallMeta, Ticket and Station coming from the
dispatch data. Extra fields are allowed on input so that outside tools can add
columns freely; the contract's names are never renamed or dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["agent", "customer"]
CallType = Literal["repair", "followup"]
Status = Literal["pass", "fail", "na", "review"]
HangupBy = Literal["agent", "customer"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Utterance(_Record):
    role: Role
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    # ASR confidence in 0..1 (None for human transcripts).
    confidence: float | None = None

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: float, info: Any) -> float:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"end {end} is before start {start}")
        return end


class ChannelQuality(_Record):
    """One stream of a recording as measured before transcription (recording_check.py)."""

    side: Literal["left", "right", "mix"]
    role: Role | None = None  # a stereo side's party; None for a mono mix
    rms_dbfs: float
    peak_dbfs: float
    speech_s: float  # seconds the VAD hears as speech
    silent: bool = False


class RecordingQuality(_Record):
    """Whether a recording holds a call to audit, with the measurements that say so.

    `unusable` (录音异常: silent, noise or hiss only, too short) is never scored against the
    agent; `dead_channel` (one side of a stereo call carries no speech) is audited, with
    what depends on the dead side left to a person."""

    verdict: Literal["ok", "unusable", "dead_channel"]
    reason_code: Literal["too_short", "silent", "no_speech", "dead_channel"] | None = None
    reason: str = ""
    duration: float
    speech_s: float
    channels: list[ChannelQuality] = Field(default_factory=list)
    dead_role: Role | None = None
    version: int = 1

    @property
    def unusable(self) -> bool:
        return self.verdict == "unusable"


class Transcript(_Record):
    call_id: str = Field(min_length=1)
    utterances: list[Utterance]
    duration: float | None = None
    # Where the roles come from: given (a human transcript), channel (stereo split),
    # inferred (one stream, roles guessed from what each speaker says).
    role_source: Literal["given", "channel", "inferred"] = "given"
    # 0..1: how sure the role assignment is; below the scorer's threshold the items
    # that depend on who said what become `review`.
    role_confidence: float = 1.0
    audio: str | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)
    # Measured before transcription (recording_check.py); None for a human transcript.
    recording_quality: RecordingQuality | None = None

    def by_role(self, role: Role) -> list[Utterance]:
        return [u for u in self.utterances if u.role == role]


class Evidence(_Record):
    role: Role
    start: float
    end: float
    text: str


def evidence_of(utterance: Utterance) -> Evidence:
    return Evidence(role=utterance.role, start=utterance.start, end=utterance.end,
                    text=utterance.text)


class ItemResult(_Record):
    id: str
    status: Status
    points: float
    max_points: float
    evidence: list[Evidence] = Field(default_factory=list)
    reason: str = ""
    label: str = ""  # the form's Chinese name of the item
    match_score: float | None = None  # 0..100, the best fuzzy score behind the verdict


class Finding(_Record):
    code: str
    fine_yuan: float = 0
    detail: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    item: str | None = None  # the form item it belongs to, if any
    serious: bool = False  # counts towards the repeat rule (wrong address/station, invalid promise)


class CallMeta(_Record):
    """What is known of a call besides its audio: from calls.csv or the file name."""

    call_id: str
    agent_id: str | None = None
    call_type: CallType | None = None
    started_at: datetime | None = None
    recording: str | None = None
    ring_seconds: float | None = None
    hangup_by: HangupBy | None = None
    ticket_id: str | None = None


class Ticket(_Record):
    ticket_id: str
    call_id: str | None = None
    created_at: datetime | None = None
    agent_id: str | None = None
    seat: str | None = None
    recorder: str | None = None
    caller_name: str | None = None
    caller_phone: str | None = None
    address: str | None = None
    category: str | None = None
    description: str | None = None
    station: str | None = None
    dispatched_at: datetime | None = None
    repaired_at: datetime | None = None
    followed_up_at: datetime | None = None


class Station(_Record):
    community: str
    station: str
    aliases: list[str] = Field(default_factory=list)


class ResponseTimes(_Record):
    """How long the agent took to answer after the resident stopped, over one call."""

    count: int
    median_s: float
    longest_s: float


class CallAudit(_Record):
    """One filled-in spot-check form (formats.md "Audit results")."""

    call_id: str
    agent_id: str | None = None
    call_type: CallType
    form: str
    score: float
    max_score: float
    items: list[ItemResult]
    findings: list[Finding] = Field(default_factory=list)
    answers: dict[str, Any] = Field(default_factory=dict)
    # Follow-up questions asked whose answer the recognizer did not make out (an answer left
    # out of `answers` for that reason, so the tally shows it as 未听清, not as no answer).
    unheard: list[str] = Field(default_factory=list)
    # From a recording's times (qa_audit.timing); None for typed transcripts.
    response_times: ResponseTimes | None = None
    started_at: datetime | None = None
    ticket_id: str | None = None
    station: str | None = None
    audio: str | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)
    # `unusable` (录音异常): the recording holds no call to audit (recording_quality says
    # why); no item, finding or fine is held against the agent.
    status: Literal["audited", "unusable"] = "audited"
    recording_quality: RecordingQuality | None = None

    @property
    def unusable(self) -> bool:
        return self.status == "unusable"

    @property
    def dead_channel(self) -> bool:
        return (self.recording_quality is not None
                and self.recording_quality.verdict == "dead_channel")

    def item(self, item_id: str) -> ItemResult | None:
        return next((i for i in self.items if i.id == item_id), None)

    @property
    def needs_review(self) -> bool:
        return any(i.status == "review" for i in self.items)

    @property
    def fines_yuan(self) -> float:
        return sum(f.fine_yuan for f in self.findings)
