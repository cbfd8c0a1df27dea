"""Dispatch data: tickets (工单), the station directory, and the checks they allow.

Half of the repair form and most fines are about what the agent recorded and where the
ticket went, so a call is joined to its ticket (`TicketSet.for_call`) and an address to
the station that serves it (`StationDirectory.station_for_address`). The checks here
need no transcript (`cdr_findings`); the transcript-vs-ticket comparisons are the
scorer's, with the helpers `same_phone` and `same_address_numbers`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import cn2an
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq

from qa_audit.callmeta import load_calls  # noqa: F401  (dispatch data in one place)
from qa_audit.normalize import SPOKEN_DIGITS, normalize, pinyin_key
from qa_audit.records import CallAudit, CallMeta, Finding, Station, Ticket
from qa_audit.tables import ColumnMap, Row, Table, parse_datetime, read_table

SERIOUS_CODES = frozenset({"wrong_address", "wrong_station", "invalid_promise"})
TICKET_DATES = ("created_at", "dispatched_at", "repaired_at", "followed_up_at")
TICKET_TEXTS = ("call_id", "agent_id", "seat", "recorder", "caller_name", "caller_phone",
                "address", "category", "description", "station")


@dataclass(frozen=True)
class DispatchRules:
    """Thresholds of the checks that need no transcript (domain.md, seed 004)."""

    # Answer before the third ring (响铃三声之前); a ring cycle is about 5 s.
    max_ring_seconds: float = 15.0
    # A repair taking longer is an abnormal event to report (维修超过4小时).
    max_repair_hours: float = 4.0
    # Without a call id on the ticket, a ticket by the same agent created this soon after
    # the call's start is taken to be the call's (and flagged as a guess).
    ticket_window_minutes: float = 30.0


# --- tickets ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketMatch:
    ticket: Ticket
    how: Literal["call_id", "ticket_id", "agent_time"]
    guessed: bool = False


@dataclass
class TicketSet:
    tickets: list[Ticket]
    problems: list[str] = field(default_factory=list)
    path: Path | None = None

    def __post_init__(self) -> None:
        self._by_id = {t.ticket_id: t for t in self.tickets}
        self._by_call = {t.call_id: t for t in reversed(self.tickets) if t.call_id}

    def __len__(self) -> int:
        return len(self.tickets)

    def get(self, ticket_id: str) -> Ticket | None:
        return self._by_id.get(ticket_id)

    def for_call(self, meta: CallMeta, *,
                 window_minutes: float = DispatchRules.ticket_window_minutes
                 ) -> TicketMatch | None:
        """The ticket a call created (repair) or followed up (followup), if any.

        By the ticket's call id first; then by the ticket id calls.csv gives; for a
        repair call without either, the agent's ticket created soonest after the call
        started, within `window_minutes`, flagged guessed.
        """
        if meta.call_id in self._by_call:
            return TicketMatch(self._by_call[meta.call_id], "call_id")
        if meta.ticket_id and meta.ticket_id in self._by_id:
            return TicketMatch(self._by_id[meta.ticket_id], "ticket_id")
        if meta.call_type == "followup" or not (meta.agent_id and meta.started_at):
            return None  # a follow-up's ticket was made days before, by anyone
        start = meta.started_at
        window = timedelta(minutes=window_minutes)
        candidates = [t for t in self.tickets
                      if t.agent_id == meta.agent_id and t.created_at is not None
                      and start <= t.created_at <= start + window
                      and not t.call_id]  # a ticket naming another call is that call's
        if not candidates:
            return None
        best = min(candidates, key=lambda t: t.created_at - start)  # type: ignore[operator]
        return TicketMatch(best, "agent_time", guessed=True)


def _unique_rows(table: Table, key: str, problems: list[str]) -> Iterable[Row]:
    """Rows with a key, the first of each key; the others reported, never dropped silently."""
    first: dict[str, int] = {}
    for row in table.rows:
        value = row.get(key)
        if not value:
            problems.append(f"{table.where(row, key)}: empty; row skipped")
        elif value in first:
            problems.append(f"{table.where(row, key)}: {value} repeats row {first[value]}; "
                            "the first is kept")
        else:
            first[value] = row.number
            yield row


def _extras(row: Row, known: Iterable[str]) -> dict[str, str]:
    known = set(known)
    return {column: value for column, value in row.cells.items() if column not in known and value}


def load_tickets(path: str | Path, columns: ColumnMap | None = None) -> TicketSet:
    """tickets.csv / .xlsx. A bad date is reported and left empty; the row still loads."""
    table = read_table(path, kind="tickets", columns=columns)
    problems = list(table.problems)
    tickets = []
    for row in _unique_rows(table, "ticket_id", problems):
        fields: dict[str, Any] = {name: row.get(name) or None for name in TICKET_TEXTS}
        for name in TICKET_DATES:
            try:
                fields[name] = parse_datetime(row.get(name))
            except ValueError as exc:
                problems.append(f"{table.where(row, name)}: {exc}; left empty")
        extras = _extras(row, ("ticket_id", *TICKET_TEXTS, *TICKET_DATES))
        tickets.append(Ticket(ticket_id=row.get("ticket_id"), row=row.number,
                              extra_columns=extras, **fields))
    return TicketSet(tickets, problems, table.path)


# --- stations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class StationMatch:
    community: str
    station: str
    score: float  # 0..100; low means a person should check (`review`)
    matched: str  # the community name or alias found in the address


_SOUND_SCORE = 97.0
_ALIAS_SEPARATORS = re.compile(r"[|｜、;；,，/]")


@dataclass
class StationDirectory:
    stations: list[Station]
    problems: list[str] = field(default_factory=list)
    path: Path | None = None

    def __post_init__(self) -> None:
        # (normalized name, name as written, station); one-character names match anything.
        self._names = [(normalize(name), name, s)
                       for s in self.stations for name in [s.community, *s.aliases]
                       if len(normalize(name)) >= 2]

    def __len__(self) -> int:
        return len(self.stations)

    def station_for_address(self, address: str, *, min_score: float = 60.0
                            ) -> StationMatch | None:
        """The station serving an address, by community name or alias, matched fuzzily.

        Spoken addresses drop or garble part of the name (北关7号楼, 北观新村七号楼), so
        each name is looked for within the address (partial_ratio on normalized text).
        Of the names scoring `min_score` or more, the community sharing the most characters
        with the address wins (北观新村 is 北关新村 with one error, not 新村), then the
        higher score; its score is that of its surest name (an alias heard whole). None
        when no name scores `min_score`.
        """
        text = normalize(address or "")
        if not text:
            return None
        # Per community, its best-matching name: the most characters shared, and the surest
        # score of any of its names. An alias heard whole ("电业局那个家属楼" holds 电业局)
        # makes the community sure even where its full name matched only in part.
        found_in: dict[int, tuple[int, float, str, Station]] = {}
        heard = f" {pinyin_key(text)} "
        for key, name, station in self._names:
            found = fuzz.partial_ratio_alignment(key, text, score_cutoff=min_score)
            if f" {pinyin_key(key)} " in heard:
                # Heard as it sounds (玉龙家园 for 裕龙家园): sure of the place, if slightly
                # less than of the same characters.
                shared, score = len(key), max(found.score if found else 0.0, _SOUND_SCORE)
            elif found is None:
                continue
            else:
                shared = LCSseq.similarity(key[found.src_start:found.src_end],
                                           text[found.dest_start:found.dest_end])
                score = found.score
            had = found_in.get(id(station))
            if had is None:
                found_in[id(station)] = (shared, score, name, station)
            else:
                found_in[id(station)] = (max(had[0], shared), max(had[1], score),
                                         had[2] if had[1] >= score else name, station)
        if not found_in:
            return None
        _shared, score, name, station = max(found_in.values(), key=lambda f: f[:2])
        return StationMatch(station.community, station.station, round(score, 1), name)


def load_stations(path: str | Path, columns: ColumnMap | None = None) -> StationDirectory:
    """stations.csv / .xlsx: community -> station, with aliases separated by |."""
    table = read_table(path, kind="stations", columns=columns)
    problems = list(table.problems)
    stations = []
    for row in _unique_rows(table, "community", problems):
        if not row.get("station"):
            problems.append(f"{table.where(row, 'station')}: empty; row skipped")
            continue
        aliases = [a.strip() for a in _ALIAS_SEPARATORS.split(row.get("aliases")) if a.strip()]
        stations.append(Station(community=row.get("community"), station=row.get("station"),
                                aliases=aliases, row=row.number))
    return StationDirectory(stations, problems, table.path)


# --- comparing what was said with what was recorded -------------------------------------

def phone_digits(text: str) -> str:
    """The digits of a phone number, written or spoken (幺三零…, 洞 = 0); nothing else.

    Phone numbers are read digit by digit, so 十 and the like are not numbers here.
    """
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(ch if ch.isascii() and ch.isdigit() else SPOKEN_DIGITS.get(ch, "")
                   for ch in text)


_FIRST_NUMBER = re.compile(r"\d|[零〇一二三四五六七八九十幺两]+(?=号|栋|幢|座|单元|楼|层|室)")
# What residents put before the community: "我是滨河湾…的", "我家住在…".
_PLACE_LEADS = re.compile(
    r"^(.*?(我是|我们家是|我家是|我们家在|我家在|我们家住|我家住|家住|住在|我在|我们是)|在)")


def community_of(address: str) -> str:
    """The community part of an address: what comes before its first house number (五里仓小区
    keeps its 五, a numeral that counts nothing)."""
    text = unicodedata.normalize("NFKC", address or "").replace(" ", "")
    m = _FIRST_NUMBER.search(text)
    return text[: m.start()] if m else text


def place_said(text: str) -> str:
    """The community a resident names in a sentence that may carry more ("你好，我是滨河湾十号楼…
    的"): the clause before the first house number, without leads like 我是."""
    head = _PLACE_LEADS.sub("", re.split(r"[，,。！？!?；;、\s]", community_of(text))[-1])
    if head:
        return head
    # Said backwards ("四零一，三单元，七号楼，新华小区"): the community comes last.
    numbers = list(_HOUSE_NUMBER.finditer(unicodedata.normalize("NFKC", text or "")))
    if not numbers:
        return ""
    tail = unicodedata.normalize("NFKC", text)[numbers[-1].end():]
    tail = re.sub(r"^(号楼|号|栋|幢|座|单元|门|室|户|楼|层)", "", tail)
    return next((c for c in re.split(r"[，,。！？!?；;、\s]", tail) if c), "")


def phone_numbers(text: str) -> list[str]:
    """The numbers in a ticket's phone field: one, or several joined by / 、 , ; or spaces
    between whole numbers ("13603198822/2286410"); dashes and spaces inside one number
    ("136-0312-7789", "0316 2285731") are formatting."""
    parts = [phone_digits(p) for p in re.split(r"[/、,，;；|]|\s{2,}|(?<=\d{7})\s+(?=\d{7})",
                                              text or "")]
    return [p for p in parts if p]


def _national(digits: str) -> str:
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) in (10, 11):
            return digits[len(prefix):]
    return digits


def same_phone(a: str, b: str) -> bool:
    """Whether two phone numbers are the same line: +86 and an omitted area code forgiven."""
    x, y = _national(phone_digits(a)), _national(phone_digits(b))
    if not x or not y:
        return False
    if x == y:
        return True
    short, long = sorted((x, y), key=len)
    # A landline with and without its area code (0xx / 0xxx).
    return (len(short) in (7, 8) and long.endswith(short)
            and long.startswith("0") and len(long) - len(short) in (3, 4))


_CN_DIGITS = "".join(SPOKEN_DIGITS)
# A Chinese number counts as a house number before a unit word, punctuation or the end,
# or as a run of three digits or more (a room: 三零二), so that community names
# (三师家属院, 五里仓) are not read as numbers.
_HOUSE_NUMBER = re.compile(
    rf"\d+|[{_CN_DIGITS}十百千]+(?=号|栋|幢|座|单元|门|楼|层|室|户|排|区|\W|$)"
    rf"|[{_CN_DIGITS}]{{3,}}")


def _cn_number(run: str) -> str:
    if any(unit in run for unit in "十百千"):
        return str(int(cn2an.cn2an(run.replace("幺", "一").replace("两", "二"), "smart")))
    return "".join(SPOKEN_DIGITS[ch] for ch in run)  # 五零三: read digit by digit


def house_numbers(address: str) -> list[str]:
    """The numbers of an address: building, unit, room (十一号楼二单元五零三 -> 11, 2, 503)."""
    text = unicodedata.normalize("NFKC", address or "")
    numbers = []
    for match in _HOUSE_NUMBER.finditer(text):
        run = match.group(0)
        try:
            number = run if run.isdigit() else _cn_number(run)
        except (ValueError, KeyError):
            continue  # not a numeral after all (e.g. 十十)
        numbers.append(str(int(number)))
    return numbers


# What the word after a house number makes of it; longer words first (号楼 before 号 and 楼).
_NUMBER_KINDS = (("号楼", "building"), ("栋", "building"), ("幢", "building"), ("座", "building"),
                 ("单元", "unit"), ("门", "unit"), ("室", "room"), ("户", "room"),
                 ("号", "building"), ("楼", "floor"), ("层", "floor"))


def address_parts(address: str) -> dict[str, str]:
    """Building, unit and room of an address by the words that name them, in whatever order
    they were said ("四零一，三单元，七号楼" -> building 7, unit 3, room 401)."""
    text = unicodedata.normalize("NFKC", address or "")
    parts: dict[str, str] = {}
    for match in _HOUSE_NUMBER.finditer(text):
        run = match.group(0)
        try:
            number = str(int(run if run.isdigit() else _cn_number(run)))
        except (ValueError, KeyError):
            continue
        after = text[match.end(): match.end() + 2]
        kind = next((k for word, k in _NUMBER_KINDS if after.startswith(word)),
                    "room" if len(number) >= 3 else None)
        if kind is not None:
            parts.setdefault(kind, number)
    return parts


def same_house(a: str, b: str) -> bool:
    """Whether two addresses name the same building, unit and room, each named by its word,
    whatever the order."""
    x, y = address_parts(a), address_parts(b)
    keys = ("building", "unit", "room")
    return all(k in x and k in y for k in keys) and all(x[k] == y[k] for k in keys)


def same_address_numbers(a: str, b: str) -> bool:
    """Whether two addresses name the same building, unit and room (names aside)."""
    return house_numbers(a) == house_numbers(b)


# --- checks without a transcript --------------------------------------------------------

def _finding(code: str, detail: str, fines: Mapping[str, float], item: str | None = None
             ) -> Finding:
    return Finding(code=code, fine_yuan=float(fines.get(code, 0.0)), detail=detail, item=item,
                   serious=code in SERIOUS_CODES)


def cdr_findings(meta: CallMeta, ticket: TicketMatch | None, *, fines: Mapping[str, float],
                 rules: DispatchRules | None = None, have_tickets: bool = True,
                 now: datetime | None = None) -> list[Finding]:
    """slow_answer, agent_hung_up, missing_ticket, repair_overdue for one call.

    `have_tickets=False` when no ticket export was given: a missing ticket then says
    nothing. `now` is the audit time, against which an unrepaired ticket is measured.
    """
    rules = rules or DispatchRules()
    findings = []
    # Follow-ups are outbound: the ring is the resident's phone, not the agent's delay.
    if (meta.call_type != "followup" and meta.ring_seconds is not None
            and meta.ring_seconds > rules.max_ring_seconds):
        findings.append(_finding(
            "slow_answer", f"the phone rang {meta.ring_seconds:g} s before the agent answered "
            f"(limit {rules.max_ring_seconds:g} s, about three rings)", fines))
    if meta.hangup_by == "agent":
        findings.append(_finding("agent_hung_up", "the agent ended the call before the "
                                 "resident (call record: hangup_by agent)", fines))
    if meta.call_type == "repair" and have_tickets and ticket is None:
        findings.append(_finding("missing_ticket", "no ticket was found for this repair call "
                                 "(by call id, or by the agent within "
                                 f"{rules.ticket_window_minutes:g} min)", fines))
    # On the intake call and on a follow-up of the ticket: the follow-up is where such an
    # abnormal event (异常事件) is heard about and reported.
    if ticket is not None:
        overdue = _overdue(ticket.ticket, rules, now or datetime.now())
        if overdue:
            findings.append(_finding("repair_overdue", overdue, fines))
    return findings


def _overdue(ticket: Ticket, rules: DispatchRules, now: datetime) -> str | None:
    """A repair that took longer than the limit. A ticket still open is not judged here:
    when the export was taken is unknown (a stale export would fine every open ticket);
    the tally counts open tickets as unfinished (未完成) instead."""
    if ticket.created_at is None or ticket.repaired_at is None:
        return None
    taken = ticket.repaired_at - ticket.created_at
    if taken <= timedelta(hours=rules.max_repair_hours):
        return None
    hours = taken.total_seconds() / 3600
    return (f"ticket {ticket.ticket_id} took {hours:.1f} h from intake to repair "
            f"(limit {rules.max_repair_hours:g} h)")


# --- the repeat rule for serious violations ---------------------------------------------

def _is_serious(finding: Finding) -> bool:
    return finding.serious or finding.code in SERIOUS_CODES


def apply_repeat_rule(audits: Iterable[CallAudit], *, extra_yuan: float = 50,
                      free_count: int = 3) -> list[CallAudit]:
    """Copies of the audits with each agent's serious violations after the third in a
    calendar month costing `extra_yuan` more (domain.md: 10元 each, 50元 more after the
    third). Counted in call order; audits without an agent or a date are left as they are.
    Idempotent: an extra added before is taken off first.
    """
    copies = [audit.model_copy(deep=True) for audit in audits]
    groups: dict[tuple[str, str], list[CallAudit]] = defaultdict(list)
    for audit in copies:
        for finding in audit.findings:
            _undo_repeat(finding)
        if audit.agent_id and audit.started_at:
            groups[(audit.agent_id, audit.started_at.strftime("%Y-%m"))].append(audit)
    for (agent, month), group in groups.items():
        count = 0
        for audit in sorted(group, key=lambda a: (a.started_at, a.call_id)):
            for finding in filter(_is_serious, audit.findings):
                count += 1
                if count > free_count:
                    finding.fine_yuan += extra_yuan
                    finding.repeat_extra_yuan = extra_yuan  # type: ignore[attr-defined]
                    finding.detail = (f"{finding.detail} (repeat: serious violation no. "
                                      f"{count} of agent {agent} in {month}, "
                                      f"+{extra_yuan:g} yuan)").lstrip()
    return copies


def _undo_repeat(finding: Finding) -> None:
    extra = (finding.model_extra or {}).pop("repeat_extra_yuan", 0) or 0
    if extra:
        finding.fine_yuan -= extra
        finding.detail = re.sub(r"\s*\(repeat: [^()]*\)$", "", finding.detail)
