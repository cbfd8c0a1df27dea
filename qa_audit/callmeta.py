"""What is known of a call besides its audio: from calls.csv, or else from the file name.

The call platform names recordings by a pattern (default
`{date:%Y%m%d}_{time:%H%M%S}_{agent_id}_{call_type}_{seq}.wav`); transcripts are named
`<call_id>.json`, so the call id is the file's stem. A calls.csv row, when there is one,
wins over what the name says; the name fills its gaps.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from qa_audit.errors import InputError
from qa_audit.records import CallMeta
from qa_audit.tables import ColumnMap, parse_datetime, parse_number, read_table

DEFAULT_PATTERN = "{date:%Y%m%d}_{time:%H%M%S}_{agent_id}_{call_type}_{seq}.wav"

CALL_TYPES = {"repair": "repair", "报修": "repair", "followup": "followup",
              "follow-up": "followup", "follow_up": "followup", "回访": "followup"}
HANGUP_BY = {"agent": "agent", "坐席": "agent", "座席": "agent", "话务员": "agent",
             "客服": "agent", "customer": "customer", "用户": "customer",
             "客户": "customer", "住户": "customer", "caller": "customer"}

# Endings that are not part of a call id: transcripts, recordings, exports.
# What counts as a recording when a folder is given (FFmpeg decodes all of them).
AUDIO_SUFFIXES: frozenset[str] = frozenset({
    ".wav", ".mp3", ".m4a", ".aac", ".amr", ".ogg", ".opus", ".flac", ".wma", ".gsm", ".vox",
    ".au", ".aif", ".aiff", ".webm", ".mka",
})
KNOWN_SUFFIXES = AUDIO_SUFFIXES | {".json", ".jsonl", ".txt"}

# strftime directives a name pattern may use, and what they look like in a name.
_DIRECTIVES = {"Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{1,2}", "d": r"\d{1,2}",
               "H": r"\d{1,2}", "M": r"\d{1,2}", "S": r"\d{1,2}", "j": r"\d{3}"}


def call_id_of(name: str) -> str:
    """The call id of a recording or transcript path: its name without a known ending."""
    path = Path(name)
    return path.stem if path.suffix.lower() in KNOWN_SUFFIXES else path.name


def call_type_of(value: str) -> str | None:
    """repair / followup from either language; None for an empty or unknown value."""
    return CALL_TYPES.get(value.strip().lower()) if value else None


def hangup_by_of(value: str) -> str | None:
    return HANGUP_BY.get(value.strip().lower()) if value else None


@lru_cache(maxsize=32)
def _pattern_regex(pattern: str) -> tuple[re.Pattern[str], dict[str, str]]:
    """A name pattern as a regex: date/time fields by their strftime format, others loose."""
    pattern = call_id_of(pattern)  # the extension in the pattern need not match
    parts: list[str] = []
    formats: dict[str, str] = {}
    seen: set[str] = set()
    for literal, name, spec, _conv in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if not name.isidentifier() or name in seen:
            raise ValueError(f"file-name pattern {pattern!r}: bad or repeated field {{{name}}}")
        seen.add(name)
        if spec and "%" in spec:  # a strftime format: {date:%Y%m%d}
            formats[name] = spec
            regex = re.sub(r"%(.)", lambda m: _DIRECTIVES.get(m.group(1), ".+?"),
                           re.escape(spec).replace("\\%", "%"))
            parts.append(f"(?P<{name}>{regex})")
        else:
            parts.append(f"(?P<{name}>.+?)")
    return re.compile("".join(parts)), formats


def _parse(name: str, pattern: str) -> tuple[CallMeta, str | None]:
    call_id = call_id_of(name)
    try:
        regex, formats = _pattern_regex(pattern)
    except ValueError as exc:
        return CallMeta(call_id=call_id), str(exc)
    match = regex.fullmatch(call_id)
    if not match:
        return CallMeta(call_id=call_id), (
            f"{call_id!r} does not fit the file-name pattern {pattern!r}")
    fields: dict[str, Any] = {"call_id": call_id}
    stamp_values, stamp_formats = [], []
    for key, value in match.groupdict().items():
        if key in formats:
            stamp_values.append(value)
            stamp_formats.append(formats[key])
        elif key == "call_type":
            fields[key] = call_type_of(value)
            if fields[key] is None:
                return CallMeta(call_id=call_id), (
                    f"{call_id!r}: call type {value!r} is not one of repair, followup, 报修, 回访")
        else:
            fields[key] = value
    if stamp_values:
        try:
            fields["started_at"] = datetime.strptime(" ".join(stamp_values),
                                                     " ".join(stamp_formats))
        except ValueError:
            return CallMeta(call_id=call_id), (
                f"{call_id!r}: {' '.join(stamp_values)!r} is not a date-time by "
                f"{' '.join(stamp_formats)!r}")
    return CallMeta(**fields), None


def meta_from_filename(name: str, pattern: str = DEFAULT_PATTERN) -> CallMeta:
    """The facts a recording's or transcript's name carries; just the call id if it does not fit.

    Fields the pattern names besides the contract's (e.g. {seq}, {line}) are kept as
    extra fields of the CallMeta.
    """
    return _parse(name, pattern)[0]


def filename_problem(name: str, pattern: str = DEFAULT_PATTERN) -> str | None:
    """Why a name does not fit the pattern (for a warning), or None when it fits."""
    return _parse(name, pattern)[1]


class CallRecords(dict[str, CallMeta]):
    """calls.csv as call_id -> CallMeta, with the rows it could not take in full."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self.path = path
        self.problems: list[str] = []

    def find(self, key: str) -> CallMeta | None:
        """By call id, or by the stem of the recording a row points at."""
        key = call_id_of(key)
        if key in self:
            return self[key]
        return next((m for m in self.values()
                     if m.recording and call_id_of(m.recording) == key), None)


def load_calls(path: str | Path, columns: ColumnMap | None = None) -> CallRecords:
    """calls.csv (or .xlsx). Bad cells are reported in `.problems` and left empty;
    a row without a call id or repeating one is reported and skipped."""
    table = read_table(path, kind="calls", columns=columns)
    calls = CallRecords(table.path)
    calls.problems.extend(table.problems)
    first_row: dict[str, int] = {}
    for row in table.rows:
        call_id = row.get("call_id")
        if not call_id:
            calls.problems.append(f"{table.where(row, 'call_id')}: empty; row skipped")
            continue
        if call_id in first_row:
            calls.problems.append(f"{table.where(row, 'call_id')}: {call_id} repeats row "
                                  f"{first_row[call_id]}; the first is kept")
            continue
        first_row[call_id] = row.number
        fields: dict[str, Any] = {"call_id": call_id}
        for name in ("agent_id", "ticket_id"):
            fields[name] = row.get(name) or None
        if row.get("recording"):
            # formats.md: relative to the CSV's folder, so resolve it while we know that.
            recording = Path(row.get("recording"))
            fields["recording"] = os.path.normpath(recording if recording.is_absolute()
                                                   else table.path.parent / recording)
        for name, parse, allowed in (
                ("call_type", call_type_of, "repair, followup, 报修, 回访"),
                ("hangup_by", hangup_by_of, "agent, customer, 坐席, 用户, 客户, 话务员")):
            value = row.get(name)
            fields[name] = parse(value)
            if value and fields[name] is None:
                calls.problems.append(f"{table.where(row, name)}: {value!r} is not one of "
                                      f"{allowed}; left empty")
        for name, parse in (("started_at", parse_datetime), ("ring_seconds", parse_number)):
            try:
                fields[name] = parse(row.get(name))
            except ValueError as exc:
                calls.problems.append(f"{table.where(row, name)}: {exc}; left empty")
        calls[call_id] = CallMeta(**fields)
    return calls


def resolve_meta(call_id: str, calls: Mapping[str, CallMeta] | None = None,
                 pattern: str = DEFAULT_PATTERN) -> CallMeta:
    """Everything known of one call: calls.csv first, the file name for what it lacks."""
    from_name = meta_from_filename(call_id, pattern)
    if not calls:
        return from_name
    row = (calls.find(call_id) if isinstance(calls, CallRecords)
           else calls.get(call_id_of(call_id)))
    if row is None:
        return from_name
    merged = from_name.model_dump()
    merged.update({k: v for k, v in row.model_dump().items() if v is not None})
    return CallMeta(**merged)


def require_pattern(pattern: str) -> str:
    """A user's --name-pattern, checked once up front (InputError names what is wrong)."""
    try:
        _pattern_regex(pattern)
    except ValueError as exc:
        raise InputError(f"{exc}; use fields like {{date:%Y%m%d}}, {{agent_id}}, "
                         "{call_type}") from exc
    return pattern
