"""Filling in the spot-check form (录音抽查测评) for one call, with evidence for every verdict.

Each form item names a check (`opening`, `asked.phone`, `readback.address`, `ticket.station`,
…); a check reads the call (see `dialogue`) and gives `pass`, `fail`, `na` or `review` with
the utterances it rests on and a reason in the shift lead's words. Where the machine cannot
be sure (scores between the thresholds, roles inferred from one mono stream, words the
recognizer was unsure of) the item is `review`, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rapidfuzz import fuzz

from qa_audit import __version__
from qa_audit.dialogue import (CONFIRMING, Asked, Turn, apply_correction, best_question, clauses,
                               closing_turns, corrected, correction_of, first_with, is_ack, is_question,
                               name_in, name_read_back, next_turns, opening_turns, phone_in,
                               question_score, reply_to, turns, without_phone, yao_as_one)
from qa_audit.matching import (NEAR_SOUND_SCORE, best_phrase, contains_any, content_words,
                               digits_similarity, near_sound, phrase_score, repeat_score)
from qa_audit.normalize import digits_only, normalize, to_simplified
from qa_audit.timing import is_timed, response_times, timing_findings
from qa_audit.phrasebook import Form, FormItem, Phrasebook, ScriptPhrase
from qa_audit.records import (CallAudit, CallMeta, Finding, ItemResult, Status, Ticket,
                              Transcript, evidence_of)



@dataclass
class Verdict:
    status: Status
    reason: str
    evidence: list[Turn] = field(default_factory=list)
    score: float | None = None


@dataclass
class CallContext:
    """Everything a check may look at for one call."""

    transcript: Transcript
    meta: CallMeta
    phrasebook: Phrasebook
    ticket: Ticket | None = None
    ticket_guessed: bool = False
    stations: Any = None  # dispatch.StationDirectory, when a directory is given
    tickets_given: bool = False  # a ticket export was given (so a missing ticket is a fault)

    @cached_property
    def turns(self) -> list[Turn]:
        return turns(self.transcript)

    @cached_property
    def from_asr(self) -> bool:
        """Whether the words come from a recognizer (so may be misheard) rather than a
        person."""
        return self.transcript.role_source != "given" or any(
            u.confidence is not None for u in self.transcript.utterances)

    @property
    def pass_at(self) -> float:
        return self.phrasebook.matching.thresholds.pass_

    @property
    def fail_at(self) -> float:
        return self.phrasebook.matching.thresholds.fail

    def grade(self, score: float) -> Status:
        if score >= self.pass_at:
            return "pass"
        if score <= self.fail_at:
            return "fail"
        return "review"

    def customer(self) -> list[Turn]:
        return [t for t in self.turns if t.role == "customer"]

    def agent(self) -> list[Turn]:
        return [t for t in self.turns if t.role == "agent"]

    # --- the repair call read once ------------------------------------------------------

    def asked(self, slot: str) -> Asked:
        return self._asked[slot]

    @cached_property
    def _asked(self) -> dict[str, Asked]:
        script = self.phrasebook.scripts[self.script_kind]
        questions = script.questions
        out: dict[str, Asked] = {}
        for slot, q in questions.items():
            # "您家住哪儿" asks for the address, not for where the fault is.
            others = [questions["address"].phrases] if slot == "location" else []
            out[slot] = best_question(self.turns, q.phrases, exclude=others)
        return out

    @property
    def script_kind(self) -> str:
        return self.meta.call_type or "repair"

    def _first_index(self, slot: str) -> int:
        a = self._asked.get(slot)
        if a and a.turn is not None and a.match.score >= self.pass_at:
            return a.turn.index
        return len(self.turns)

    @cached_property
    def is_enquiry(self) -> bool:
        """A repair-line call that reports no repair (咨询): the resident says so or asks
        about fees and the like, and names no problem."""
        if self.script_kind != "repair":
            return False
        enquiry = self.phrasebook.repair.enquiry
        said = "".join(t.text for t in self.customer())
        asks = contains_any(enquiry.resident_says, said) or contains_any(enquiry.topics, said)
        if not asks:
            return False
        if self.address_turn is not None:
            return False
        # "暖气从前天就凉了，是坏了还是咋回事？" "…已经正常停暖了，不是您家暖气坏了": the agent
        # explains the cold radiator is no fault, so it was asked about, not reported.
        if any(contains_any(enquiry.not_a_fault, t.text) for t in self.agent()):
            return True
        reported = [t for t in self.customer()
                    if problem_kinds(self, t.text) and not contains_any(["没毛病", "挺热", "不是报修"],
                                                                        t.text)]
        return not reported

    @cached_property
    def problem_turns(self) -> list[Turn]:
        """What the resident said about the fault, before the agent moved on to the address."""
        end = min(self._first_index("address"), self._first_index("name"),
                  self._first_index("phone"))
        said = [t for t in self.turns[:end] if t.role == "customer" and not is_ack(t.text)]
        if not said:
            said = [t for t in self.customer() if not is_ack(t.text)][:1]
        return said

    @cached_property
    def address_turn(self) -> Turn | None:
        markers = self.phrasebook.repair.facts.address_markers
        asked = self.asked("address")
        end = min(self._first_index("name"), self._first_index("phone"))
        if asked.turn is not None and asked.match.score >= self.pass_at:
            # The reply, or its last piece when it comes in pieces ("…六号楼" "一单元三零二").
            # A room number on its own counts as a piece ("缴费单上写的六零二").
            replies = [t for t in self.customer() if t.index > asked.turn.index
                       and not self._confirms(t) and (self._is_address(t, markers) or (
                           t.index < end and not correction_of(t.text)
                           and _ROOM.search(normalize(without_phone(t.text)))))]
            in_reply = [t for t in replies if t.index < end] or replies[:1]
            if in_reply:
                return in_reply[-1]
        found = [t for t in self.customer() if self._is_address(t, markers)
                 and not self._confirms(t)]
        before = [t for t in found if t.index < end]
        if before:
            return before[-1]  # a correction ("不对，是五零二") replaces the first statement
        return found[0] if found else None

    def _confirms(self, t: Turn) -> bool:
        """"对，四单元。" after the agent's read-back confirms it; it is not the address."""
        from qa_audit.dispatch import house_numbers

        before = [u for u in self.turns[: t.index] if u.role == "agent"][-1:]
        return bool(before) and bool(_CONFIRM_START.match(normalize(t.text))) and set(
            house_numbers(t.text)) <= set(house_numbers(before[0].text))

    @staticmethod
    def _is_address(t: Turn, markers: Sequence[str]) -> bool:
        from qa_audit.dispatch import house_numbers

        # House numbers, not any digit ("前两天" is no address).
        return bool(house_numbers(without_phone(t.text))) and bool(contains_any(markers, t.text))

    @cached_property
    def address_text(self) -> str:
        """The address as the resident finally gave it: pieces given one question at a time
        ("西辛小区。" "十二号楼。" "三单元，四零二。") joined, and a correction ("不对，是五零二")
        put in place of what it corrects."""
        turn = self.address_turn
        if turn is None:
            return ""
        end = min(self._first_index("name"), self._first_index("phone"))
        asked = self.asked("address")
        start = asked.turn.index if asked.turn is not None and asked.match.score >= \
            self.pass_at and asked.turn.index < turn.index else turn.index - 1
        pieces = [t for t in self.customer()
                  if start < t.index <= turn.index and not is_ack(t.text)
                  and (digits_only(t.text) or contains_any(
                      self.phrasebook.repair.facts.address_markers, t.text))]
        text = "".join(corrected(without_phone(t.text)) for t in pieces) or corrected(
            without_phone(turn.text))
        for t in self.customer():
            if turn.index < t.index < end and correction_of(t.text) and digits_only(t.text):
                text = apply_correction(text, t.text)
        return self._confirmed_room(turn, yao_as_one(text))

    def _confirmed_room(self, turn: Turn, text: str) -> str:
        """An address that names two flats ("七号楼二单元。我家是六零三，他家是对门，六零四"): the
        one the agent reads back and the resident confirms ("…六零四，是邻居家，对吗？" "对") is
        the address; the other is only mentioned."""
        from qa_audit.dispatch import community_of, house_numbers

        numbers = house_numbers(text)
        rooms = {n for n in numbers if len(n) >= 3}
        echo = next_turns(self.turns, turn, "agent", 1)
        if len(rooms) < 2 or not echo:
            return text
        echoed = house_numbers(without_phone(echo[0].text))
        picked = {n for n in echoed if len(n) >= 3}
        reply = reply_to(self.turns, echo[0])[:1]
        if len(picked) != 1 or not picked <= rooms or not reply or not _CONFIRM_START.match(
                normalize(reply[0].text)) or not set(house_numbers(reply[0].text)) <= set(echoed):
            return text
        return community_of(text) + "-".join(n for n in numbers if len(n) < 3 or n in picked)

    @cached_property
    def name_turn(self) -> Turn | None:
        asked = self.asked("name")
        volunteered = self.phrasebook.repair.questions["name"].volunteered
        spellings = self.phrasebook.repair.facts.spelled_surnames
        given = first_with(self.turns, "customer", volunteered)
        if asked.turn is not None and given is not None and given.index < asked.turn.index \
                and CONFIRMING.search(asked.turn.text):
            # "…姓名刘淑珍；电话…，对吗？" reads back the name the resident gave in one breath:
            # it confirms, it does not ask, and "对，没错" is no name.
            name = name_in(given.text, spellings)
            if name and normalize(name) in normalize(asked.turn.text):
                return given
        if asked.turn is not None and asked.match.score > self.fail_at:
            for t in reply_to(self.turns, asked.turn):
                if name_in(t.text, spellings):
                    return t
            # "啊？什么？" — the agent asks again and the name comes a few turns later.
            later = [t for t in self.turns[asked.turn.index + 1: asked.turn.index + 5]
                     if t.role == "customer" and not phone_in(t.text)]
            for t in later:
                if name_in(t.text, spellings):
                    return t
        return given

    @cached_property
    def cut_off(self) -> bool:
        """Whether the call broke off mid-intake: the resident spoke last, no closing was said
        and no phone number was taken."""
        return (self.script_kind == "repair" and bool(self.turns)
                and self.turns[-1].role == "customer" and not _closing_said(self)
                and self.phone_turn is None and not self.is_enquiry)

    @cached_property
    def phone_turn(self) -> Turn | None:
        said = [t for t in self.customer() if phone_in(t.text)]
        if said:
            return said[-1]
        # The agent reads the caller's number off the display and the resident confirms it
        # ("留您现在打来的这个号码吗？一三九…" "对，就这个。"): the number is the agent's turn.
        for t in self.agent():
            reply = reply_to(self.turns, t)[:1]
            if phone_in(t.text) and reply and _CONFIRM_START.match(normalize(reply[0].text)):
                return t
        return None


_ROOM = re.compile(r"(?<!\d)\d{3,4}(?!\d)")
_CONFIRM_START = re.compile(r"(对|是|没错|嗯|对对)")
Check = Callable[[CallContext, FormItem], Verdict]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


# --- opening and closing -------------------------------------------------------------------

def _part_score(ctx: CallContext, part_id: str, phrases: Sequence[str], agent_id: bool,
                text: str) -> tuple[float, str]:
    """Score of one part of a scripted sentence and, when it falls short, what was expected."""
    if agent_id:
        expected = ctx.meta.agent_id
        said = digits_only(text)
        if not said:
            return 0.0, f"未报工号{f'（应为{expected}）' if expected else ''}"
        if not expected:
            return (ctx.pass_at if len(said) >= 2 else 0.0), "工号无法核对（未知坐席工号）"
        if expected in said:
            return 100.0, ""
        return float(fuzz.partial_ratio(expected, said)), f"所报工号{said}与坐席工号{expected}不符"
    if part_id == "salutation" and ctx.script_kind == "repair":
        return _salutation_score(ctx, phrases, text)
    m = best_phrase(phrases, text)
    if part_id == "salutation" and m.score < ctx.pass_at and ctx.meta.started_at is not None:
        # The follow-up script has no holiday form, but the day's own greeting (新年好 in
        # the Spring Festival) in place of 您好 is no fault.
        today = ctx.phrasebook.holiday_on(ctx.meta.started_at.date())
        if today is not None and phrase_score(today[1], text) >= ctx.pass_at:
            return 100.0, ""
    if m.score <= ctx.fail_at and ctx.from_asr:
        # A recognizer writes one character of a phrase as another (感谢您的合传): maybe
        # said, for a person (or listening again) to hear.
        off = next((p for p in phrases if _one_char_off(normalize(p), normalize(text))), None)
        if off is not None:
            return NEAR_SOUND_SCORE, f"「{off}」只听出一字不同，可能是识别错误"
    return m.score, ""


def _one_char_off(phrase: str, text: str) -> bool:
    """Whether `text` holds `phrase` (of four characters or more) with exactly one of its
    characters written as another."""
    n = len(phrase)
    return n >= 4 and any(
        sum(a != b for a, b in zip(phrase, text[i:i + n])) == 1
        for i in range(len(text) - n + 1))


def _salutation_score(ctx: CallContext, phrases: Sequence[str], text: str) -> tuple[float, str]:
    """您好 on ordinary days; the holiday's own salutation on holidays (holidays.yaml)."""
    holidays = ctx.phrasebook.holidays.salutations
    started = ctx.meta.started_at
    if started is None:
        # Without the call's date either form is fair; a person checks holiday greetings.
        best = best_phrase([*phrases, *holidays.values()], text)
        return best.score, ""
    today = ctx.phrasebook.holiday_on(started.date())
    if today is not None:
        _, salutation = today
        s = phrase_score(salutation, text)
        return s, "" if s >= ctx.pass_at else f"节日期间应使用「{salutation}」开头"
    used_holiday = best_phrase(list(holidays.values()), text)
    plain = best_phrase(phrases, text)
    if used_holiday.score >= ctx.pass_at and plain.score < ctx.pass_at:
        return 0.0, f"非节日使用了节日用语「{used_holiday.phrase}」"
    return plain.score, ""


def _scripted(ctx: CallContext, section: ScriptPhrase, said: list[Turn], where: str,
              optional: Sequence[str] = ()) -> Verdict:
    if not said:
        return Verdict("fail", f"坐席没有{where}")
    text = "".join(t.text for t in said)
    worst, missing, doubtful, notes = 100.0, [], [], []
    for part in section.parts:
        score, note = _part_score(ctx, part.id, part.phrases, part.agent_id, text)
        if note:
            notes.append(note)
        if not part.required or part.id in optional:
            continue
        worst = min(worst, score)
        if score <= ctx.fail_at:
            missing.append(part.label or part.id)
        elif score < ctx.pass_at:
            doubtful.append(part.label or part.id)
    status = ctx.grade(worst)
    if status == "pass":
        return Verdict("pass", f"{where}符合规范", said, worst)
    parts = []
    if missing:
        parts.append("缺少：" + "、".join(missing))
    if doubtful:
        parts.append("不确定：" + "、".join(doubtful))
    parts += notes
    reason = "；".join(parts) + f"。标准用语：「{_standard(ctx, section)}」"
    return Verdict(status, reason, said, worst)


def _standard(ctx: CallContext, section: ScriptPhrase) -> str:
    text = section.standard.replace("{agent_id}", ctx.meta.agent_id or "XXX")
    if ctx.script_kind == "repair" and section is ctx.phrasebook.repair.opening \
            and ctx.meta.started_at is not None:
        holiday = ctx.phrasebook.holiday_on(ctx.meta.started_at.date())
        if holiday:
            text = text.replace("您好", holiday[1], 1).replace("大龙供暖报修", "大龙报修")
    return text


@check("opening")
def check_opening(ctx: CallContext, item: FormItem) -> Verdict:
    return _scripted(ctx, ctx.phrasebook.scripts[ctx.script_kind].opening,
                     opening_turns(ctx.turns), "开头语")


def _closing_said(ctx: CallContext) -> list[Turn]:
    """Agent turns that say the closing script, wherever they are: a resident may reopen the
    call after it ("哎，等会儿，你不记我名字啊？")."""
    section = ctx.phrasebook.scripts[ctx.script_kind].closing
    return [t for t in ctx.agent() if phrase_score(section.standard, t.text) >= ctx.pass_at]


def _closing_started(ctx: CallContext) -> Turn | None:
    """The first agent turn that begins the closing, even if cut off ("好！维修人员会尽快……"):
    it holds the opening words of one of the closing's longer phrases."""
    section = ctx.phrasebook.scripts[ctx.script_kind].closing
    starts = [normalize(p)[:6] for part in section.parts for p in part.phrases if len(p) >= 4]
    return next((t for t in ctx.agent() if contains_any(starts, t.text)), None)


@check("closing")
def check_closing(ctx: CallContext, item: FormItem) -> Verdict:
    section = ctx.phrasebook.scripts[ctx.script_kind].closing
    if ctx.script_kind == "followup" and not_convenient(ctx) is not None:
        # A time agreed for the follow-up needs no closing; the agent who says it anyway
        # ("那我们下午三点以后再给您打过来。感谢您的合作，…") has said it.
        said = _scripted(ctx, section, closing_turns(ctx.turns), "结束语")
        if said.status == "pass":
            return said
        return Verdict("na", "住户不方便，已约定回访时间", [not_convenient(ctx)])  # type: ignore[list-item]
    optional = ctx.phrasebook.repair.enquiry.closing_not_required if ctx.is_enquiry else ()
    verdict = _scripted(ctx, section, closing_turns(ctx.turns), "结束语", optional=optional)
    earlier = _closing_said(ctx)
    if verdict.status != "pass" and earlier:
        # The closing was said, then the resident spoke again and the agent answered.
        again = _scripted(ctx, section, earlier[-1:], "结束语", optional=optional)
        if again.status == "pass":
            return again
    return verdict


# --- guiding questions (repair) and follow-up questions ------------------------------------------

_VOLUNTEER_LABEL = {"location": "故障位置", "severity": "故障程度", "name": "姓名", "phone": "电话",
                    "address": "地址"}


def _volunteered(ctx: CallContext, slot: str) -> Turn | None:
    """The resident's turn that gave the fact before the agent asked for it."""
    asked = ctx.asked(slot)
    # A fact offered only after the agent's closing ("你不记我名字啊？") was never asked for.
    closing = _closing_said(ctx)
    before = asked.turn.index if asked.turn is not None and asked.match.score >= ctx.pass_at \
        else closing[0].index if closing else len(ctx.turns)
    if slot == "phone":
        t = ctx.phone_turn
        return t if t is not None and t.index < before else None
    q = ctx.phrasebook.repair.questions[slot]
    if slot in ("location", "severity"):
        pool = [t for t in ctx.problem_turns if t.index < before]
    else:
        pool = [t for t in ctx.customer() if t.index < before]
    return next((t for t in pool if contains_any(q.volunteered, t.text)), None)


@check("asked.location")
@check("asked.severity")
@check("asked.name")
@check("asked.phone")
def check_guided(ctx: CallContext, item: FormItem) -> Verdict:
    slot = item.check.split(".", 1)[1]
    asked = ctx.asked(slot)
    label = _VOLUNTEER_LABEL[slot]
    status = ctx.grade(asked.match.score)
    if status == "pass":
        started = _closing_started(ctx) if slot in ("name", "phone", "address") else None
        if started is not None and asked.turn is not None and asked.turn.index > started.index:
            # "哎，你还没问我叫啥呢" — asked only because the resident stopped the closing.
            return Verdict("fail", f"坐席开始结束语时还没有询问{label}，住户提醒后才问",
                           [started, asked.turn], asked.match.score)
        return Verdict("pass", f"坐席询问了{label}", [asked.turn], asked.match.score)  # type: ignore[list-item]
    volunteered = _volunteered(ctx, slot)
    if volunteered is not None:
        # The agent lost nothing: the fact was given before it had to be asked for.
        return Verdict("pass", f"住户已主动说明{label}，无需引导", [volunteered], asked.match.score)
    if status == "review":
        return Verdict("review", f"坐席可能询问了{label}（「{asked.match.phrase}」匹配度"
                                 f"{asked.match.score:.0f}），请人工确认",
                       [asked.turn], asked.match.score)  # type: ignore[list-item]
    return Verdict("fail", f"坐席没有引导住户说明{label}", _where_expected(ctx, slot),
                   asked.match.score)


def _where_expected(ctx: CallContext, slot: str) -> list[Turn]:
    """Evidence for a question that was never asked: the agent turns where it belonged."""
    if slot in ("location", "severity"):
        window = [t for t in ctx.turns if t.index <= (ctx.problem_turns[-1].index + 1
                                                      if ctx.problem_turns else 1)]
    elif slot == "name" and ctx.address_turn is not None:
        window = next_turns(ctx.turns, ctx.address_turn, "agent", 2)
    elif slot == "phone":
        anchor = ctx.name_turn or ctx.address_turn
        window = next_turns(ctx.turns, anchor, "agent", 2) if anchor else []
    else:
        window = []
    agent = [t for t in window if t.role == "agent"]
    return agent[-2:] or closing_turns(ctx.turns)


def not_convenient(ctx: CallContext) -> Turn | None:
    """The resident's "不方便" right after the follow-up opening, if so."""
    opening = opening_turns(ctx.turns)
    if not opening:
        return None
    for t in reply_to(ctx.turns, opening[-1])[:1]:
        if contains_any(ctx.phrasebook.followup.not_convenient, t.text):
            return t
    return None


# Questions about the repairman's visit: with no visit there is no attitude and no charge
# to ask about.
_ABOUT_THE_VISIT = ("attitude", "charged")
# "我家暖气根本就没人来修", "一个人影都没见着", "维修人员一直没上门" (not "没来得及", "没来之前").
_NO_VISIT = re.compile(r"(没有?人(来|上门|过来)|人影(都|也)?没|(师傅|维修工|维修人员|修理工|人)"
                       r"(根本|一直|压根儿?|也|都|就|还)*没有?(来|上门|过来|露面))(?!得及|之前|以前)")


def no_visit(ctx: CallContext) -> Turn | None:
    """The resident's turn saying the repairman never came, if the follow-up has one."""
    return next((t for t in ctx.customer() if _NO_VISIT.search(normalize(t.text))), None)


@check("asked.resolved")
@check("asked.attitude")
@check("asked.charged")
@check("asked.rating")
@check("asked.suggestions")
@check("asked.payment")
def check_followup_question(ctx: CallContext, item: FormItem) -> Verdict:
    slot = item.check.split(".", 1)[1]
    q = ctx.phrasebook.followup.questions[slot]
    asked = ctx.asked(slot)
    status = ctx.grade(asked.match.score)
    if status == "pass":
        return Verdict("pass", f"坐席询问了「{q.label}」", [asked.turn], asked.match.score)  # type: ignore[list-item]
    away = not_convenient(ctx)
    if away is not None:
        return Verdict("na", "住户不方便，已约定回访时间", [away])
    nobody = no_visit(ctx) if slot in _ABOUT_THE_VISIT else None
    if nobody is not None:
        return Verdict("na", f"住户反映维修人员没有上门，无从询问「{q.label}」", [nobody])
    volunteered = first_with(ctx.turns, "customer", q.volunteered) if q.volunteered else None
    # An answer right after what may have been the question ("请问问题解结了吗？" "解决了")
    # answers it: whether it was asked is for a person to hear, not volunteered.
    maybe_asked = status == "review" and asked.turn is not None
    if volunteered is not None and not (maybe_asked and volunteered.index > asked.turn.index):
        return Verdict("na", f"住户已主动说明，无需再问「{q.label}」", [volunteered])
    if status == "review":
        return Verdict("review", f"可能询问了「{q.label}」（匹配度{asked.match.score:.0f}），请人工确认",
                       [asked.turn], asked.match.score)  # type: ignore[list-item]
    return Verdict("fail", f"坐席没有询问「{q.label}」", closing_turns(ctx.turns)[:1],
                   asked.match.score)


# --- read-back -------------------------------------------------------------------------------

_FACT_LABEL = {"problem": "报修内容", "address": "地址", "name": "姓名", "phone": "电话"}


def _statements(text: str) -> str:
    """The statements of an agent turn without its questions, when punctuation tells them
    apart; a read-back is a statement ("暖气片漏水是吧"), "是哪个屋不热？" is a question."""
    parts = clauses(text)
    if len(parts) == 1:
        # A lone question ("哪个房间不热？") repeats nothing; without punctuation, keep it.
        return "" if re.search(r"[？?]\s*$", text) else text
    return "".join(p for p in parts if not is_question(p) or "对吗" in p or "是吧" in p)


_NEGATED = re.compile(r"(不|没有?|别)(漏|滴|渗|冒|流|凉|冷)")


def problem_kinds(ctx: CallContext, text: str) -> set[str]:
    """The kinds of problem a text names (不漏/没凉 name none: "不漏水，就是拧不动")."""
    kinds = ctx.phrasebook.repair.facts.problem_kinds
    text = _NEGATED.sub("", normalize(text))
    return {k for k, words in kinds.items() if contains_any(words, text)}


def _readback_score(ctx: CallContext, fact: str, said: Turn, echo: Turn) -> float:
    if fact == "phone":
        return digits_similarity(phone_in(said.text), echo.text)
    if fact == "name":
        name = name_read_back(said.text, echo.text, ctx.phrasebook.repair.facts.spelled_surnames)
        if not name:
            return 0.0
        full = phrase_score(name, echo.text)
        surname = phrase_score(name[0], echo.text) * 0.9 if len(name) >= 2 and re.search(
            f"{re.escape(name[0])}(先生|女士|师傅|阿姨|大爷|大姐)", normalize(echo.text)) else 0.0
        return max(full, surname)
    if fact == "address":
        from qa_audit.dispatch import house_numbers, place_said, same_house

        # A recognizer may write a whole utterance in traditional characters (三號樓二單元):
        # the house numbers are the same.
        address = to_simplified(ctx.address_text or said.text)
        community = normalize(place_said(address))
        echoed = to_simplified(without_phone(echo.text))
        numbers = 100.0 if same_house(address, echoed) else digits_similarity(
            "".join(house_numbers(address)), "".join(house_numbers(echoed)))
        if len(community) >= 2:
            # Residents and agents shorten community names (裕龙小区 / 裕龙): fuzzy always;
            # an alias and the directory's name for it (幸福小区 / 幸福里) are the same place.
            place = fuzz.partial_ratio(community, normalize(echo.text))
            if ctx.stations is not None and place < 100:
                here = ctx.stations.station_for_address(address)
                there = ctx.stations.station_for_address(echo.text)
                if here and there and here.community == there.community and min(
                        here.score, there.score) >= ctx.pass_at:
                    place = 100.0
            return 0.75 * numbers + 0.25 * place
        return numbers
    # Curt requests ("地址。") ask for the next fact; they repeat nothing.
    questions = [ctx.phrasebook.repair.questions[s] for s in ("address", "name", "phone")]
    statement = _statements(" ".join(
        c for c in clauses(echo.text) if len(normalize(c)) > 6
        or not any(question_score(q.phrases, c).score >= 100 for q in questions)))
    kinds = problem_kinds(ctx, said.text)
    if kinds & problem_kinds(ctx, statement):
        return 100.0
    covered = repeat_score(said.text, statement)
    if covered >= 50 and len(content_words(statement)) >= 2:
        # The facts of a long complaint said back and nothing else ("客厅十七度，卧室十八度"
        # for "就是不热啊，客厅十七度，卧室也就十八度，我家老爷子……"): a read-back in short.
        return max(covered, repeat_score(statement, said.text))
    # The facts may come from more than one of the resident's turns ("屋里十七度。" and, asked
    # which room, "小卧室，孩子住那屋。"), read back together ("小卧室十七度"): a statement
    # of where and how bad, every word of it the resident's, repeats the problem.
    # A recognizer runs the next question into it ("小卧室十七度请问您的具体地址"): that is
    # no part of the read-back.
    guide = ctx.phrasebook.repair.questions
    bare = normalize(statement)
    for asked in sorted({normalize(p) for q in questions for p in q.phrases}, key=len,
                        reverse=True):
        bare = bare.replace(asked, "")
    told = " ".join(t.text for t in ctx.problem_turns if t.index < echo.index)
    if told and len(content_words(bare)) >= 2 and contains_any(
            [*guide["location"].volunteered, *guide["severity"].volunteered], bare):
        return max(covered, repeat_score(bare, told))
    return covered


def _number_never_read_back(ctx: CallContext, asked: Turn) -> Verdict | None:
    """A phone the recognizer could not make out (sample 403: 「有三三八 领导主席」) is
    still a number answered: if the agent says no number at all after it, it was not read
    back, whatever the digits were."""
    replies = reply_to(ctx.turns, asked)
    if not replies or len(digits_only("".join(t.text for t in replies))) < 3:
        return None
    after = [t for t in ctx.agent() if t.index > replies[-1].index]
    if not after or any(digits_only(t.text) for t in after):
        return None
    return Verdict("fail", "住户报了电话号码，坐席之后没有念出任何号码（未跟读电话）",
                   [asked, *after[:2]])


@check("readback.problem")
@check("readback.address")
@check("readback.name")
@check("readback.phone")
def check_readback(ctx: CallContext, item: FormItem) -> Verdict:
    fact = item.check.split(".", 1)[1]
    label = _FACT_LABEL[fact]
    if fact == "problem":
        said_turns = ctx.problem_turns
        if not said_turns:
            return Verdict("review", "找不到住户描述的报修内容，请人工确认")
        end = ctx._first_index("address")
        window = [t for t in ctx.turns if said_turns[0].index < t.index <= end
                  and t.role == "agent"][:4]
        window += [t for t in ctx.agent() if t.index > end and CONFIRMING.search(t.text)]
        pairs = [(s, e) for e in window for s in said_turns if s.index < e.index]
    else:
        said = {"address": ctx.address_turn, "name": ctx.name_turn, "phone": ctx.phone_turn}[fact]
        if said is not None and said.role == "agent":
            return Verdict("pass", f"坐席念出了{label}，住户确认", [said, *reply_to(ctx.turns, said)[:1]])
        if said is None:
            asked = ctx.asked(fact)
            if asked.turn is not None and asked.match.score >= ctx.pass_at:
                unread = _number_never_read_back(ctx, asked.turn) if fact == "phone" else None
                if unread is not None:
                    return unread
                return Verdict("review", f"坐席询问了{label}，但找不到住户的回答，请人工确认",
                               [asked.turn])
            return Verdict("fail", f"通话中没有{label}，无从跟读", closing_turns(ctx.turns)[:1])
        # The read-back is usually the next agent turn, but a resident who volunteers
        # everything at once is read back later ("您是陈志红，电话…，对吧？").
        closing = {t.index for t in closing_turns(ctx.turns)}
        later = [t for t in ctx.agent() if t.index > said.index and t.index not in closing][:6]
        pairs = [(said, e) for e in later or next_turns(ctx.turns, said, "agent", 1)]
        if not pairs:
            return Verdict("fail", f"住户说出{label}后坐席没有跟读", [said])
    best_score, best_pair = 0.0, None
    for s, e in pairs:
        sc = _readback_score(ctx, fact, s, e)
        if sc > best_score:
            best_score, best_pair = sc, (s, e)
    if best_pair is None:
        first = said_turns[0] if fact == "problem" else pairs[0][0] if pairs else None
        return Verdict("fail", f"坐席没有跟读{label}", [first] if first else [])
    status = ctx.grade(best_score)
    s, e = best_pair
    if status == "pass":
        return Verdict("pass", f"坐席跟读了{label}", [s, e], best_score)
    if status == "review":
        return Verdict("review", f"坐席的跟读与住户所说的{label}只部分一致（{best_score:.0f}），请人工确认",
                       [s, e], best_score)
    following = next_turns(ctx.turns, s, "agent", 1) if fact != "problem" else pairs[0][1:]
    return Verdict("fail", f"住户说出{label}后坐席没有跟读", [s, *following], best_score)


# --- items that need the ticket --------------------------------------------------------------

def _ticket_check(ctx: CallContext, item: FormItem) -> Verdict:
    field_ = item.check.split(".", 1)[1]
    if ctx.ticket is None and ctx.tickets_given and ctx.script_kind == "repair":
        said = {"problem": ctx.problem_turns[:1], "name": [ctx.name_turn],
                "phone": [ctx.phone_turn]}.get(field_, [ctx.address_turn])
        return Verdict("fail", "没有找到本通报修电话的工单（工单导出中无此录音编号，也无同坐席同时段的工单）",
                       [t for t in said if t is not None] or opening_turns(ctx.turns)[:1])
    if ctx.ticket is None:
        return Verdict("na", "需要工单数据才能评定（--tickets）")
    from qa_audit.ticket_checks import ticket_verdict

    return ticket_verdict(ctx, field_)


for _field in ("problem", "name", "phone", "address", "station", "seat", "recorder",
               "address_format"):
    CHECKS[f"ticket.{_field}"] = _ticket_check


@check("phrase")
def check_phrase(ctx: CallContext, item: FormItem) -> Verdict:
    """A site's own item: one of `phrases` said by `speaker`, first, last or anywhere."""
    pool = [t for t in ctx.turns if t.role == item.speaker]
    if item.where == "first":
        pool = pool[:1]
    elif item.where == "last":
        pool = pool[-1:]
    best_turn, best = None, 0.0
    for t in pool:
        s = best_phrase(item.phrases, t.text).score
        if s > best:
            best_turn, best = t, s
    status = ctx.grade(best)
    evidence = [best_turn] if best_turn else pool[-1:]
    reasons = {"pass": f"说了「{item.label or item.id}」", "fail": f"没有说「{item.label or item.id}」",
               "review": f"可能说了「{item.label or item.id}」，请人工确认"}
    return Verdict(status, reasons[status], evidence, best)


# --- findings from conduct and follow-up answers ---------------------------------------------

def conduct_findings(ctx: CallContext) -> list[Finding]:
    pb = ctx.phrasebook
    out: list[Finding] = []
    impolite, promise = pb.conduct.impolite, pb.conduct.invalid_promise
    whole = {normalize(p) for p in impolite.whole_utterance_only}
    for t in ctx.agent():
        n = normalize(t.text)
        hit = None
        for phrase in impolite.phrases:
            np_ = normalize(phrase)
            if np_ in whole:
                if any(normalize(c) == np_ for c in clauses(t.text)):
                    hit = phrase
            elif len(np_) >= 3 and phrase_score(phrase, t.text) >= 90:
                hit = phrase
            if hit:
                break
        if hit is None:
            shape = next((m for p in impolite.patterns if (m := re.search(p, n))), None)
            hit = shape.group(0) if shape else None
        if hit:
            out.append(_finding(pb, "impolite", f"服务忌语「{hit}」", [t]))
        pattern = next((p for p in promise.patterns if re.search(p, n)), None)
        if pattern:
            out.append(_finding(pb, "invalid_promise", f"无效承诺：「{t.text}」", [t]))
    return out


def nonstandard_opening(pb: Phrasebook, opening: ItemResult) -> Finding:
    """The fine for a failed first sentence (nonstandard_phrase), on the opening item."""
    return Finding(code="nonstandard_phrase", fine_yuan=pb.fine("nonstandard_phrase"),
                   detail=f"开头语不规范：{opening.reason}", evidence=opening.evidence,
                   item=opening.id, serious=pb.is_serious("nonstandard_phrase"))


def _finding(pb: Phrasebook, code: str, detail: str, evidence: Sequence[Turn],
             item: str | None = None) -> Finding:
    return Finding(code=code, fine_yuan=pb.fine(code), detail=detail,
                   evidence=[evidence_of(t.utterance) for t in evidence], item=item,
                   serious=pb.is_serious(code))


_RATING = re.compile(r"(10|[1-9])分")
# Two neighbouring numbers (七八分, 八九分, 九十分 as 9–10): the lower one is the rating, so a
# hedged answer is not counted higher than the resident gave.
_RATING_RANGE = re.compile(r"(?<![0-9])([1-8])([2-9])分|(?<![0-9])(9)(?:10|0)分")
# A bare number as the whole answer ("九。" "八吧"), not a 1 inside 一个 ("你们一个公司的").
_BARE_RATING = re.compile(r"(?:给|打|就)?(10|[1-9])(?:吧|啊|呀|呗|的)?")
# Between two ratings, the resident changes their mind ("八分……算了，给九分吧").
_RATING_CORRECTED = re.compile(r"算了|不对|还是|改成|改|那就|再加|给")
_ANSWER_FILLER = re.compile(r"[啊吧呀呢的了哦嗯]+$")
# A degree word inside a negation ("没怎么解决", "没彻底解决", "不大满意") still negates.
_NEG_DEGREE = re.compile(r"(没有?|不)(怎么|太|大|完全|彻底|咋)(?=解决|修好|热|满意)")
# Whole-answer words that also open a reply as a mere filler ("嗯，我想想"): they answer only
# as the whole reply, not as its first clause.
_FILLER_ANSWERS = frozenset({"嗯", "哦", "啊"})


def answer_has(words: Sequence[str], reply: str) -> bool:
    """Whether a reply uses one of the words. "=是" means the whole reply is 是, or its first
    clause is, with more said after it: "没有，还是在滴水" answers no, "是的，就是慢了点" yes."""
    def whole(text: str) -> str:
        return _ANSWER_FILLER.sub("", normalize(text)) or normalize(text)

    answers = {normalize(w[1:]) for w in words if w.startswith("=")}
    first = clauses(reply)[0]
    said = {whole(reply)} | ({whole(first)} - _FILLER_ANSWERS)
    inside = [w for w in words if not w.startswith("=")]
    return bool(said & answers) or bool(contains_any(inside, reply))


def rating_in(text: str) -> int | None:
    """The 1–10 rating a reply gives: 八分, 打个八分, 八九分 (the lower), 满分, a bare 九, or
    the one a resident corrects to (八分……算了，给九分吧)."""
    n = normalize(text)
    if "满分" in n:
        return 10
    hedged = _RATING_RANGE.search(n)
    if hedged:
        return int(hedged.group(1) or hedged.group(3))
    said = list(_RATING.finditer(n))
    if len(said) > 1 and _RATING_CORRECTED.search(n, said[0].end(), said[-1].start()):
        return int(said[-1].group(1))  # "八分……算了，给九分吧": the corrected one
    m = said[0] if said else _BARE_RATING.fullmatch(n)
    return int(m.group(1)) if m else None


def _answer(ctx: CallContext, slot: str, text: str) -> Any:
    if slot == "rating":
        return rating_in(text)
    vocab = ctx.phrasebook.followup.answers[slot]
    text = _NEG_DEGREE.sub(r"\1", to_simplified(text))
    return next((v for v, words in vocab.items() if answer_has(words, text)), None)


@dataclass
class FollowupAnswers:
    """The resident's answers to questions a–d, the turns each came from, and the questions
    asked whose answer the recognizer did not make out."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, list[Turn]] = field(default_factory=dict)
    unheard: list[str] = field(default_factory=list)


def followup_answers(ctx: CallContext) -> FollowupAnswers:
    """The resident's answers to questions a–d, with the turns they come from: the reply to
    each time the agent asked (a second asking when the first reply was "啥？"), or what the
    resident volunteered when the agent did not ask. On recognizer output, a question surely
    asked and replied to, whose reply gives no answer that can be made out, is `unheard`."""
    questions = ctx.phrasebook.followup.questions
    found = FollowupAnswers()
    for slot in ("resolved", "attitude", "charged", "rating"):
        q = questions[slot]
        scored = [(question_score(q.phrases, t.text).score, t) for t in ctx.agent()]
        # Surely asked first; then where it may have been asked ("请问问题解结了吗？").
        surely = [t for s, t in scored if s >= ctx.pass_at]
        asking = surely + [t for s, t in scored if ctx.fail_at < s < ctx.pass_at]
        candidates = [reply_to(ctx.turns, t) for t in asking]
        if q.volunteered:
            # Answered before the question, or the question only seemed asked ("…，没有收费。"
            # confirms what was volunteered): what the resident volunteered answers it.
            said = first_with(ctx.turns, "customer", q.volunteered)
            candidates += [[said]] if said is not None else []
        for replies in candidates:
            value = _heard_answer(ctx, slot, replies)
            if value is not None:
                found.values[slot], found.sources[slot] = value, replies
                break
        else:
            if ctx.from_asr and any(reply_to(ctx.turns, t) for t in surely):
                found.unheard.append(slot)
    return found


def _heard_answer(ctx: CallContext, slot: str, replies: list[Turn]) -> Any:
    """The answer in the replies. On recognizer output, a word heard with one syllable
    misheard ("解结了" for 解决了) still answers; a rating heard unsurely is left out, as a
    number is one syllable a recognizer easily mishears (就分 for 六分)."""
    text = "".join(t.text for t in replies)
    value = _answer(ctx, slot, text)
    if not ctx.from_asr:
        return value
    if slot == "rating":
        bar = ctx.phrasebook.matching.min_fine_confidence
        unsure = any(t.utterance.confidence is not None and t.utterance.confidence < bar
                     for t in replies)
        return None if unsure else value
    if value is None:
        vocab = ctx.phrasebook.followup.answers[slot]
        value = next((v for v, words in vocab.items()
                      if any(near_sound(w, text) for w in words if not w.startswith("="))), None)
    return value


# --- the whole form --------------------------------------------------------------------------

# Items the agent fails by leaving words unsaid: if no one in the call said them, who said
# what does not matter.
_SAID_OR_NOT = ("opening", "closing")


def _missing_whoever_spoke(ctx: CallContext, item: FormItem) -> bool:
    """Whether a failed opening, closing or follow-up question fails even with every word of
    the call taken as the agent's: then the fail does not rest on the roles a mono
    recording's voices were given (devset 209: the opening and the rating question are
    nowhere in the call)."""
    if item.check not in _SAID_OR_NOT and not (
            item.check.startswith("asked.") and ctx.script_kind == "followup"):
        return False
    slot = item.check.removeprefix("asked.")
    if slot in ctx.phrasebook.followup.answers or slot == "rating":
        # An answer said anywhere may be the resident volunteering it: not surely unasked.
        if any(_answer(ctx, slot, u.text) is not None for u in ctx.transcript.utterances):
            return False
    everyone = ctx.transcript.model_copy(update={"utterances": [
        u.model_copy(update={"role": "agent"}) for u in ctx.transcript.utterances]})
    alone = CallContext(everyone, ctx.meta, ctx.phrasebook, ctx.ticket, ctx.ticket_guessed,
                        ctx.stations, ctx.tickets_given)
    return CHECKS[item.check](alone, item).status == "fail"


def _downgrade(ctx: CallContext, item: FormItem, verdict: Verdict) -> Verdict:
    """A `fail` that rests on uncertain roles or words a person must hear becomes `review`."""
    if verdict.status != "fail":
        return verdict
    m = ctx.phrasebook.matching
    if ctx.transcript.role_confidence < m.min_role_confidence and not item.check.startswith(
            "ticket.") and not _missing_whoever_spoke(ctx, item):
        return Verdict("review", f"{verdict.reason}（说话人由单声道推断，置信度"
                                 f"{ctx.transcript.role_confidence:.2f}，请人工确认）",
                       verdict.evidence, verdict.score)
    # A failed first sentence is also a fine (nonstandard_phrase): it needs the surer hearing
    # that fines need.
    bar = m.min_fine_confidence if item.check == "opening" else m.min_asr_confidence
    unsure = [t for t in verdict.evidence if t.utterance.confidence is not None
              and t.utterance.confidence < bar]
    if unsure:
        return Verdict("review", f"{verdict.reason}（识别置信度低：「{unsure[0].text}」，请听录音确认）",
                       verdict.evidence, verdict.score)
    return verdict


_ENQUIRY_ITEMS = ("asked.", "readback.", "ticket.")


def score_form(ctx: CallContext, form: Form) -> list[ItemResult]:
    items: list[ItemResult] = []
    for item in form.items:
        if ctx.is_enquiry and item.check.startswith(_ENQUIRY_ITEMS):
            verdict = Verdict("na", "咨询电话（住户未报修），本项不适用", ctx.customer()[:1])
        else:
            verdict = _downgrade(ctx, item, CHECKS[item.check](ctx, item))
        points = {"pass": item.points, "review": item.points, "fail": 0.0, "na": 0.0}[
            verdict.status]
        items.append(ItemResult(
            id=item.id, label=item.label, status=verdict.status, points=points,
            max_points=item.points, reason=verdict.reason,
            evidence=[evidence_of(t.utterance) for t in verdict.evidence if t is not None],
            match_score=None if verdict.score is None else round(verdict.score, 1)))
    return items


def score_call(transcript: Transcript, meta: CallMeta, phrasebook: Phrasebook, *,
               ticket: Ticket | None = None, ticket_guessed: bool = False,
               stations: Any = None, tickets_given: bool | None = None,
               extra_findings: Sequence[Finding] = ()) -> CallAudit:
    """Fill in the call's form. `meta.call_type` picks the form (repair when unknown)."""
    call_type = meta.call_type or "repair"
    meta = meta.model_copy(update={"call_type": call_type})
    form = phrasebook.form_for(call_type)
    ctx = CallContext(transcript, meta, phrasebook, ticket, ticket_guessed, stations,
                      tickets_given=ticket is not None if tickets_given is None else tickets_given)
    items = score_form(ctx, form)
    findings = list(extra_findings)
    if ctx.cut_off:
        # The line dropped before the intake was complete: there was nothing to ticket yet
        # (the resident calls again); a missing ticket is no fault of this call.
        findings = [f for f in findings if f.code != "missing_ticket"]
    opening = next((i for i in items if form_check(form, i.id) == "opening"), None)
    if opening is not None and opening.status == "fail":
        findings.append(nonstandard_opening(phrasebook, opening))
    findings += conduct_findings(ctx)
    findings += timing_findings(transcript, phrasebook)
    answers = FollowupAnswers()
    if call_type == "followup":
        answers = followup_answers(ctx)
        if answers.values.get("charged") == "yes":
            findings.append(_finding(phrasebook, "repairman_charged", "回访中住户反映维修工收费",
                                     answers.sources["charged"]))
        for item in items:
            if form_check(form, item.id).removeprefix("asked.") in answers.unheard:
                item.reason += "；住户的回答未听清"
    if ticket is not None:
        from qa_audit.ticket_checks import ticket_findings

        findings += ticket_findings(ctx, form, items)
    max_score = sum(i.max_points for i in items if i.status != "na")
    return CallAudit(
        call_id=transcript.call_id, agent_id=meta.agent_id, call_type=call_type, form=form.id,
        score=sum(i.points for i in items), max_score=max_score, items=items, findings=findings,
        answers=answers.values, unheard=answers.unheard, started_at=meta.started_at,
        response_times=response_times(transcript) if is_timed(transcript) else None,
        ticket_id=ticket.ticket_id if ticket else meta.ticket_id,
        station=ticket.station if ticket else None, audio=transcript.audio,
        provenance={"qa_audit": __version__, "form": f"{form.id}@{form.version}",
                    "phrasebook": phrasebook.version,
                    "transcript": dict(transcript.provenance),
                    "role_source": transcript.role_source,
                    **({"enquiry": True} if ctx.is_enquiry else {}),
                    "role_confidence": transcript.role_confidence,
                    **({"ticket_match": "guessed"} if ticket_guessed else {})})


def form_check(form: Form, item_id: str) -> str:
    return next(i.check for i in form.items if i.id == item_id)
