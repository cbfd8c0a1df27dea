"""The monthly tally: per-agent deductions and fines, follow-up answers, station figures
and the daily station report (日报表), as an Excel workbook or one CSV per sheet.

Every figure uses the final verdicts: a lead's decision or an accepted appeal replaces
the machine's. Fines follow the repeat rule (`qa_audit.dispatch.apply_repeat_rule`):
serious violations cost more after the third in a month. Nothing personal about residents
is written: the tally goes to HR and the office.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from qa_audit.dispatch import SERIOUS_CODES, DispatchRules, apply_repeat_rule
from qa_audit.errors import InputError
from qa_audit.phrasebook import Phrasebook
from qa_audit.records import CallAudit, Finding, Station, Ticket
from qa_audit.review_page import CALL_TYPE_ZH, Labels
from qa_audit.sampling import call_started_at
from qa_audit.store import Store, parse_month
from qa_audit.store_rows import FindingRow, MonthVerdicts

# The daily report's repair categories (seed 004), as tickets.csv spells them.
CATEGORIES = (("不热", "报修不热 not warm"), ("冰凉", "报修冰凉 ice cold"),
              ("测温", "要求测温 temperature check"), ("漏水", "报修漏水 leak"))
ENQUIRY = "咨询"
DISPATCH_ERRORS = ("wrong_station",)
TICKET_ERRORS = ("wrong_address", "wrong_phone", "wrong_name")
APPEAL_STATE_ZH = {"open": "处理中", "accepted": "已通过", "rejected": "已驳回"}

# The sheets' columns, shared by the SQL tally and the in-memory reference.
AGENT_COLUMNS = [
    "工号 agent", "抽查通话 calls audited", "报修 repair", "回访量 follow-ups",
    "月累计扣分值 points lost", "得分率% score rate", "不合格项 failed items",
    "待复核项 open reviews", "问题数 findings", "严重违纪 serious", "罚款 fines (yuan)",
    "累犯加罚 repeat extra", "罚款合计 fines total", "申诉 appeals", "申诉通过 accepted",
    "抽查样本 sampled", "样本已审 sampled audited", "录音异常 unusable recordings",
]
FINES_COLUMNS = [
    "工号 agent", "时间 time", "录音编号 call", "问题 finding", "代码 code",
    "严重违纪 serious", "罚款 fine", "累犯加罚 repeat extra", "合计 total"
]
FOLLOWUP_COLUMNS = [
    "工号 agent", "回访量 follow-up calls", "已解决 resolved", "未解决 not resolved",
    "满意 satisfied", "一般 neutral", "不满意 dissatisfied", "维修工收费 charged",
    "打分数 rated", "平均打分 avg rating", "打分未听清 rating unheard"
]
APPEAL_COLUMNS = [
    "编号 id", "工号 agent", "录音编号 call", "项目 item", "状态 state", "提出日期 filed",
    "处理人 resolved by"
]


@dataclass
class Sheet:
    key: str  # file-name part of the sheet's CSV
    title: str  # the workbook's sheet name, Chinese with English
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Tally:
    month: str
    sheets: list[Sheet]

    def sheet(self, key: str) -> Sheet:
        return next(s for s in self.sheets if s.key == key)


def _month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(month + "-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def _lost(audit: CallAudit, item_statuses: tuple[str, ...] = ("fail", "review")) -> float:
    return sum(i.max_points - i.points for i in audit.items if i.status in item_statuses)


def _dated(audits: Iterable[CallAudit]) -> list[CallAudit]:
    """The repeat rule counts in call order by date; take the date from the call id if need be."""
    return [a if a.started_at else a.model_copy(
        update={"started_at": call_started_at(a.call_id)}) for a in audits]


def _with_repeat_rule(audits: list[CallAudit], *, extra_yuan: float,
                      free_count: int) -> list[CallAudit]:
    """The repeat rule applied; only calls with a serious violation take part (the rule
    copies what it is given, which for a month of clean calls is most of the time)."""
    serious = [a for a in audits if any(_serious(f) for f in a.findings)]
    ruled = {a.call_id: a for a in apply_repeat_rule(serious, extra_yuan=extra_yuan,
                                                     free_count=free_count)}
    return [ruled.get(a.call_id, a) for a in audits]


def build_tally(
    store: Store,
    month: str,
    *,
    tickets: Sequence[Ticket] | None = None,
    stations: Sequence[Station] | None = None,
    phrasebook: Phrasebook | None = None,
    now: datetime | None = None,
) -> Tally:
    """All sheets of one month. `tickets` default to the store's; `stations` order the
    daily report (every station gets a row each day) — without them, the tickets' stations.

    Aggregated in SQLite over the verdict rows (qa_audit.store_rows), final verdicts
    applied there: no audit's JSON is read, so time and memory follow the month's agents,
    findings and tickets, not the size of the store. The same sheets and numbers as
    `build_tally_from_audits`."""
    month = parse_month(month)
    if not store.count_audits(month=month):
        known = ", ".join(store.months()) or "none"
        raise InputError(f"no audits for {month} in {store.path}; months with audits: {known}")
    first, last = _month_bounds(month)
    free = phrasebook.fine_rules.repeat_free_count if phrasebook else 3
    extra = phrasebook.fine_rules.repeat_extra_yuan if phrasebook else 50
    findings = _repeat_rule_rows(store.final_findings(month=month), extra_yuan=extra,
                                 free_count=free)
    names: list[str] | None = None
    has_enquiries: bool | None = None
    if tickets is not None:
        all_tickets = list(tickets)
        daily_tickets = all_tickets
        by_id = {t.ticket_id: t for t in all_tickets}
        by_call = {t.call_id: t for t in all_tickets if t.call_id}
    else:
        daily_tickets = store.tickets_counting_in(first, last)
        named = store.tickets_named({f.row.call_id for f in findings},
                                    {f.row.ticket_id for f in findings if f.row.ticket_id},
                                    last)
        by_id = {t.ticket_id: t for t in named}
        by_call = {t.call_id: t for t in named if t.call_id}
        names = list(dict.fromkeys([s.station for s in stations or []]))
        names += sorted(store.ticket_stations(last) - set(names))
        has_enquiries = any((c or "").strip() == ENQUIRY
                            for c in store.ticket_categories(last, ENQUIRY))
    month_tickets = [t for t in daily_tickets
                     if t.created_at and first <= t.created_at.date() <= last]
    labels = Labels.from_phrasebook(phrasebook)
    month_end = datetime.combine(last + timedelta(days=1), datetime.min.time())
    cutoff = min(now or datetime.now(), month_end)
    errors: Counter[tuple[str, str]] = Counter()
    for finding in findings:
        ticket = by_call.get(finding.row.call_id) or by_id.get(finding.row.ticket_id or "")
        station = (ticket.station if ticket else None) or finding.row.station or "?"
        errors[(station, finding.row.code)] += 1
    verdicts = store.month_verdicts(month=month)
    return Tally(month, [
        _agents_sheet_sql(store, month, verdicts, findings),
        _points_sheet_sql(verdicts, labels),
        _findings_sheet_sql(findings, labels),
        _fines_sheet_sql(findings, labels),
        _followups_sheet_sql(store, month),
        _stations_figures(errors, month_tickets, stations, cutoff),
        _daily_sheet(daily_tickets, stations, first, last, names=names,
                     has_enquiries=has_enquiries),
        _samples_sheet(store, month),
        _appeals_sheet_sql(store, month, labels),
    ])


@dataclass(frozen=True)
class _Fined:
    """A standing finding with the repeat rule's extra (0 when none)."""

    row: FindingRow
    repeat_extra: float

    @property
    def fine_yuan(self) -> float:
        return self.row.fine_yuan + self.repeat_extra

    @property
    def serious(self) -> bool:
        return self.row.serious or self.row.code in SERIOUS_CODES


def _repeat_rule_rows(rows: list[FindingRow], *, extra_yuan: float,
                      free_count: int) -> list[_Fined]:
    """`apply_repeat_rule` on rows in call-time order: an agent's serious violations after
    the `free_count`-th in a calendar month cost `extra_yuan` more."""
    counts: Counter[tuple[str, str]] = Counter()
    out = []
    for row in rows:
        extra = 0.0
        if row.audit_agent and row.started_at and (row.serious or row.code in SERIOUS_CODES):
            key = (row.audit_agent, row.started_at[:7])
            counts[key] += 1
            if counts[key] > free_count:
                extra = extra_yuan
        out.append(_Fined(row, extra))
    return out


def _by_agent_rows(findings: Iterable[_Fined]) -> dict[str, list[_Fined]]:
    groups: dict[str, list[_Fined]] = defaultdict(list)
    for finding in findings:
        groups[finding.row.agent].append(finding)
    return groups


def _agents_sheet_sql(store: Store, month: str, verdicts: MonthVerdicts,
                      all_findings: list[_Fined]) -> Sheet:
    samples = store.samples(month=month)
    appeals = store.appeals(month=month)
    by_agent = _by_agent_rows(all_findings)
    # Unusable recordings (录音异常) have no items and no findings, so they add nothing to
    # the figures; they are not audited calls, and are counted in a column of their own.
    unusable = store.unusable_counts(month)
    rows = []
    for totals in verdicts.agents:
        agent = totals.agent
        findings = by_agent.get(agent, [])
        repeat = sum(f.repeat_extra for f in findings)
        fines = sum(f.fine_yuan for f in findings)
        sampled = [s for s in samples if s.agent_id == agent]
        mine = [p for p in appeals if p.agent_id == agent]
        rows.append([
            agent, totals.calls - unusable.get(agent, 0), totals.repair, totals.followup,
            _num(totals.points_lost),
            _num(round(100 * totals.score / max(totals.max_score, 1), 1)),
            totals.failed_items, totals.open_reviews,
            len(findings), sum(f.serious for f in findings),
            _num(fines - repeat), _num(repeat), _num(fines),
            len(mine), sum(p.state == "accepted" for p in mine),
            len(sampled), sum(s.audited for s in sampled),
            unusable.get(agent, 0),
        ])
    return Sheet("agents", "坐席 agents", list(AGENT_COLUMNS), rows)


def _points_sheet_sql(verdicts: MonthVerdicts, labels: Labels) -> Sheet:
    columns: dict[tuple[str, str], str] = {}
    for call_type, item_id, label in verdicts.columns:
        kind = CALL_TYPE_ZH.get(call_type, call_type)
        name = labels.item(call_type, item_id, label)
        columns[(call_type, item_id)] = f"{name}（{kind}） {item_id}"
    rows = []
    for totals in verdicts.agents:
        own = [verdicts.lost.get((totals.agent, *key), 0.0) for key in columns]
        rows.append([totals.agent, _num(sum(own)), *(_num(v) for v in own)])
    return Sheet("points", "扣分明细 points lost", ["工号 agent", "合计 total", *columns.values()],
                 rows)


def _findings_sheet_sql(all_findings: list[_Fined], labels: Labels) -> Sheet:
    rows = []
    for agent, own in sorted(_by_agent_rows(all_findings).items()):
        count: Counter[str] = Counter()
        yuan: defaultdict[str, float] = defaultdict(float)
        for finding in own:
            count[finding.row.code] += 1
            yuan[finding.row.code] += finding.fine_yuan
        for code in sorted(count):
            rows.append([agent, code, labels.finding(code), count[code], _num(yuan[code])])
    return Sheet("findings", "问题 findings",
                 ["工号 agent", "代码 code", "问题 finding", "次数 count", "罚款 yuan"], rows)


def _fines_sheet_sql(all_findings: list[_Fined], labels: Labels) -> Sheet:
    rows = []
    for agent, own in sorted(_by_agent_rows(all_findings).items()):
        for finding in own:  # in call-time order already
            if not finding.fine_yuan:
                continue
            started = finding.row.started_at
            rows.append([
                agent, datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M")
                if started else "",
                finding.row.call_id, labels.finding(finding.row.code), finding.row.code,
                "是" if finding.serious else "",
                _num(finding.fine_yuan - finding.repeat_extra), _num(finding.repeat_extra),
                _num(finding.fine_yuan),
            ])
    return Sheet("fines", "罚款明细 fines", list(FINES_COLUMNS), rows)


def _followups_sheet_sql(store: Store, month: str) -> Sheet:
    rows = [[
        t.agent, t.calls, t.resolved_yes, t.resolved_no, t.satisfied, t.neutral,
        t.dissatisfied, t.charged, t.rated,
        _num(round(t.rating_sum / t.rated, 2)) if t.rated else None, t.unheard_ratings,
    ] for t in store.answer_totals(month=month)]
    return Sheet("followups", "回访 follow-ups", list(FOLLOWUP_COLUMNS), rows)


def _appeals_sheet_sql(store: Store, month: str, labels: Labels) -> Sheet:
    appeals = store.appeals(month=month)
    calls = store.call_types([p.call_id for p in appeals])
    rows = []
    for p in appeals:
        call_type, items = calls.get(p.call_id, ("", set()))
        rows.append([p.id, p.agent_id, p.call_id,
                     labels.item(call_type, p.item) if p.item in items
                     else labels.finding(p.item),
                     APPEAL_STATE_ZH[p.state], p.filed_at.strftime("%Y-%m-%d"),
                     p.resolved_by or ""])
    return Sheet("appeals", "申诉 appeals", list(APPEAL_COLUMNS), rows)


# --- the reference: every audit of the month in memory ------------------------------------

def build_tally_from_audits(
    store: Store,
    month: str,
    *,
    tickets: Sequence[Ticket] | None = None,
    stations: Sequence[Station] | None = None,
    phrasebook: Phrasebook | None = None,
    now: datetime | None = None,
) -> Tally:
    """The tally computed from every audit of the month held in memory: the way it was
    done before the verdict rows, kept as the reference `build_tally` is tested and
    benchmarked against (scripts/bench_store.py). Slow and memory-hungry on a big store."""
    month = parse_month(month)
    audits = store.audits(month=month)
    if not audits:
        known = ", ".join(store.months()) or "none"
        raise InputError(f"no audits for {month} in {store.path}; months with audits: {known}")
    first, last = _month_bounds(month)
    free = phrasebook.fine_rules.repeat_free_count if phrasebook else 3
    extra = phrasebook.fine_rules.repeat_extra_yuan if phrasebook else 50
    audits = _with_repeat_rule(_dated(audits), extra_yuan=extra, free_count=free)
    all_tickets = list(tickets) if tickets is not None else store.tickets(date_to=last)
    month_tickets = [t for t in all_tickets
                     if t.created_at and first <= t.created_at.date() <= last]
    labels = Labels.from_phrasebook(phrasebook)
    # Overdue is judged at the month's end, or now for the running month.
    month_end = datetime.combine(last + timedelta(days=1), datetime.min.time())
    cutoff = min(now or datetime.now(), month_end)
    return Tally(month, [
        _agents_sheet(store, month, audits),
        _points_sheet(audits, labels),
        _findings_sheet(audits, labels),
        _fines_sheet(audits, labels),
        _followups_sheet(audits),
        _stations_sheet(audits, month_tickets, all_tickets, stations, cutoff),
        _daily_sheet_by_scan(all_tickets, stations, first, last),
        _samples_sheet(store, month),
        _appeals_sheet(store, month, labels, audits),
    ])


def _by_agent(audits: Iterable[CallAudit]) -> dict[str, list[CallAudit]]:
    groups: dict[str, list[CallAudit]] = defaultdict(list)
    for audit in audits:
        groups[audit.agent_id or "?"].append(audit)
    return dict(sorted(groups.items()))


def _serious(finding: Finding) -> bool:
    return finding.serious or finding.code in SERIOUS_CODES


def _repeat_extra(finding: Any) -> float:
    return float((finding.model_extra or {}).get("repeat_extra_yuan", 0) or 0)


def _agents_sheet(store: Store, month: str, audits: list[CallAudit]) -> Sheet:
    samples = store.samples(month=month)
    appeals = store.appeals(month=month)
    # Unusable recordings (录音异常) are held against no one: they have no items and no
    # findings, so they add nothing to the figures; they are not audited calls, and are
    # counted in a column of their own.
    unusable = store.unusable_counts(month)
    rows = []
    for agent, own in _by_agent(audits).items():
        findings = [f for a in own for f in a.findings]
        repeat = sum(_repeat_extra(f) for f in findings)
        fines = sum(f.fine_yuan for f in findings)
        sampled = [s for s in samples if s.agent_id == agent]
        mine = [p for p in appeals if p.agent_id == agent]
        rows.append([
            agent, len(own) - unusable.get(agent, 0),
            sum(a.call_type == "repair" for a in own), sum(a.call_type == "followup" for a in own),
            _num(sum(_lost(a) for a in own)),
            _num(round(100 * sum(a.score for a in own) / max(sum(a.max_score for a in own), 1), 1)),
            sum(i.status == "fail" for a in own for i in a.items),
            sum(i.status == "review" for a in own for i in a.items),
            len(findings),
            sum(_serious(f) for f in findings),
            _num(fines - repeat), _num(repeat), _num(fines),
            len(mine), sum(p.state == "accepted" for p in mine),
            len(sampled), sum(s.audited for s in sampled),
            unusable.get(agent, 0),
        ])
    return Sheet("agents", "坐席 agents", list(AGENT_COLUMNS), rows)


def _points_sheet(audits: list[CallAudit], labels: Labels) -> Sheet:
    """Points lost per agent and form item, items in form order."""
    columns: dict[tuple[str, str], str] = {}
    for audit in audits:
        for item in audit.items:
            key = (audit.call_type, item.id)
            if key not in columns:
                kind = CALL_TYPE_ZH.get(audit.call_type, audit.call_type)
                label = labels.item(audit.call_type, item.id, item.label)
                columns[key] = f"{label}（{kind}） {item.id}"
    rows = []
    for agent, own in _by_agent(audits).items():
        lost: defaultdict[tuple[str, str], float] = defaultdict(float)
        for audit in own:
            for item in audit.items:
                if item.status in ("fail", "review"):
                    lost[(audit.call_type, item.id)] += item.max_points - item.points
        rows.append([agent, _num(sum(lost.values())), *(_num(lost[k]) for k in columns)])
    return Sheet("points", "扣分明细 points lost", ["工号 agent", "合计 total", *columns.values()],
                 rows)


def _findings_sheet(audits: list[CallAudit], labels: Labels) -> Sheet:
    rows = []
    for agent, own in _by_agent(audits).items():
        count: Counter[str] = Counter()
        yuan: defaultdict[str, float] = defaultdict(float)
        for finding in (f for a in own for f in a.findings):
            count[finding.code] += 1
            yuan[finding.code] += finding.fine_yuan
        for code in sorted(count):
            rows.append([agent, code, labels.finding(code), count[code], _num(yuan[code])])
    return Sheet("findings", "问题 findings",
                 ["工号 agent", "代码 code", "问题 finding", "次数 count", "罚款 yuan"], rows)


def _fines_sheet(audits: list[CallAudit], labels: Labels) -> Sheet:
    """Each fined finding, so the repeat rule can be checked line by line."""
    rows = []
    for agent, own in _by_agent(audits).items():
        for audit in sorted(own, key=lambda a: (a.started_at or datetime.min, a.call_id)):
            for finding in audit.findings:
                if not finding.fine_yuan:
                    continue
                repeat = _repeat_extra(finding)
                rows.append([
                    agent, audit.started_at.strftime("%Y-%m-%d %H:%M") if audit.started_at else "",
                    audit.call_id, labels.finding(finding.code), finding.code,
                    "是" if _serious(finding) else "",
                    _num(finding.fine_yuan - repeat), _num(repeat), _num(finding.fine_yuan),
                ])
    return Sheet("fines", "罚款明细 fines", list(FINES_COLUMNS), rows)


def _followups_sheet(audits: list[CallAudit]) -> Sheet:
    rows = []
    for agent, own in _by_agent(audits).items():
        answers = [a.answers for a in own if a.call_type == "followup"]
        if not answers:
            continue
        ratings = [float(x["rating"]) for x in answers if _is_rating(x.get("rating"))]
        rows.append([
            agent, len(answers),
            sum(x.get("resolved") == "yes" for x in answers),
            sum(x.get("resolved") == "no" for x in answers),
            sum(x.get("attitude") == "satisfied" for x in answers),
            sum(x.get("attitude") == "neutral" for x in answers),
            sum(x.get("attitude") == "dissatisfied" for x in answers),
            sum(x.get("charged") == "yes" for x in answers),
            len(ratings), _num(round(sum(ratings) / len(ratings), 2)) if ratings else None,
            sum("rating" in a.unheard for a in own if a.call_type == "followup"),
        ])
    return Sheet("followups", "回访 follow-ups", list(FOLLOWUP_COLUMNS), rows)


def _is_rating(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _station_order(stations: Sequence[Station] | None, tickets: Iterable[Ticket]) -> list[str]:
    names = [s.station for s in stations or []]
    names += sorted({t.station for t in tickets if t.station} - set(names))
    return list(dict.fromkeys(names))


def _overdue(ticket: Ticket, cutoff: datetime) -> bool:
    if ticket.created_at is None:
        return False
    done = ticket.repaired_at or cutoff
    return done - ticket.created_at > timedelta(hours=DispatchRules.max_repair_hours)


def _stations_sheet(audits: list[CallAudit], month_tickets: list[Ticket],
                    all_tickets: list[Ticket], stations: Sequence[Station] | None,
                    cutoff: datetime) -> Sheet:
    by_id = {t.ticket_id: t for t in all_tickets}
    by_call = {t.call_id: t for t in all_tickets if t.call_id}
    errors: Counter[tuple[str, str]] = Counter()
    for audit in audits:
        ticket = by_call.get(audit.call_id) or by_id.get(audit.ticket_id or "")
        station = (ticket.station if ticket else None) or audit.station or "?"
        for finding in audit.findings:
            errors[(station, finding.code)] += 1
    return _stations_figures(errors, month_tickets, stations, cutoff)


def _stations_figures(errors: Counter[tuple[str, str]], month_tickets: list[Ticket],
                      stations: Sequence[Station] | None, cutoff: datetime) -> Sheet:
    rows = []
    for station in _station_order(stations, month_tickets):
        own = [t for t in month_tickets if t.station == station]
        rows.append([
            station, len(own),
            sum(errors[(station, c)] for c in DISPATCH_ERRORS),
            sum(errors[(station, c)] for c in TICKET_ERRORS),
            sum(t.repaired_at is not None for t in own),
            sum(t.repaired_at is None for t in own),
            sum(_overdue(t, cutoff) for t in own),
            sum(t.followed_up_at is not None for t in own),
        ])
    return Sheet("stations", "维修站 stations", [
        "维修站 station", "工单 tickets", "派错站 dispatch errors (sent here)",
        "工单信息错误 ticket errors", "已维修 repaired", "未完成 not finished",
        f"超时维修 overdue (>{DispatchRules.max_repair_hours:g}h)", "已回访 followed up"], rows)


DAILY_COLUMNS = [
    "日期 date", "维修站 station", "报修量（今日报修） repairs", "咨询量 enquiries",
    *(title for _, title in CATEGORIES), "已维修（今日维修） repaired",
    "已回访 followed up", "累计报修 month repairs", "累计维修 month repaired",
    "未完成 not finished"]


@dataclass
class _StationDays:
    """One station's tickets as counts by day and sorted days, so that a day's figures are
    lookups and bisections rather than a pass over every ticket."""

    new: Counter[tuple[date, str]]  # (day made, category or ENQUIRY) -> tickets
    repaired: Counter[date]
    followed: Counter[date]
    made: list[date]  # repairs (not enquiries): days made, sorted
    done: list[date]  # repairs repaired: the later of the days made and repaired, sorted
    month_made: list[date]  # the same two for repairs made in the month
    month_done: list[date]

    @classmethod
    def of(cls, tickets: Iterable[Ticket], first: date) -> _StationDays:
        days = cls(Counter(), Counter(), Counter(), [], [], [], [])
        for t in tickets:
            made = t.created_at.date() if t.created_at else None
            repaired = t.repaired_at.date() if t.repaired_at else None
            category = (t.category or "").strip()
            if repaired:
                days.repaired[repaired] += 1
            if t.followed_up_at:
                days.followed[t.followed_up_at.date()] += 1
            if made is None:
                continue
            days.new[(made, category)] += 1
            if category == ENQUIRY:
                continue
            days.made.append(made)
            if repaired:
                days.done.append(max(made, repaired))
            if made >= first:
                days.month_made.append(made)
                if repaired:
                    days.month_done.append(max(made, repaired))
        for sorted_days in (days.made, days.done, days.month_made, days.month_done):
            sorted_days.sort()
        return days

    def row(self, day: date, has_enquiries: bool) -> list[Any]:
        new = {category: n for (made, category), n in self.new.items() if made == day}
        repairs = sum(n for category, n in new.items() if category != ENQUIRY)
        return [
            repairs,
            new.get(ENQUIRY, 0) if has_enquiries else None,
            *(new.get(category, 0) for category, _ in CATEGORIES),
            self.repaired[day],
            self.followed[day],
            bisect_right(self.month_made, day),
            bisect_right(self.month_done, day),
            # Not finished: made by that day and not repaired by its end, even last month's.
            bisect_right(self.made, day) - bisect_right(self.done, day),
        ]


def _daily_sheet(tickets: list[Ticket], stations: Sequence[Station] | None,
                 first: date, last: date, *, names: list[str] | None = None,
                 has_enquiries: bool | None = None) -> Sheet:
    """日报表: per day and station; cumulative figures count from the month's first day.
    `names` and `has_enquiries` come from all tickets up to the month's end when `tickets`
    holds only those that count in the month (the SQL tally's)."""
    if has_enquiries is None:
        has_enquiries = any((t.category or "").strip() == ENQUIRY for t in tickets)
    active = sorted({moment.date() for t in tickets
                     for moment in (t.created_at, t.repaired_at, t.followed_up_at)
                     if moment and first <= moment.date() <= last})
    if names is None:
        names = _station_order(stations, tickets)
    by_station: dict[str, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_station[t.station or ""].append(t)
    counted = {name: _StationDays.of(by_station.get(name, []), first) for name in names}
    rows = []
    for day in active:
        totals: list[Any] | None = None
        for station in names:
            row = counted[station].row(day, has_enquiries)
            rows.append([day.isoformat(), station, *row])
            totals = row if totals is None else [
                None if a is None else a + b for a, b in zip(totals, row)]
        if totals is not None:
            rows.append([day.isoformat(), "总计", *totals])
    return Sheet("daily", "日报表 daily", list(DAILY_COLUMNS), rows)


def _daily_sheet_by_scan(tickets: list[Ticket], stations: Sequence[Station] | None,
                         first: date, last: date, *, names: list[str] | None = None,
                         has_enquiries: bool | None = None) -> Sheet:
    """日报表 as it was computed before `_daily_sheet`: every ticket looked at for every
    day and station. The reference (`build_tally_from_audits`)."""
    def day_of(moment: datetime | None) -> date | None:
        return moment.date() if moment else None

    if has_enquiries is None:
        has_enquiries = any((t.category or "").strip() == ENQUIRY for t in tickets)
    active = sorted({d for t in tickets for d in (day_of(t.created_at), day_of(t.repaired_at),
                                                  day_of(t.followed_up_at))
                     if d and first <= d <= last})
    if names is None:
        names = _station_order(stations, tickets)
    by_station: dict[str, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_station[t.station or ""].append(t)
    rows = []
    for day in active:
        totals: list[Any] | None = None
        for station in names:
            own = by_station.get(station, [])
            new = [t for t in own if day_of(t.created_at) == day]
            repairs = [t for t in new if (t.category or "").strip() != ENQUIRY]
            to_date = [t for t in own if t.created_at and first <= t.created_at.date() <= day
                       and (t.category or "").strip() != ENQUIRY]
            row = [
                len(repairs),
                sum((t.category or "").strip() == ENQUIRY for t in new) if has_enquiries else None,
                *(sum((t.category or "").strip() == cat for t in repairs) for cat, _ in CATEGORIES),
                sum(day_of(t.repaired_at) == day for t in own),
                sum(day_of(t.followed_up_at) == day for t in own),
                len(to_date),
                sum(t.repaired_at is not None and t.repaired_at.date() <= day for t in to_date),
                # Not finished: any ticket up to that day still open at its end, even last month's.
                sum(t.created_at is not None and t.created_at.date() <= day
                    and (t.repaired_at is None or t.repaired_at.date() > day)
                    and (t.category or "").strip() != ENQUIRY for t in own),
            ]
            rows.append([day.isoformat(), station, *row])
            totals = row if totals is None else [
                None if a is None else a + b for a, b in zip(totals, row)]
        if totals is not None:
            rows.append([day.isoformat(), "总计", *totals])
    return Sheet("daily", "日报表 daily", [
        "日期 date", "维修站 station", "报修量（今日报修） repairs", "咨询量 enquiries",
        *(title for _, title in CATEGORIES), "已维修（今日维修） repaired",
        "已回访 followed up", "累计报修 month repairs", "累计维修 month repaired",
        "未完成 not finished"], rows)


def _samples_sheet(store: Store, month: str) -> Sheet:
    rows = [[s.period_key, "每日" if s.period == "day" else "每周", s.agent_id, s.day, s.call_id,
             s.per_agent, s.seed, "是" if s.audited else "否"] for s in store.samples(month=month)]
    return Sheet("samples", "抽查样本 samples", [
        "期间 period", "频次 frequency", "工号 agent", "日期 date", "录音编号 call",
        "每人抽查数 per agent", "随机种子 seed", "已审核 audited"], rows)


def _appeals_sheet(store: Store, month: str, labels: Labels, audits: list[CallAudit]) -> Sheet:
    call_types = {a.call_id: a.call_type for a in audits}
    rows = [[p.id, p.agent_id, p.call_id,
             labels.item(call_types.get(p.call_id, ""), p.item) if p.item in
             {i.id for a in audits if a.call_id == p.call_id for i in a.items}
             else labels.finding(p.item),
             APPEAL_STATE_ZH[p.state], p.filed_at.strftime("%Y-%m-%d"), p.resolved_by or ""]
            for p in store.appeals(month=month)]
    return Sheet("appeals", "申诉 appeals", list(APPEAL_COLUMNS), rows)


# --- writing ----------------------------------------------------------------------------

def write_tally(tally: Tally, out: Path) -> list[Path]:
    """An .xlsx workbook, or for .csv one file per sheet beside it (tally.agents.csv …)."""
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError(f"--out {out} must end in .xlsx (a workbook) or .csv "
                         "(one CSV per sheet beside it)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            return [_write_csv(sheet, out.with_name(f"{out.stem}.{sheet.key}.csv"))
                    for sheet in tally.sheets]
        return [_write_xlsx(tally, out)]
    except PermissionError:
        raise InputError(f"cannot write {out}: permission denied or the file is open in "
                         "Excel; close it or pass another --out") from None
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}; pass another --out") from None


def _write_csv(sheet: Sheet, path: Path) -> Path:
    # utf-8-sig: Excel opens the Chinese headers right only with the BOM.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(sheet.columns)
        writer.writerows(["" if v is None else v for v in row] for row in sheet.rows)
    return path


_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="17324D")
_TOTAL_FONT = Font(bold=True)


def _write_xlsx(tally: Tally, out: Path) -> Path:
    book = Workbook()
    book.remove(book.active)
    for sheet in tally.sheets:
        ws = book.create_sheet(sheet.title)
        ws.append(sheet.columns)
        for row in sheet.rows:
            ws.append(row)
        for cell in ws[1]:
            cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.row_dimensions[1].height = 34
        ws.freeze_panes = "B2"
        for index, name in enumerate(sheet.columns, start=1):
            width = max([len(str(name)) * 0.9] + [len(str(r[index - 1])) * 1.6
                                                   for r in sheet.rows if r[index - 1] is not None])
            ws.column_dimensions[get_column_letter(index)].width = min(max(width, 8), 34)
        if sheet.key == "daily":
            for row in ws.iter_rows(min_row=2):
                if row[1].value == "总计":
                    for cell in row:
                        cell.font = _TOTAL_FONT
    _points_chart(book[tally.sheet("agents").title], tally)
    book.save(out)
    return out


def _points_chart(ws: Any, tally: Tally) -> None:
    """月累计扣分值 per agent as a bar chart beside the agents table."""
    sheet = tally.sheet("agents")
    if not sheet.rows:
        return
    column = sheet.columns.index("月累计扣分值 points lost") + 1
    chart = BarChart()
    chart.type = "col"
    chart.title = f"{tally.month} 月累计扣分值 (points lost per agent)"
    chart.y_axis.title = "扣分 points"
    chart.x_axis.title = "工号 agent"
    chart.legend = None
    last_row = len(sheet.rows) + 1
    chart.add_data(Reference(ws, min_col=column, min_row=1, max_row=last_row),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last_row))
    chart.width, chart.height = 18, 9
    ws.add_chart(chart, f"A{last_row + 3}")
