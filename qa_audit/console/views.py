"""What the console shows, built from the store: one place for pages and the JSON API alike.

Everything an agent receives is masked here, on the server (`Masker`), before it is turned
into JSON or HTML; leads and the head get residents' data as recorded, to check tickets.
The office gets figures only (`month_figures`), never a call's contents.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from qa_audit.console.auth import Actor
from qa_audit.errors import InputError
from qa_audit.phrasebook import Phrasebook
from qa_audit.privacy import Masker
from qa_audit.records import CallAudit, CallMeta
from qa_audit.review_page import CALL_TYPE_ZH, Labels, is_flagged
from qa_audit.sampling import call_started_at, sample_per_agent
from qa_audit.store import Appeal, Store, parse_day, parse_month

# seed 001 (申诉): an appeal within N working days of receiving the result; the seed leaves N
# open ([X]), so it is a setting (`qa-audit serve --appeal-days`).
DEFAULT_APPEAL_DAYS = 5
APPEAL_STATE_ZH = {"open": "处理中", "accepted": "已通过", "rejected": "已驳回"}


class NotFound(InputError):
    """A call (or appeal) that does not exist, or that this actor may not know of."""


@dataclass(frozen=True)
class Settings:
    audio_root: Path | None
    phrasebook: Phrasebook | None
    appeal_days: int = DEFAULT_APPEAL_DAYS

    @property
    def labels(self) -> Labels:
        return Labels.from_phrasebook(self.phrasebook)


# -- calls ------------------------------------------------------------------------------

def call_rows(store: Store, actor: Actor, *, date_from: str | None = None,
              date_to: str | None = None, agent: str | None = None,
              flagged: bool = False) -> list[dict[str, Any]]:
    """The calls list: an agent's own only, flagged first for them."""
    if actor.own_calls_only:
        agent = actor.agent_id or "\0"
    audits = store.audits(agent=agent or None, date_from=parse_day(date_from, "from"),
                          date_to=parse_day(date_to, "to"))
    rows = [{
        "call_id": a.call_id, "agent_id": a.agent_id, "call_type": a.call_type,
        "started_at": _started(a), "score": a.score, "max_score": a.max_score,
        "flagged": is_flagged(a),
    } for a in audits if not flagged or is_flagged(a)]
    if actor.own_calls_only:
        rows.sort(key=lambda r: (not r["flagged"], r["started_at"] or ""))
    return rows


def _started(audit: CallAudit) -> str | None:
    started = call_started_at(audit.call_id, audit.started_at)
    return started.isoformat() if started else None


def visible_audit(store: Store, actor: Actor, call_id: str) -> CallAudit:
    """The call's final audit, when this actor may see it; NotFound otherwise (an agent
    learns nothing of other agents' calls, not even that they exist)."""
    audit = store.get_audit(call_id) if actor.can("calls") else None
    if audit is None or (actor.own_calls_only and (
            not actor.agent_id or audit.agent_id != actor.agent_id)):
        raise NotFound(f"no call {call_id!r}")
    return audit


def call_payload(store: Store, actor: Actor, call_id: str, settings: Settings) -> dict[str, Any]:
    """`GET /api/calls/{id}`: the audit (final verdicts, machine's beside), transcript and
    appeals; masked for an agent."""
    audit = visible_audit(store, actor, call_id)
    transcript = store.get_transcript(call_id)
    tickets = store.tickets_of_call(call_id)
    appeals = store.appeals(call_id=call_id)
    if actor.masked:
        mask = Masker.for_call(transcript, tickets)
        audit = mask.audit(audit)
        transcript = mask.transcript(transcript) if transcript else None
        note = mask.note
    else:
        def note(text: str) -> str:
            return text
    audit_json = audit.model_dump(mode="json")
    if actor.masked:
        # Paths and the model's hotwords are of no use to an agent.
        audit_json.pop("provenance", None)
        audit_json.pop("audio", None)
    payload: dict[str, Any] = {
        "audit": audit_json,
        "transcript": {"utterances": [u.model_dump(mode="json") for u in transcript.utterances]
                       if transcript else []},
        "appeals": [appeal_json(p, note) for p in appeals],
        "audio": audio_path(store, audit, settings) is not None,
        "finding_labels": {f.code: settings.labels.finding(f.code) for f in audit.findings},
    }
    if actor.own_calls_only:
        until = appeal_deadline(store, call_id, settings.appeal_days)
        payload["appeal_until"] = until.isoformat() if until else None
    if not actor.masked:
        payload["tickets"] = [t.model_dump(mode="json") for t in tickets]
    return payload


def appeal_json(appeal: Appeal, note=lambda text: text) -> dict[str, Any]:
    return {"id": appeal.id, "call_id": appeal.call_id, "item": appeal.item,
            "agent_id": appeal.agent_id, "state": appeal.state, "reason": note(appeal.reason),
            "answer": note(appeal.resolution_note or "") if appeal.state != "open" else None,
            "filed_at": appeal.filed_at.isoformat(), "resolved_by": appeal.resolved_by,
            "resolved_at": appeal.resolved_at.isoformat() if appeal.resolved_at else None}


def audio_path(store: Store, audit: CallAudit, settings: Settings) -> Path | None:
    """The call's recording on disk, relative paths from --audio-dir; None if missing."""
    meta = store.get_meta(audit.call_id)
    transcript = None
    source = audit.audio or (meta.recording if meta else None)
    if not source:
        transcript = store.get_transcript(audit.call_id)
        source = transcript.audio if transcript else None
    if not source:
        return None
    path = Path(source)
    if not path.is_absolute():
        path = (settings.audio_root or Path.cwd()) / path
    return path if path.is_file() else None


# -- the review queue -------------------------------------------------------------------

def queue_items(store: Store, *, day: str | None = None, date_from: str | None = None,
                date_to: str | None = None, agent: str | None = None,
                item: str | None = None) -> list[dict[str, Any]]:
    """The store's review queue (`Store.review_queue`) as the API gives it."""
    return [{"call_id": i.call_id, "agent_id": i.agent_id, "call_type": i.call_type,
             "started_at": i.started_at.isoformat() if i.started_at else None,
             "item": i.item, "label": i.label, "reason": i.reason, "evidence": i.evidence}
            for i in store.review_queue(day=day or None, date_from=date_from or None,
                                        date_to=date_to or None, agent=agent or None,
                                        item=item)]


def unusable_recordings(store: Store, *, day: str | None = None, date_from: str | None = None,
                        date_to: str | None = None,
                        agent: str | None = None) -> list[dict[str, Any]]:
    """Recordings with no call in them (录音异常), for the lead to look at and, where the
    recording system lost a call, delete (seed 004: 领班可根据情况删除空录音); nothing in them
    counts against the agent."""
    if day:
        date_from = date_to = day
    out = []
    for audit in store.unusable_calls(agent=agent, date_from=parse_day(date_from, "from"),
                                      date_to=parse_day(date_to, "to")):
        started = call_started_at(audit.call_id, audit.started_at)
        quality = audit.recording_quality
        out.append({"call_id": audit.call_id, "agent_id": audit.agent_id,
                    "call_type": audit.call_type,
                    "started_at": started.isoformat() if started else None,
                    "reason": quality.reason if quality is not None else ""})
    return out


# -- appeals ----------------------------------------------------------------------------

def audited_on(store: Store, call_id: str) -> date | None:
    rows = store._query("SELECT audited_at FROM audits WHERE call_id = ?", (call_id,))
    return datetime.fromisoformat(rows[0]["audited_at"]).date() if rows else None


def add_working_days(start: date, days: int) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def appeal_deadline(store: Store, call_id: str, days: int) -> date | None:
    """The last day an agent may appeal: N working days after the result reached them
    (the day the call was audited), as seed 001 counts them."""
    audited = audited_on(store, call_id)
    return add_working_days(audited, days) if audited else None


def file_appeal(store: Store, actor: Actor, call_id: str, item: str, reason: str,
                settings: Settings, today: date | None = None) -> Appeal:
    visible_audit(store, actor, call_id)
    until = appeal_deadline(store, call_id, settings.appeal_days)
    if until is not None and (today or date.today()) > until:
        raise InputError(f"the appeal window ({settings.appeal_days} working days) of this call "
                         f"closed on {until.isoformat()}")
    return store.appeal(call_id, item, reason=reason, by=actor.name)


def appeals_for(store: Store, actor: Actor, settings: Settings | None = None, *,
                open_only: bool = False) -> list[dict[str, Any]]:
    """All appeals for leads; an agent's own, masked, for an agent. Each carries `label`,
    the item's (or finding's) Chinese name."""
    if actor.own_calls_only:
        found = store.appeals(open_only=open_only, agent=actor.agent_id or "\0")
    else:
        found = store.appeals(open_only=open_only)
    labels = settings.labels if settings else Labels()
    out = []
    calls: dict[str, tuple[Any, Any]] = {}
    for appeal in found:
        if appeal.call_id not in calls:
            audit = store.get_audit(appeal.call_id, final=False)
            mask = Masker.for_call(store.get_transcript(appeal.call_id),
                                   store.tickets_of_call(appeal.call_id)) \
                if actor.masked else None
            calls[appeal.call_id] = (audit, mask)
        audit, mask = calls[appeal.call_id]
        row = appeal_json(appeal, mask.note if mask else (lambda text: text))
        item = audit.item(appeal.item) if audit else None
        row["label"] = (labels.item(audit.call_type, item.id, item.label) if item and audit
                        else labels.finding(appeal.item))
        out.append(row)
    return out


# -- figures ----------------------------------------------------------------------------

def _bar(x: list, y: list, title: str, *, color: str = "#1565c0", ytitle: str = "") -> dict:
    return {"data": [{"type": "bar", "x": x, "y": y, "marker": {"color": color}}],
            "layout": {"title": {"text": title, "font": {"size": 15}},
                       "margin": {"l": 50, "r": 10, "t": 40, "b": 90}, "height": 320,
                       "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero"},
                       "xaxis": {"type": "category"},
                       "font": {"family": "Noto Sans CJK SC, sans-serif"}}}


def month_figures(store: Store, month: str, settings: Settings) -> dict[str, Any]:
    """The month's dashboards: figures only, no call contents (保密制度)."""
    from qa_audit.tally import build_tally  # openpyxl is slow to import; only here

    month = parse_month(month)
    tally = build_tally(store, month, phrasebook=settings.phrasebook)
    audits = store.audits(month=month)
    labels = settings.labels
    agents = tally.sheet("agents")
    ci = {name.split(" ")[0]: i for i, name in enumerate(agents.columns)}
    per_agent = [{"agent_id": r[0], "calls": r[ci["抽查通话"]], "points_lost": r[ci["月累计扣分值"]],
                  "fines_yuan": r[ci["罚款合计"]], "open_reviews": r[ci["待复核项"]]}
                 for r in agents.rows]
    stations = tally.sheet("stations")
    per_station = [{"station": r[0], "tickets": r[1], "dispatch_errors": r[2],
                    "ticket_errors": r[3]} for r in stations.rows]
    judged: Counter[tuple[str, str]] = Counter()
    failed: Counter[tuple[str, str]] = Counter()
    names: dict[tuple[str, str], str] = {}
    for audit in audits:
        for item in audit.items:
            key = (audit.call_type, item.id)
            names[key] = (f"{labels.item(audit.call_type, item.id, item.label)}"
                          f"（{CALL_TYPE_ZH.get(audit.call_type, audit.call_type)}）")
            if item.status != "na":
                judged[key] += 1
            if item.status == "fail":
                failed[key] += 1
    fail_rate = [{"call_type": k[0], "item": k[1], "label": names[k], "judged": judged[k],
                  "failed": failed[k], "rate": round(failed[k] / judged[k], 3)}
                 for k in names if judged[k]]
    backlog: Counter[str] = Counter()
    for audit in audits:
        waiting = sum(i.status == "review" for i in audit.items)
        if waiting:
            backlog[(_started(audit) or "?")[:10]] += waiting
    agreement = overturns(store, month, labels)
    figures = {
        "agents": _bar([f"工号{a['agent_id']}" for a in per_agent],
                       [a["points_lost"] for a in per_agent], "各坐席月累计扣分", ytitle="分"),
        "fines": _bar([f"工号{a['agent_id']}" for a in per_agent],
                      [a["fines_yuan"] for a in per_agent], "各坐席罚款（元）", color="#c62828",
                      ytitle="元"),
        "items": _bar([r["label"] for r in fail_rate], [round(100 * r["rate"], 1)
                                                        for r in fail_rate],
                      "各项目不合格率（%）", color="#a15c00", ytitle="%"),
        "stations": _bar([s["station"] for s in per_station],
                         [s["dispatch_errors"] + s["ticket_errors"] for s in per_station],
                         "各维修站派单/工单错误", color="#6a1b9a", ytitle="次"),
        "backlog": _bar(sorted(backlog), [backlog[d] for d in sorted(backlog)],
                        "待复核积压（按通话日期）", color="#00695c", ytitle="项"),
        "overturns": _bar([r["label"] for r in agreement],
                          [round(100 * r["overturn_rate"], 1) for r in agreement],
                          "人工改判率（按项目，%）", color="#37474f", ytitle="%"),
    }
    return {"month": month, "agents": per_agent, "stations": per_station,
            "items": fail_rate, "backlog": dict(sorted(backlog.items())),
            "overturns": agreement, "figures": figures,
            "review_backlog": sum(backlog.values())}


def overturns(store: Store, month: str, labels: Labels) -> list[dict[str, Any]]:
    """How often people changed the machine's verdict, per item: of the decisions on items
    the machine had judged (pass or fail), how many went the other way; `review` items
    decided count as decided, not as overturned."""
    rows = store._query(
        """SELECT d.call_id, d.target, d.status, d.machine_status, d.source, a.call_type
           FROM decisions d JOIN audits a USING (call_id) WHERE a.day LIKE ? ORDER BY d.id""",
        (month + "-%",))
    latest: dict[tuple[str, str], Any] = {}
    for row in rows:
        latest[(row["call_id"], row["target"])] = row
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in latest.values():
        c = counts[(row["call_type"], row["target"])]
        c["decided"] += 1
        if row["machine_status"] in ("pass", "fail"):
            c["judged"] += 1
            c["overturned"] += row["status"] != row["machine_status"]
        else:
            c["review"] += 1
    return [{"call_type": k[0], "item": k[1],
             "label": labels.item(k[0], k[1]) if k[1] in labels.items.get(k[0], {})
             else labels.finding(k[1]),
             "decided": c["decided"], "review_decided": c["review"], "judged": c["judged"],
             "overturned": c["overturned"],
             "overturn_rate": round(c["overturned"] / c["judged"], 3) if c["judged"] else 0.0}
            for k, c in sorted(counts.items())]


def agent_month(store: Store, actor: Actor, month: str) -> dict[str, Any]:
    """An agent's month so far: points lost, fines, and the day-by-day trend."""
    month = parse_month(month)
    audits = store.audits(agent=actor.agent_id or "\0", month=month)
    by_day: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for audit in audits:
        day = (_started(audit) or "?")[:10]
        by_day[day][0] += sum(i.max_points - i.points for i in audit.items
                              if i.status in ("fail", "review"))
        by_day[day][1] += audit.fines_yuan
    days = sorted(by_day)
    running, trend = 0.0, []
    for day in days:
        running += by_day[day][0]
        trend.append(running)
    figure = {"data": [
        {"type": "bar", "x": days, "y": [by_day[d][0] for d in days], "name": "当日扣分",
         "marker": {"color": "#a15c00"}},
        {"type": "scatter", "mode": "lines+markers", "x": days, "y": trend, "name": "累计扣分",
         "line": {"color": "#1565c0"}}],
        "layout": {"title": {"text": f"{month} 扣分走势", "font": {"size": 15}}, "height": 280,
                   "margin": {"l": 40, "r": 10, "t": 40, "b": 40},
                   "xaxis": {"type": "category"}, "legend": {"orientation": "h"},
                   "font": {"family": "Noto Sans CJK SC, sans-serif"}}}
    return {"month": month, "calls": len(audits),
            "points_lost": _num(sum(v[0] for v in by_day.values())),
            "fines_yuan": _num(sum(v[1] for v in by_day.values())),
            "days": [{"day": d, "points_lost": _num(by_day[d][0]),
                      "fines_yuan": _num(by_day[d][1])} for d in days],
            "figure": figure}


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 1)


def tally_workbook(store: Store, month: str, settings: Settings) -> bytes:
    from qa_audit.tally import build_tally, write_tally

    tally = build_tally(store, parse_month(month), phrasebook=settings.phrasebook)
    with tempfile.TemporaryDirectory() as folder:
        path = write_tally(tally, Path(folder) / f"tally-{month}.xlsx")[0]
        return path.read_bytes()


def draw_sample(store: Store, *, date_from: str, date_to: str, per_agent: int,
                seed: int) -> list[dict[str, Any]]:
    """The head's weekly spot-check sample of the audited calls in a range, remembered in the
    store so the tally counts it."""
    first, last = parse_day(date_from, "from"), parse_day(date_to, "to")
    if first is None or last is None:
        raise InputError("give the first and the last day of the sample (from, to)")
    if last < first:
        raise InputError(f"the last day {last} is before the first {first}")
    audits = store.audits(date_from=first, date_to=last)
    if not audits:
        raise InputError(f"no audited calls from {first} to {last}")
    metas = [store.get_meta(a.call_id) or CallMeta(
        call_id=a.call_id, agent_id=a.agent_id, call_type=a.call_type, started_at=a.started_at)
        for a in audits]
    picked = sample_per_agent(metas, per_agent, seed, "week")
    store.record_sample(picked, n=per_agent, seed=seed, period="week")
    by_id = {a.call_id: a for a in audits}
    return [{"call_id": m.call_id, "agent_id": m.agent_id,
             "call_type": by_id[m.call_id].call_type, "started_at": _started(by_id[m.call_id]),
             "score": by_id[m.call_id].score, "max_score": by_id[m.call_id].max_score}
            for m in picked]


def default_month(store: Store) -> str:
    """This month, or else the latest month with audits up to it (a store of last year's
    calls opens on its last month, not on an empty one)."""
    months = store.months()
    this = date.today().strftime("%Y-%m")
    past = [m for m in months if m <= this]
    return this if this in months or not months else (past or months)[-1]


