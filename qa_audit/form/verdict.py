"""What a check gives for one form item: a status, the reason in the shift lead's words and
the turns it rests on."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa_audit.dialogue import Turn
from qa_audit.records import Status


@dataclass
class Verdict:
    status: Status
    reason: str
    evidence: list[Turn] = field(default_factory=list)
    score: float | None = None
