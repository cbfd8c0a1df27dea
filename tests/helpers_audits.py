"""Builders of realistic calls for the store, review page and tally tests.

A call is built the way the hotline produces it: a transcript that follows (or breaks) the
standard script, the ticket the agent typed, and the audit the scorer would write, with
evidence pointing at the transcript's own utterances. The residents are invented.

Run as a script it is the batch writer of the kill-safety and concurrency tests:
    python tests/helpers_audits.py write DB --prefix A --count 500
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import wave
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_audit.records import (  # noqa: E402
    CallAudit,
    CallMeta,
    Evidence,
    Finding,
    ItemResult,
    Ticket,
    Transcript,
    Utterance,
)

REPAIR_FORM = [
    ("greeting", "用语第一句", 5), ("problem", "报修内容", 3), ("name", "报修人姓名", 1),
    ("phone", "电话", 1), ("address", "住址", 5), ("guide_location", "引导故障位置", 1),
    ("guide_severity", "引导故障程度", 1), ("guide_name", "引导姓名", 1),
    ("guide_phone", "引导电话", 1), ("seat", "机位", 1), ("recorder", "记载人", 1),
    ("station", "选对维修站", 5), ("address_format", "住址示例修改", 1),
    ("readback_problem", "跟读内容", 1), ("readback_address", "跟读地址", 1),
    ("readback_name", "跟读姓名", 1), ("readback_phone", "跟读电话", 1), ("closing", "结束语", 4),
]
FOLLOWUP_FORM = [
    ("opening", "用语第一句", 3), ("asked_resolved", "问题是否解决", 2),
    ("asked_attitude", "维修工态度如何", 2), ("asked_charged", "是否跟您收费", 3),
    ("asked_rating", "为我们服务打分", 2), ("asked_suggestions", "建议、意见", 2),
    ("closing", "结束语", 2),
]
FINES = {"wrong_station": 30, "wrong_phone": 20, "wrong_address": 20, "wrong_name": 10,
         "invalid_promise": 10, "slow_answer": 10, "nonstandard_phrase": 10,
         "agent_hung_up": 50, "impolite": 50}
SERIOUS = {"wrong_station", "wrong_address", "invalid_promise"}
SPOKEN = "零一二三四五六七八九"


def spoken(digits: str) -> str:
    return "".join(SPOKEN[int(d)] if d.isdigit() else d for d in digits)


@dataclass(frozen=True)
class Resident:
    name: str
    phone: str
    community: str
    building: str
    unit: str
    room: str
    station: str

    @property
    def address(self) -> str:
        return f"{self.community}{self.building}号楼{self.unit}单元{self.room}"

    @property
    def spoken_address(self) -> str:
        return (f"{self.community}{spoken(self.building)}号楼{spoken(self.unit)}单元"
                f"{spoken(self.room)}")


RESIDENTS = [
    Resident("杨帆", "13800138000", "宏城花园", "11", "2", "503", "宏城站"),
    Resident("欧阳明月", "15937261048", "五里仓小区", "4", "1", "202", "五里仓站"),
    Resident("司马青", "18611112222", "马坡花园", "20", "3", "101", "马坡站"),
    Resident("郭静怡", "13522334455", "北关新村", "7", "1", "301", "宏城站"),
    Resident("韩冬", "13044445555", "裕祥花园", "8", "1", "702", "裕祥站"),
    Resident("许文博", "15866677888", "义宾小区", "6", "2", "401", "义宾站"),
]


@dataclass
class Call:
    """One call as the store sees it."""

    audit: CallAudit
    transcript: Transcript
    meta: CallMeta
    ticket: Ticket | None
    resident: Resident
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)


def _timed(
    lines: list[tuple[str, str, str]], start: float = 0.6
) -> tuple[list[Utterance], dict[str, list[Utterance]]]:
    """Utterances with times that follow their length; tags say which items they show."""
    utterances, tagged = [], {}
    t = start
    for role, text, tags in lines:
        duration = round(0.21 * len(text) + 0.4, 2)
        utterance = Utterance(role=role, start=round(t, 2), end=round(t + duration, 2), text=text)
        utterances.append(utterance)
        for tag in tags.split():
            tagged.setdefault(tag, []).append(utterance)
        t += duration + 0.5
    return utterances, tagged


def _evidence(utterances: list[Utterance]) -> list[Evidence]:
    return [Evidence(role=u.role, start=u.start, end=u.end, text=u.text) for u in utterances]


def _items(form, tagged, fail: dict[str, str], review: dict[str, str]) -> list[ItemResult]:
    items = []
    for item_id, label, points in form:
        status = "fail" if item_id in fail else "review" if item_id in review else "pass"
        reason = fail.get(item_id) or review.get(item_id) or ""
        items.append(ItemResult(
            id=item_id, label=label, status=status, max_points=points,
            points=points if status == "pass" else 0,
            evidence=_evidence(tagged.get(item_id, [])) if status != "pass" else [],
            reason=reason, match_score=95.0 if status == "pass" else 40.0,
        ))
    return items


def repair_call(
    seq: int,
    agent_id: str,
    started_at: datetime,
    resident: Resident,
    *,
    fail: dict[str, str] | None = None,
    review: dict[str, str] | None = None,
    findings: list[str] | None = None,
    ticket_station: str | None = None,
    ticket_phone: str | None = None,
    category: str = "不热",
    repaired_after: timedelta | None = timedelta(hours=2),
    followed_up_after: timedelta | None = None,
    audio: str | None = None,
) -> Call:
    """An intake call; `fail`/`review` map item ids to the scorer's reasons."""
    fail, review = dict(fail or {}), dict(review or {})
    call_id = f"{started_at:%Y%m%d_%H%M%S}_{agent_id}_repair_{seq:03d}"
    agent_spoken = spoken(agent_id)
    greeting = ("您好，大龙供暖报修，为您服务，请问您有什么问题？" if "greeting" in fail
                else f"您好，大龙供暖报修，{agent_spoken}号为您服务，请问您有什么问题？")
    lines = [
        ("agent", greeting, "greeting"),
        ("customer", "我家暖气不热，卧室只有十六度。", "problem"),
        ("agent", "暖气不热，卧室十六度。是哪个房间？",
         "readback_problem guide_location guide_severity"),
        ("customer", "两个卧室都不热。", ""),
        ("agent", "请问您的具体地址？", "address"),
        ("customer", resident.spoken_address + "。", "address"),
        ("agent", resident.spoken_address + "。", "readback_address address_format station"),
        ("agent", "请问您的姓名？", "guide_name name"),
        ("customer", f"我叫{resident.name}。", "name"),
        ("agent", ("请留一下联系电话？" if "readback_name" in fail
                   else f"{resident.name}。请留一下联系电话？"), "readback_name guide_phone"),
        ("customer", spoken(resident.phone) + "。", "phone"),
        ("agent", spoken(resident.phone) + "。", "readback_phone"),
    ]
    if "invalid_promise" in (findings or []):
        lines.append(("agent", "放心，维修人员半小时之内肯定到。", "invalid_promise"))
    lines.append(("agent", ("好，再见。" if "closing" in fail
                            else "好！维修人员会尽快跟您联系。感谢您的来电。再见！"), "closing"))
    utterances, tagged = _timed(lines)
    transcript = Transcript(call_id=call_id, utterances=utterances,
                            duration=utterances[-1].end + 0.5, role_source="channel", audio=audio)
    ticket_id = f"T{started_at:%m%d}{seq:03d}{agent_id}"
    station = ticket_station or resident.station
    dispatched = started_at + timedelta(minutes=8)
    ticket = Ticket(
        ticket_id=ticket_id, call_id=call_id, created_at=started_at + timedelta(minutes=3),
        agent_id=agent_id, seat="07", recorder=agent_id, caller_name=resident.name,
        caller_phone=ticket_phone or resident.phone, address=resident.address,
        category=category, description="卧室十六度", station=station,
        dispatched_at=dispatched,
        repaired_at=(dispatched + repaired_after) if repaired_after else None,
        followed_up_at=(started_at + followed_up_after) if followed_up_after else None,
    )
    finding_objs = []
    for code in findings or []:
        item = {"wrong_station": "station", "wrong_phone": "phone",
                "wrong_address": "address", "wrong_name": "name"}.get(code)
        detail = {
            "wrong_station": f"{resident.community}由{resident.station}服务，工单派给了{station}",
            "wrong_phone": f"工单电话{ticket.caller_phone}与通话中的{resident.phone}不符",
            "invalid_promise": "承诺了维修站无法保证的上门时间",
        }.get(code, code)
        finding_objs.append(Finding(
            code=code, fine_yuan=FINES.get(code, 10), detail=detail, item=item,
            serious=code in SERIOUS, evidence=_evidence(tagged.get(item or code, [])),
        ))
        if item and item not in fail:
            fail[item] = detail
    items = _items(REPAIR_FORM, tagged, fail, review)
    audit = CallAudit(
        call_id=call_id, agent_id=agent_id, call_type="repair", form="repair",
        score=sum(i.points for i in items), max_score=35, items=items, findings=finding_objs,
        started_at=started_at, ticket_id=ticket_id, station=station, audio=audio,
        provenance={"model": "test", "phrasebook": "test-1"},
    )
    meta = CallMeta(call_id=call_id, agent_id=agent_id, call_type="repair",
                    started_at=started_at, recording=audio, ring_seconds=4, hangup_by="customer")
    return Call(audit, transcript, meta, ticket, resident)


def followup_call(
    seq: int,
    agent_id: str,
    started_at: datetime,
    resident: Resident,
    ticket: Ticket,
    *,
    answers: dict | None = None,
    fail: dict[str, str] | None = None,
) -> Call:
    fail = dict(fail or {})
    answers = answers if answers is not None else {
        "resolved": "yes", "attitude": "satisfied", "charged": "no", "rating": 9}
    call_id = f"{started_at:%Y%m%d_%H%M%S}_{agent_id}_followup_{seq:03d}"
    said = {"yes": "解决了。", "no": "还没解决。"}
    lines = [
        ("agent", ("喂，你家暖气修好了吗？" if "opening" in fail else
                   "您好，我们是供暖报修平台，对您家报修的处理情况进行回访。您现在方便吗？"),
         "opening"),
        ("customer", "方便。", ""),
        ("agent", "问题解决了吗？", "asked_resolved"),
        ("customer", said.get(answers.get("resolved", ""), "嗯。"), ""),
        ("agent", "维修工态度如何？", "asked_attitude"),
        ("customer", "很满意。" if answers.get("attitude") == "satisfied" else "一般吧。", ""),
        ("agent", "跟您收费了吗？", "asked_charged"),
        ("customer", "收了五十块。" if answers.get("charged") == "yes" else "没收费。", ""),
    ]
    if "rating" in answers:
        lines += [("agent", "请您为我们的服务打分，一到十分。", "asked_rating"),
                  ("customer", f"{answers['rating']}分。", "")]
    lines += [("agent", "您对我们的服务还有什么建议或意见吗？", "asked_suggestions"),
              ("customer", "没有了，谢谢。", ""),
              ("agent", "感谢您的合作，以后有什么问题，请您随时拨打我们的报修电话，"
                        "我们将及时为您服务。", "closing")]
    utterances, tagged = _timed(lines)
    transcript = Transcript(call_id=call_id, utterances=utterances, role_source="channel")
    findings = []
    if answers.get("charged") == "yes":
        findings.append(Finding(code="repairman_charged", detail="住户说维修工收了五十块",
                                evidence=_evidence(utterances[7:8])))
    items = _items(FOLLOWUP_FORM, tagged, fail, {})
    audit = CallAudit(
        call_id=call_id, agent_id=agent_id, call_type="followup", form="followup",
        score=sum(i.points for i in items), max_score=16, items=items, findings=findings,
        answers=answers, started_at=started_at, ticket_id=ticket.ticket_id,
        station=ticket.station, provenance={"model": "test"},
    )
    meta = CallMeta(call_id=call_id, agent_id=agent_id, call_type="followup",
                    started_at=started_at, ticket_id=ticket.ticket_id)
    return Call(audit, transcript, meta, None, resident)


def november(audio: str | None = None) -> list[Call]:
    """A small month of three agents: 307 with problems, 308 clean, 311 with a repeat offence."""
    day = datetime(2026, 11, 10, 8, 0)
    r = RESIDENTS
    calls = [
        repair_call(1, "307", day + timedelta(minutes=22), r[0],
                    fail={"readback_name": "没有跟读住户的姓名"},
                    review={"greeting": "开头语与标准用语相似度 72，工号听不清"}, audio=audio),
        repair_call(2, "307", day + timedelta(hours=3), r[3], findings=["wrong_station"],
                    ticket_station="西园站", category="测温", audio=audio),
        repair_call(3, "308", day + timedelta(hours=1), r[1], category="漏水"),
        repair_call(4, "308", day + timedelta(days=1, hours=2), r[2], category="冰凉",
                    repaired_after=timedelta(hours=6)),
        repair_call(5, "307", day + timedelta(days=2, hours=1), r[4], findings=["wrong_phone"],
                    ticket_phone="13044445556", repaired_after=None),
    ]
    # 311 makes four serious violations in the month: the fourth costs 50 yuan more.
    for k in range(4):
        calls.append(repair_call(10 + k, "311", day + timedelta(days=3 + k, hours=2), r[5],
                                 findings=["invalid_promise"], category="不热"))
    calls.append(followup_call(20, "308", day + timedelta(days=1, hours=9), r[1],
                               calls[2].ticket, answers={"resolved": "yes", "attitude": "satisfied",
                                                         "charged": "no", "rating": 9}))
    calls.append(followup_call(21, "308", day + timedelta(days=2, hours=9), r[0],
                               calls[0].ticket, answers={"resolved": "no", "attitude": "neutral",
                                                         "charged": "yes", "rating": 6}))
    calls.append(followup_call(22, "307", day + timedelta(days=2, hours=10), r[2],
                               calls[3].ticket, fail={"opening": "开头语不标准"},
                               answers={"resolved": "yes", "attitude": "satisfied",
                                        "charged": "no"}))
    return calls


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A real telephone-rate PCM WAV: a quiet tone, enough for a browser to seek in."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def batch_call(prefix: str, index: int) -> Call:
    """The index-th call of a writer's batch: deterministic, so two runs store the same."""
    resident = RESIDENTS[index % len(RESIDENTS)]
    started = datetime(2026, 11, 1, 8, 0) + timedelta(minutes=7 * index)
    agent = ("301", "305", "309")[index % 3]
    fail = {"readback_phone": "没有跟读电话"} if index % 4 == 0 else {}
    call = repair_call(index, agent, started, resident, fail=fail)
    call_id = f"{prefix}{index:05d}_{call.audit.call_id}"
    call.audit = call.audit.model_copy(update={"call_id": call_id})
    call.transcript = call.transcript.model_copy(update={"call_id": call_id})
    call.meta = call.meta.model_copy(update={"call_id": call_id})
    return call


def fingerprint(call: Call) -> str:
    return hashlib.sha256(call.transcript.model_dump_json().encode()).hexdigest()[:16]


def _write(args: argparse.Namespace) -> int:
    from qa_audit.store import Store

    with Store(Path(args.db)) as store:
        for index in range(args.count):
            call = batch_call(args.prefix, index)
            fp = fingerprint(call)
            if store.has_audit(call.audit.call_id, fingerprint=fp):
                continue  # resume: already audited by an earlier, interrupted run
            store.save_audit(call.audit, transcript=call.transcript, meta=call.meta,
                             fingerprint=fp)
            print(f"saved {index}", flush=True)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write")
    write.add_argument("db")
    write.add_argument("--prefix", default="A")
    write.add_argument("--count", type=int, default=200)
    sys.exit(_write(parser.parse_args()))
