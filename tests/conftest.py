"""Shared test helpers: building realistic transcripts in a few lines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from qa_audit.phrasebook import Phrasebook, load_phrasebook
from qa_audit.records import CallMeta, Transcript, Utterance

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEVSET_DATA = SHARED / "devset" / "data"
# The shared labelled devset lies beside the repository, not in it.
needs_devset = pytest.mark.skipif(not DEVSET_DATA.is_dir(), reason="needs ../shared/devset")


def call(*turns: tuple[str, str], call_id: str = "20261110_082210_301_repair_900",
         confidence: float | None = None, role_source: str = "given",
         role_confidence: float = 1.0) -> Transcript:
    """A transcript from ("a"|"c", text) pairs, with plausible times (0.25 s a character)."""
    utterances, t = [], 0.8
    for who, text in turns:
        end = t + max(0.5, 0.25 * len(text))
        utterances.append(Utterance(role="agent" if who == "a" else "customer", start=round(t, 2),
                                    end=round(end, 2), text=text, confidence=confidence))
        t = end + 0.5
    return Transcript(call_id=call_id, utterances=utterances, role_source=role_source,
                      role_confidence=role_confidence)


def meta(call_type: str = "repair", agent_id: str = "301",
         started_at: datetime = datetime(2026, 11, 10, 8, 22, 10), **kw: object) -> CallMeta:
    return CallMeta(call_id="x", agent_id=agent_id, call_type=call_type,  # type: ignore[arg-type]
                    started_at=started_at, **kw)


@pytest.fixture(scope="session")
def pb() -> Phrasebook:
    return load_phrasebook()
