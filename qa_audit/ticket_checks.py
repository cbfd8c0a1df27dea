"""Holding the ticket against what was said: the form items that need the dispatch data
(problem, name, phone, address, station, seat, recorder, address format) and their findings
(wrong_name, wrong_phone, wrong_address, wrong_station).

Phones and house numbers are compared as digits, not characters. When the transcript comes
from speech recognition, a difference the recognizer could have caused (a homophone in a
name, one digit) is `review`, not a fine; when the resident's words and the agent's read-back
agree with each other and not with the ticket, it is a `fail`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from qa_audit.dialogue import (Turn, correction_of, name_read_back, next_turns, phone_in,
                               spelled, without_phone)
from qa_audit.dispatch import (community_of, house_numbers, phone_numbers, place_said,
                               same_house, same_phone)
from qa_audit.normalize import is_subsequence, normalize, pinyin_key, sound_key, to_simplified
from qa_audit.phrasebook import Form
from qa_audit.records import Finding, ItemResult

if TYPE_CHECKING:
    from qa_audit.scoring import CallContext, Verdict

# Kinds of problem a resident may call the same thing: 冰凉 is a very cold 不热.
_COMPATIBLE = {"冰凉": {"冰凉", "不热"}, "不热": {"不热", "冰凉"}}
# The faults a ticket must each carry: a cold radiator (不热, 冰凉, or the 测温 that checks
# it) is one, water coming out (漏水) another.
_FAULT = {"不热": "热", "冰凉": "热", "测温": "热", "漏水": "水"}
# What a ticket adds to a surname when the resident gives no more (刘先生).
_TITLES = frozenset({"先生", "女士", "小姐", "师傅", "阿姨", "大爷", "大妈", "大姐", "老师"})
FINDING_OF_CHECK = {"ticket.name": "wrong_name", "ticket.phone": "wrong_phone",
                    "ticket.address": "wrong_address", "ticket.station": "wrong_station"}


def _verdict(*args, **kwargs) -> Verdict:
    from qa_audit.scoring import Verdict

    return Verdict(*args, **kwargs)


def _contains_run(numbers: list[str], run: list[str]) -> bool:
    """Whether the recorded numbers all appear, in order, among those said: a resident adds
    a floor ("四单元一楼一零一") or a neighbour ("楼上是五零一") that the ticket leaves out."""
    it = iter(numbers)
    return bool(run) and all(any(n == r for n in it) for r in run)


def _readback_of(ctx: CallContext, said: Turn) -> Turn | None:
    following = next_turns(ctx.turns, said, "agent", 2)
    return following[0] if following else None


def _doubt(ctx: CallContext, said: Turn, echo: Turn | None, *, complete: bool,
           echo_agrees: bool, alike: bool = False) -> str | None:
    """Why a difference between a recognizer's hearing and the ticket cannot be fined, or
    None when it can (or the words come from a person).

    A fine needs two hearings of the fact, the resident's words and the agent's read-back,
    that are complete, agree with each other, were heard with confidence, and differ from
    the ticket in a way a recognizer would not produce (`alike`: sounds close to the ticket)."""
    if not ctx.from_asr:
        return None
    if not complete:
        return "识别出的内容不完整，可能是识别错误"
    if alike:
        return "与工单读音相近，可能是识别错误"
    if echo is None or not echo_agrees:
        return "坐席跟读未能印证识别结果"
    bar = ctx.phrasebook.matching.min_fine_confidence
    low = [t.utterance.confidence for t in (said, echo)
           if t.utterance.confidence is not None and t.utterance.confidence < bar]
    if low:
        return f"识别置信度低（{min(low):.2f}）"
    return None


def _sounds_alike(a: str, b: str) -> bool:
    """Names a recognizer could confuse: same length and at most one syllable apart in sound
    (东莉华 / 邓丽华)."""
    x, y = sound_key(a).split(), sound_key(b).split()
    return len(x) == len(y) and sum(p != q for p, q in zip(x, y)) <= 1


def _check_problem(ctx: CallContext) -> Verdict:
    from qa_audit.scoring import problem_kinds

    ticket = ctx.ticket
    assert ticket is not None
    said_turns = ctx.problem_turns
    said = problem_kinds(ctx, "".join(t.text for t in said_turns))
    if not said:
        return _verdict("review", "无法从通话判断报修类别，请人工核对工单的报修内容", said_turns)
    accepted = set().union(*(_COMPATIBLE.get(k, {k}) for k in said))
    category = (ticket.category or "").strip()
    described = problem_kinds(ctx, ticket.description or "")
    problems = []
    if category and category != "其他" and category not in accepted:
        problems.append(f"工单类别「{category}」与住户所述（{'、'.join(sorted(said))}）不符")
    if not category and not described:
        problems.append("工单没有填写报修类别和内容")
    if described and not described & accepted:
        problems.append(f"工单内容「{ticket.description}」与住户所述不符")
    recorded = {_FAULT.get(k, k) for k in described | ({category} if category else set())}
    # Two faults reported (不热, and a drip under the radiator): the ticket must carry both.
    dropped = sorted(k for k in said if _FAULT.get(k, k) not in recorded)
    if recorded and not problems and dropped:
        problem = (f"住户还反映了「{'、'.join(dropped)}」，工单没有记下"
                   f"（工单：{category or ticket.description}）")
        if ctx.from_asr:
            # A recognizer's word for another fault (冷水 for 漏水) is no second fault.
            return _verdict("review", f"{problem}（可能是识别错误，请听录音确认）", said_turns)
        problems.append(problem)
    if problems:
        return _verdict("fail", "；".join(problems), said_turns)
    return _verdict("pass", f"工单报修内容与住户所述一致（{category or ticket.description}）",
                    said_turns)


def _check_name(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    said = ctx.name_turn
    recorded = normalize(ticket.caller_name or "")
    if not recorded:
        return _verdict("fail", "工单没有填写报修人姓名", [said] if said else [])
    if said is None:
        return _verdict("review", f"通话中找不到住户的姓名，无法核对工单姓名「{ticket.caller_name}」")
    echo = _readback_of(ctx, said)
    name = name_read_back(said.text, echo.text if echo else None,
                          ctx.phrasebook.repair.facts.spelled_surnames)
    if normalize(name) == recorded:
        return _verdict("pass", "工单姓名与住户所说一致", [said])
    if len(name) == 1 and recorded[:1] == name and recorded[1:] in _TITLES:
        return _verdict("pass", f"住户只留了姓，工单记为「{ticket.caller_name}」", [said])
    if pinyin_key(name) == pinyin_key(recorded):
        # Heard on the phone, 潘晓东 and 潘小东 are the same; only a spelled-out character
        # ("桂花的桂") or a person's transcript tells which one the resident meant.
        spelled_out = [ch for ch in spelled(said.text, ctx.phrasebook.repair.facts.spelled_surnames)
                       if ch in name]
        if spelled_out and not all(ch in recorded for ch in spelled_out):
            return _verdict("fail", f"住户说明了「{'、'.join(spelled_out)}」字，工单姓名却记为"
                                    f"「{ticket.caller_name}」", [said])
        # Same sound and nothing spelled: no one can hear a wrong entry.
        return _verdict("pass", f"工单姓名「{ticket.caller_name}」与住户所说同音"
                                f"{'' if spelled_out else '（住户未说明用字）'}",
                        [said] + ([echo] if echo else []))
    doubt = _doubt(ctx, said, echo, complete=len(name) >= 2, alike=_sounds_alike(name, recorded),
                   echo_agrees=echo is not None and normalize(name) in normalize(echo.text))
    if doubt:
        return _verdict("review", f"工单姓名「{ticket.caller_name}」与识别出的「{name}」不同，{doubt}，"
                                  "请听录音确认", [said] + ([echo] if echo else []))
    return _verdict("fail", f"工单姓名「{ticket.caller_name}」与住户所说「{name}」不符", [said])


def _check_phone(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    said = ctx.phone_turn
    numbers = phone_numbers(ticket.caller_phone or "")
    if not numbers:
        return _verdict("fail", "工单没有填写联系电话", [said] if said else [])
    if said is None:
        return _verdict("review", "通话中找不到住户的电话号码，无法核对工单电话")
    # A resident may give two numbers (a mobile and a landline) and the ticket keep one or
    # both; a number said and then corrected ("不对，是…") is not one of them.
    given = [t for t in ctx.customer() if phone_in(t.text)]
    kept = [t for i, t in enumerate(given)
            if not any(correction_of(u.text) for u in given[i + 1:])]
    for t in kept or [said]:
        if any(same_phone(phone_in(t.text), n) for n in numbers):
            return _verdict("pass", "工单电话与住户所说一致", [t])
    heard = phone_in(said.text)
    recorded = next((n for n in numbers if len(n) == len(heard)), numbers[0])
    echo = _readback_of(ctx, said)
    echoed = phone_in(echo.text) if echo else ""
    # A mobile number has 11 digits; a recognizer drops digits more often than it invents
    # them in the right order.
    complete = len(heard) == len(recorded) or not (
        recorded.startswith("1") or is_subsequence(heard, recorded))
    doubt = _doubt(ctx, said, echo, complete=complete,
                   echo_agrees=bool(echoed) and same_phone(echoed, heard))
    if doubt:
        return _verdict("review", f"工单电话{recorded}与识别出的{heard}不同，{doubt}，请听录音确认",
                        [said] + ([echo] if echo else []))
    return _verdict("fail", f"工单电话{recorded}与住户所说{heard}不符", [said])


def _check_address(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    said = ctx.address_turn
    recorded = ticket.address or ""
    if not normalize(recorded):
        return _verdict("fail", "工单没有填写住址", [said] if said else [])
    if said is None:
        return _verdict("review", "通话中找不到住户的地址，无法核对工单住址")
    problems = []
    said_text = ctx.address_text or said.text
    said_numbers, recorded_numbers = house_numbers(said_text), house_numbers(recorded)
    if said_numbers != recorded_numbers and not _contains_run(said_numbers, recorded_numbers) \
            and not same_house(said_text, recorded):
        problems.append(f"门牌号{'-'.join(recorded_numbers) or '（无）'}与住户所说"
                        f"{'-'.join(said_numbers) or '（无）'}不符")
    said_place, recorded_place = _place(ctx, said_text), _place(ctx, recorded)
    if said_place and recorded_place and said_place != recorded_place:
        problems.append(f"小区「{community_of(recorded)}」与住户所说「{community_of(said_text)}」不符")
    if not problems:
        return _verdict("pass", "工单住址与住户所说一致", [said])
    echo = _readback_of(ctx, said)
    # The ticket took the other flat the resident mentioned (her own 603, not the neighbour's
    # 604 she reported for): a mix-up of two numbers both heard, not a mishearing of one.
    mentioned = set(house_numbers(without_phone(said.text)))
    one_off = len(said_numbers) == len(recorded_numbers) and sum(
        a != b for a, b in zip(said_numbers, recorded_numbers)) == 1 and not (
        set(recorded_numbers) <= mentioned)
    doubt = _doubt(ctx, said, echo, complete=len(said_numbers) >= len(recorded_numbers),
                   alike=one_off and said_place == recorded_place,
                   echo_agrees=echo is not None and house_numbers(
                       to_simplified(without_phone(echo.text))) == said_numbers)
    if doubt:
        return _verdict("review", "；".join(problems) + f"（{doubt}，请听录音确认）",
                        [said] + ([echo] if echo else []))
    return _verdict("fail", "；".join(problems), [said])


def _place(ctx: CallContext, address: str) -> str | None:
    """The community an address is in, by the station directory; else its written name."""
    if ctx.stations is not None:
        match = ctx.stations.station_for_address(address)
        if match is not None and match.score >= ctx.pass_at:
            return match.community
        return None
    name = normalize(place_said(address))
    return name or None


def _station_key(name: str) -> str:
    return normalize(name).removesuffix("维修站").removesuffix("站")


def _check_station(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    if ctx.stations is None:
        return _verdict("na", "需要维修站目录才能评定（--stations）")
    if not normalize(ticket.station or ""):
        return _verdict("fail", "工单没有填写维修站")
    said = ctx.address_turn
    source = (ctx.address_text or said.text) if said is not None else ticket.address or ""
    match = ctx.stations.station_for_address(source)
    if match is None and said is not None:
        match = ctx.stations.station_for_address(ticket.address or "")
    evidence = [said] if said else []
    if match is None:
        return _verdict("review", f"维修站目录中找不到该地址所属的小区，请人工核对「{ticket.station}」",
                        evidence)
    right = _station_key(match.station) == _station_key(ticket.station or "")
    if match.score < ctx.pass_at:
        return _verdict("review", f"地址与小区「{match.community}」只部分匹配（{match.score:.0f}），"
                                  f"应派{match.station}，工单派{ticket.station}，请人工确认", evidence)
    if right:
        return _verdict("pass", f"{match.community}由{match.station}负责，派单正确", evidence)
    if ctx.from_asr and match.score < 100:
        return _verdict("review", f"识别出的地址像是「{match.community}」（{match.station}负责，匹配度"
                                  f"{match.score:.0f}），工单派{ticket.station}，请听录音确认", evidence)
    return _verdict("fail", f"{match.community}由{match.station}负责，工单却派给{ticket.station}",
                    evidence)


def _check_filled(ctx: CallContext, field: str, label: str) -> Verdict:
    value = getattr(ctx.ticket, field) or ""
    if str(value).strip():
        return _verdict("pass", f"工单已填写{label}：{value}")
    return _verdict("fail", f"工单没有填写{label}")


def _check_address_format(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    text = unicodedata.normalize("NFKC", ticket.address or "").replace(" ", "")
    pattern = ctx.phrasebook.repair.facts.address_format
    if re.fullmatch(pattern, text):
        return _verdict("pass", "工单住址符合示例格式（小区+楼号+单元+房号；临街商铺为街道+门牌号+店名）")
    return _verdict("fail", f"工单住址「{ticket.address}」不符合示例格式，应写作如"
                            "「宏城花园11号楼2单元503」")


def _where_said(ctx: CallContext, field: str) -> list[Turn]:
    """The call's turns a ticket verdict rests on when the ticket alone decided it: where the
    resident gave the fact (or, when never given, where the agent should have asked), and for
    seat/recorder the agent's answering of the call."""
    from qa_audit.dialogue import closing_turns, opening_turns

    said = {"name": ctx.name_turn, "phone": ctx.phone_turn, "address": ctx.address_turn,
            "address_format": ctx.address_turn, "station": ctx.address_turn}.get(field)
    if said is not None:
        return [said]
    if field in ("seat", "recorder"):
        return opening_turns(ctx.turns)[:1]
    if field == "problem":
        return ctx.problem_turns[:1]
    return closing_turns(ctx.turns)[:1]


def ticket_verdict(ctx: CallContext, field: str) -> Verdict:
    checks = {"problem": _check_problem, "name": _check_name, "phone": _check_phone,
              "address": _check_address, "station": _check_station,
              "address_format": _check_address_format,
              "seat": lambda c: _check_filled(c, "seat", "机位"),
              "recorder": lambda c: _check_filled(c, "recorder", "记载人")}
    verdict = checks[field](ctx)
    if not verdict.evidence and verdict.status in ("fail", "review"):
        verdict.evidence = _where_said(ctx, field)
    if ctx.ticket_guessed and verdict.status == "fail":
        verdict.status = "review"
        verdict.reason += "（工单按坐席和时间推测匹配，请确认是否为本通电话的工单）"
    return verdict


def ticket_value(ctx: CallContext, field: str) -> str:
    return normalize(str(getattr(ctx.ticket, field, "") or "")) if ctx.ticket else ""


def ticket_findings(ctx: CallContext, form: Form, items: list[ItemResult]) -> list[Finding]:
    """wrong_name / wrong_phone / wrong_address / wrong_station for the ticket items that fail."""
    pb = ctx.phrasebook
    checks = {i.id: i.check for i in form.items}
    out = []
    recorded = {"wrong_name": ticket_value(ctx, "caller_name"),
                "wrong_phone": ticket_value(ctx, "caller_phone"),
                "wrong_address": ticket_value(ctx, "address"),
                "wrong_station": ticket_value(ctx, "station")}
    for item in items:
        code = FINDING_OF_CHECK.get(checks.get(item.id, ""))
        # An empty field costs the item's points; it is not a wrong entry to be fined.
        if code and item.status == "fail" and recorded[code]:
            out.append(Finding(code=code, fine_yuan=pb.fine(code), detail=item.reason,
                               evidence=item.evidence, item=item.id, serious=pb.is_serious(code)))
    return out
