"""Spot-check samples: N calls per agent per day (shift leads) or per week (department head).

A sample is reproducible from its seed alone: each (agent, period) draws with its own
generator seeded by (seed, agent, period), so adding another agent's calls, or listing
the calls in another order, does not change who else was picked.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from qa_audit.errors import InputError
from qa_audit.records import CallMeta

Period = Literal["day", "week"]
PERIODS: tuple[Period, ...] = ("day", "week")

# The default recording name starts with the call's date and time (formats.md).
_CALL_ID_STAMP = re.compile(r"^(\d{8})_(\d{6})")
UNDATED = "undated"


def call_started_at(call_id: str, started_at: datetime | None = None) -> datetime | None:
    """When the call started: the known time, else the stamp in a default-pattern call id."""
    if started_at is not None:
        return started_at
    stamp = _CALL_ID_STAMP.match(call_id)
    if stamp is None:
        return None
    try:
        return datetime.strptime(stamp.group(1) + stamp.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def period_key(day: date | None, period: Period) -> str:
    """2026-11-10 for a day, 2026-W46 for its ISO week."""
    if day is None:
        return UNDATED
    if period == "day":
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def sample_per_agent(
    metas: Sequence[CallMeta], n: int, seed: int, period: Period = "day"
) -> list[CallMeta]:
    """Up to n calls of each agent in each day or week, in (period, agent, time) order."""
    if n < 1:
        raise InputError(f"--sample must be at least 1 call per agent, not {n}")
    if period not in PERIODS:
        raise InputError(f"unknown sample period {period!r}; use one of: {', '.join(PERIODS)}")
    groups: dict[tuple[str, str], list[CallMeta]] = defaultdict(list)
    for meta in metas:
        started = call_started_at(meta.call_id, meta.started_at)
        key = period_key(started.date() if started else None, period)
        groups[(key, meta.agent_id or "")].append(meta)
    picked: list[CallMeta] = []
    for (key, agent), calls in sorted(groups.items()):
        calls = sorted(calls, key=lambda m: m.call_id)
        rng = random.Random(f"{seed}|{agent}|{key}")
        chosen = rng.sample(calls, min(n, len(calls)))
        picked.extend(sorted(chosen, key=lambda m: (_sort_time(m), m.call_id)))
    return picked


def _sort_time(meta: CallMeta) -> str:
    started = call_started_at(meta.call_id, meta.started_at)
    return started.isoformat() if started else ""
