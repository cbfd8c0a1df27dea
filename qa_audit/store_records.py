"""What the store and its verdict rows share: people's verdicts as records and how they
apply to the machine's, the month and day filters, the clock. Kept below both, so that
neither imports the other from inside a function."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from qa_audit.errors import InputError
from qa_audit.records import CallAudit

Verdict = Literal["pass", "fail"]
VERDICTS: tuple[str, ...] = ("pass", "fail")
Outcome = Literal["accept", "reject"]
OUTCOMES: tuple[str, ...] = ("accept", "reject")

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_month(month: str) -> str:
    """Checks a YYYY-MM month (the tally's and the filters' unit)."""
    if not _MONTH.match(month.strip()):
        raise InputError(f"month {month!r} is not YYYY-MM; write it like 2026-11")
    return month.strip()


def parse_day(value: str | date | None, option: str = "--date") -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date; write it like 2026-11-10") from None


@dataclass(frozen=True)
class Decision:
    """A person's verdict on one item (or finding) of a call; history, never rewritten."""

    id: int
    call_id: str
    item: str
    status: Verdict
    machine_status: str | None
    by: str
    note: str
    source: Literal["lead", "appeal"]
    appeal_id: int | None
    decided_at: datetime


@dataclass(frozen=True)
class Appeal:
    id: int
    call_id: str
    item: str
    agent_id: str | None
    reason: str
    filed_by: str
    filed_at: datetime
    state: Literal["open", "accepted", "rejected"]
    resolved_by: str | None
    resolution_note: str | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class ReviewItem:
    """An item the machine was not sure about and no person has decided yet."""

    call_id: str
    agent_id: str | None
    item: str
    label: str
    reason: str
    evidence_start: float | None
    started_at: datetime | None
    call_type: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)  # formats.md evidence


def apply_decisions(audit: CallAudit, decisions: Sequence[Decision]) -> CallAudit:
    """The final form: each decided item takes the person's verdict, points and score follow.

    A finding goes when it is decided `pass` itself or when the item it belongs to is;
    the machine's verdict stays beside the person's (machine_status, decided_by…).
    """
    latest: dict[str, Decision] = {}
    for decision in sorted(decisions, key=lambda d: d.id):
        latest[decision.item] = decision
    if not latest:
        return audit
    items = []
    score = audit.score
    for item in audit.items:
        person = latest.get(item.id)
        if person is None:
            items.append(item)
            continue
        points = item.max_points if person.status == "pass" else 0.0
        score += points - item.points
        items.append(item.model_validate({
            **item.model_dump(),
            "status": person.status,
            "points": points,
            "machine_status": item.status,
            "machine_points": item.points,
            "decided_by": person.by,
            "decision_note": person.note,
            "decision_source": person.source,
        }))
    item_ids = {i.id for i in audit.items}
    findings = []
    for finding in audit.findings:
        own = latest.get(finding.code) if finding.code not in item_ids else None
        via_item = latest.get(finding.item) if finding.item else None
        withdrawn = own or via_item
        if withdrawn is not None and withdrawn.status == "pass":
            continue
        findings.append(finding)
    return audit.model_copy(update={"items": items, "findings": findings, "score": score})


def now_text() -> str:
    return datetime.now().isoformat(timespec="seconds")


def day_filter(
    column: str, month: str | None, date_from: date | str | None, date_to: date | str | None
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if month is not None:
        clauses.append(f"{column} LIKE ?")
        params.append(parse_month(month) + "-%")
    day_from, day_to = parse_day(date_from, "--from"), parse_day(date_to, "--to")
    if day_from is not None:
        clauses.append(f"{column} >= ?")
        params.append(day_from.isoformat())
    if day_to is not None:
        clauses.append(f"{column} <= ?")
        params.append(day_to.isoformat())
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def audit_filter(
    agent: str | None, month: str | None, date_from: date | str | None, date_to: date | str | None
) -> tuple[str, list[Any]]:
    where, params = day_filter("a.day", month, date_from, date_to)
    if agent is not None:
        where += (" AND" if where else "WHERE") + " a.agent_id = ?"
        params.append(str(agent))
    return where, params


def decision_from_row(row: sqlite3.Row) -> Decision:
    return Decision(
        id=row["id"], call_id=row["call_id"], item=row["target"], status=row["status"],
        machine_status=row["machine_status"], by=row["decided_by"], note=row["note"],
        source=row["source"], appeal_id=row["appeal_id"],
        decided_at=datetime.fromisoformat(row["decided_at"]),
    )


def appeal_from_row(row: sqlite3.Row) -> Appeal:
    return Appeal(
        id=row["id"], call_id=row["call_id"], item=row["target"], agent_id=row["agent_id"],
        reason=row["reason"], filed_by=row["filed_by"],
        filed_at=datetime.fromisoformat(row["filed_at"]), state=row["state"],
        resolved_by=row["resolved_by"], resolution_note=row["resolution_note"],
        resolved_at=datetime.fromisoformat(row["resolved_at"]) if row["resolved_at"] else None,
    )
