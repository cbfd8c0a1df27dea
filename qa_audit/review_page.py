"""The agent's self-review page: a static HTML file of one agent's flagged calls.

For each call whose final verdict has a failed or undecided item, or a finding, the page
shows why (item, reason, points), the masked transcript with the evidence highlighted, and
an audio player that jumps to the evidence when it is clicked. Only the agent's own calls
are on it (保密制度), and every resident's name, phone and address is masked by
`qa_audit.privacy` before it reaches the template.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from qa_audit.errors import InputError
from qa_audit.phrasebook import Phrasebook
from qa_audit.privacy import Masker
from qa_audit.records import CallAudit, Evidence, Transcript
from qa_audit.sampling import call_started_at
from qa_audit.store import Appeal, Store

STATUS_ZH = {"pass": "合格", "fail": "不合格", "review": "待复核", "na": "不适用"}
CALL_TYPE_ZH = {"repair": "报修", "followup": "回访"}
ROLE_ZH = {"agent": "坐席", "customer": "住户"}
APPEAL_STATE_ZH = {"open": "处理中", "accepted": "已通过", "rejected": "已驳回"}
PAGE_NAME = "index.html"
AUDIO_DIR = "audio"


@dataclass(frozen=True)
class Labels:
    """Chinese names of form items and finding codes, from the phrasebook when there is one."""

    items: dict[str, dict[str, str]] = field(default_factory=dict)  # call type -> id -> label
    findings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_phrasebook(cls, phrasebook: Phrasebook | None) -> Labels:
        if phrasebook is None:
            return cls()
        items: dict[str, dict[str, str]] = {
            form.call_type: {i.id: i.label for i in form.items}
            for form in phrasebook.forms.values()}
        findings = {code: rule.label for code, rule in phrasebook.fine_rules.codes.items()}
        return cls(items, findings)

    def item(self, call_type: str, item_id: str, given: str = "") -> str:
        return given or self.items.get(call_type, {}).get(item_id) or item_id

    def finding(self, code: str) -> str:
        return self.findings.get(code) or code


@dataclass
class EvidenceView:
    start: float
    clock: str
    who: str
    text: str


@dataclass
class ProblemView:
    """One failed or undecided item, or a finding, as the agent reads it."""

    kind: str  # item | finding
    id: str
    label: str
    status: str
    status_zh: str
    points_lost: float
    fine_yuan: float
    reason: str
    evidence: list[EvidenceView]
    decision: str = ""
    appeals: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # labels of findings about this item


@dataclass
class LineView:
    start: float
    clock: str
    role: str
    who: str
    text: str
    evidence: bool


@dataclass
class CallView:
    call_id: str
    anchor: str
    when: str
    call_type: str
    score: float
    max_score: float
    points_lost: float
    fines_yuan: float
    problems: list[ProblemView]
    lines: list[LineView]
    audio: str | None
    audio_missing: bool


@dataclass(frozen=True)
class ReviewPage:
    path: Path
    calls: int
    missing_audio: list[str]  # call ids shown without a player
    problems: list[str] = field(default_factory=list)  # why, one line per call


def is_flagged(audit: CallAudit) -> bool:
    """A call the agent should hear again: a failed or undecided item, or a finding."""
    return bool(audit.findings) or any(i.status in ("fail", "review") for i in audit.items)


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 1)


def _evidence_views(evidence: Sequence[Evidence], mask: Masker) -> list[EvidenceView]:
    return [EvidenceView(e.start, clock(e.start), ROLE_ZH.get(e.role, e.role),
                         mask(e.text, said_by=e.role)) for e in evidence]


def _decision_text(extra: dict, mask: Masker) -> str:
    if not extra.get("decided_by"):
        return ""
    who = "申诉复核" if extra.get("decision_source") == "appeal" else "领班复核"
    machine = STATUS_ZH.get(str(extra.get("machine_status")), "")
    note = mask.note(str(extra.get("decision_note") or ""))
    text = f"{who}：{extra['decided_by']}（机器原判：{machine}）"
    return f"{text}；{note}" if note else text


def _appeal_texts(appeals: Sequence[Appeal], target: str, mask: Masker) -> list[str]:
    out = []
    for appeal in appeals:
        if appeal.item != target:
            continue
        text = f"申诉 #{appeal.id}（{APPEAL_STATE_ZH[appeal.state]}）：{mask.note(appeal.reason)}"
        if appeal.resolution_note:
            text += f" —— 答复：{mask.note(appeal.resolution_note)}"
        out.append(text)
    return out


def _problems(audit: CallAudit, appeals: Sequence[Appeal], labels: Labels,
              mask: Masker) -> list[ProblemView]:
    problems = []
    for item in audit.items:
        if item.status not in ("fail", "review"):
            continue
        problems.append(ProblemView(
            kind="item", id=item.id, label=labels.item(audit.call_type, item.id, item.label),
            status=item.status, status_zh=STATUS_ZH[item.status],
            points_lost=_number(item.max_points - item.points), fine_yuan=0,
            reason=mask(item.reason), evidence=_evidence_views(item.evidence, mask),
            decision=_decision_text(item.model_extra or {}, mask),
            appeals=_appeal_texts(appeals, item.id, mask),
        ))
    by_item = {p.id: p for p in problems}
    for finding in audit.findings:
        detail = mask(finding.detail)
        row = by_item.get(finding.item or "")
        if row is not None:
            # The finding is the fine for an item already listed: one row, not two.
            row.fine_yuan = _number(row.fine_yuan + finding.fine_yuan)
            row.findings.append(labels.finding(finding.code))
            if detail and detail != row.reason:
                row.reason = f"{row.reason}；{detail}" if row.reason else detail
            row.appeals += _appeal_texts(appeals, finding.code, mask)
            continue
        problems.append(ProblemView(
            kind="finding", id=finding.code, label=labels.finding(finding.code),
            status="finding", status_zh="问题", points_lost=0,
            fine_yuan=_number(finding.fine_yuan), reason=detail,
            evidence=_evidence_views(finding.evidence, mask),
            appeals=_appeal_texts(appeals, finding.code, mask),
        ))
    return problems


def _lines(transcript: Transcript | None, evidence: Sequence[Evidence],
           mask: Masker) -> list[LineView]:
    if transcript is None:
        return []
    spans = [(e.start, e.end) for e in evidence]
    lines = []
    for u in transcript.utterances:
        # Evidence is cut from utterances, so an overlap marks the line it came from.
        hit = any(start < u.end and u.start < end or start == u.start for start, end in spans)
        lines.append(LineView(u.start, clock(u.start), u.role, ROLE_ZH.get(u.role, u.role),
                              mask(u.text, said_by=u.role), hit))
    return lines


def _safe_name(call_id: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]", "_", call_id)


def _recording(audit: CallAudit, store: Store, transcript: Transcript | None) -> str | None:
    meta = store.get_meta(audit.call_id)
    return audit.audio or (meta.recording if meta else None) or (
        transcript.audio if transcript else None)


def _place_audio(source: str | None, call_id: str, out_dir: Path, audio_root: Path | None,
                 link: bool) -> tuple[str | None, str | None]:
    """(src for <audio>, or None; why it is missing — for the page and for stderr)."""
    if not source:
        return None, "no recording is registered for this call"
    path = Path(source)
    if not path.is_absolute():
        path = (audio_root or Path.cwd()) / path
    if not path.is_file():
        return None, f"recording {path} not found (pass --audio-dir if it moved)"
    target_dir = out_dir / AUDIO_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / (_safe_name(call_id) + path.suffix.lower())
    if target.is_symlink() or target.exists():
        target.unlink()
    if link:
        os.symlink(path.resolve(), target)
    else:
        shutil.copy2(path, target)
    return f"{AUDIO_DIR}/{target.name}", None


def write_review_page(
    store: Store,
    agent_id: str,
    out_dir: Path,
    *,
    month: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    phrasebook: Phrasebook | None = None,
    audio_root: Path | None = None,
    link_audio: bool = False,
) -> ReviewPage:
    """Write out_dir/index.html (and out_dir/audio/) for one agent's flagged calls."""
    agent_id = str(agent_id).strip()
    if not agent_id:
        raise InputError("--agent is required: the agent's id (工号), e.g. 307")
    # One flagged call at a time: an agent's year of calls is never all in memory.
    audits = store.iter_flagged(agent=agent_id, month=month, date_from=date_from,
                                date_to=date_to)
    labels = Labels.from_phrasebook(phrasebook)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the page folder {out_dir}: {exc.strerror}; "
                         "pass another --out") from None
    calls, missing, audio_problems = [], [], []
    for audit in audits:
        transcript = store.get_transcript(audit.call_id)
        mask = Masker.for_call(transcript, store.tickets_of_call(audit.call_id))
        evidence = [e for i in audit.items if i.status in ("fail", "review") for e in i.evidence]
        evidence += [e for f in audit.findings for e in f.evidence]
        src, why = _place_audio(_recording(audit, store, transcript), audit.call_id, out_dir,
                                audio_root, link_audio)
        if why:
            missing.append(audit.call_id)
            audio_problems.append(f"{audit.call_id}: {why}")
        started = call_started_at(audit.call_id, audit.started_at)
        problems = _problems(audit, store.appeals(call_id=audit.call_id), labels, mask)
        calls.append(CallView(
            call_id=audit.call_id, anchor="call-" + _safe_name(audit.call_id),
            when=started.strftime("%Y-%m-%d %H:%M") if started else "时间不详",
            call_type=CALL_TYPE_ZH.get(audit.call_type, audit.call_type),
            score=_number(audit.score), max_score=_number(audit.max_score),
            points_lost=_number(sum(p.points_lost for p in problems)),
            fines_yuan=_number(sum(p.fine_yuan for p in problems)),
            problems=problems, lines=_lines(transcript, evidence, mask),
            audio=src, audio_missing=why is not None,
        ))
    period = month or " ~ ".join(str(d) for d in (date_from, date_to) if d) or "全部"
    html = _environment().get_template("review.html.j2").render(
        agent_id=agent_id, calls=calls, period=period,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        total_lost=_number(sum(c.points_lost for c in calls)),
        total_fines=_number(sum(c.fines_yuan for c in calls)),
        open_reviews=sum(1 for c in calls for p in c.problems if p.status == "review"),
    )
    page = out_dir / PAGE_NAME
    page.write_text(html, encoding="utf-8")
    return ReviewPage(page, len(calls), missing, audio_problems)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("qa_audit", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
