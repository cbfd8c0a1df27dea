"""Shared test helpers: building realistic transcripts in a few lines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from qa_audit.phrasebook import Phrasebook, load_phrasebook
from qa_audit.records import CallMeta, Ticket, Transcript, Utterance

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


# The script's lines, for short calls that are about something else.
GREETING = ("a", "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？")
CLOSING = ("a", "好！维修人员会尽快跟您联系。感谢您的来电。再见！")
FOLLOWUP_OPENING = ("a", "您好，我们是供暖报修平台，对您家报修的处理情况进行回访。您现在方便吗？")
FOLLOWUP_CLOSING = ("a", "感谢您的合作，以后有什么问题，请您随时拨打五八八八幺幺九，我们将及时为您服务。")


def ticket(**fields: str) -> Ticket:
    """A complete, right ticket; `fields` change what a test is about."""
    base = {"ticket_id": "T1", "seat": "02", "recorder": "301", "caller_name": "孙丽",
            "caller_phone": "13611223344", "address": "西辛小区5号楼2单元301",
            "category": "漏水", "description": "卫生间暖气片接头滴水", "station": "西辛站"}
    return Ticket(**{**base, **fields})


def status(audit, item_id: str) -> str:
    return next(i for i in audit.items if i.id == item_id).status


def codes(audit) -> set[str]:
    return {f.code for f in audit.findings}
