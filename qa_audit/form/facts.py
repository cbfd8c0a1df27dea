"""The facts of one call that the checks look at: the turns, who said what, where the agent
asked for each fact and where the resident gave it (address, name, phone, problem), whether
the call was an enquiry or was cut off.

A fact is read once per call (a cached property) and shared by every check that needs it:
the read-back of the address and the ticket's address are held against the same turn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from qa_audit.dialogue import (CONFIRMING, Asked, Turn, apply_correction, best_question,
                               correction_of, corrected, first_with, is_ack, name_in, next_turns,
                               opening_turns, phone_in, reply_to, turns, without_phone,
                               yao_as_one)
from qa_audit.dispatch import community_of, house_numbers
from qa_audit.matching import contains_any, phrase_score
from qa_audit.normalize import digits_only, normalize
from qa_audit.records import CallMeta, Status, Ticket, Transcript

if TYPE_CHECKING:
    from qa_audit.phrasebook import Phrasebook


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

    def first_index(self, slot: str) -> int:
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
        end = min(self.first_index("address"), self.first_index("name"),
                  self.first_index("phone"))
        said = [t for t in self.turns[:end] if t.role == "customer" and not is_ack(t.text)]
        if not said:
            said = [t for t in self.customer() if not is_ack(t.text)][:1]
        return said

    @cached_property
    def address_turn(self) -> Turn | None:
        markers = self.phrasebook.repair.facts.address_markers
        asked = self.asked("address")
        end = min(self.first_index("name"), self.first_index("phone"))
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
        before = [u for u in self.turns[: t.index] if u.role == "agent"][-1:]
        return bool(before) and bool(_CONFIRM_START.match(normalize(t.text))) and set(
            house_numbers(t.text)) <= set(house_numbers(before[0].text))

    @staticmethod
    def _is_address(t: Turn, markers: Sequence[str]) -> bool:
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
        end = min(self.first_index("name"), self.first_index("phone"))
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
                and self.turns[-1].role == "customer" and not closing_said(self)
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

_NEGATED = re.compile(r"(不|没有?|别)(漏|滴|渗|冒|流|凉|冷)")


def problem_kinds(ctx: CallContext, text: str) -> set[str]:
    """The kinds of problem a text names (不漏/没凉 name none: "不漏水，就是拧不动")."""
    kinds = ctx.phrasebook.repair.facts.problem_kinds
    text = _NEGATED.sub("", normalize(text))
    return {k for k, words in kinds.items() if contains_any(words, text)}


def closing_said(ctx: CallContext) -> list[Turn]:
    """Agent turns that say the closing script, wherever they are: a resident may reopen the
    call after it ("哎，等会儿，你不记我名字啊？")."""
    section = ctx.phrasebook.scripts[ctx.script_kind].closing
    return [t for t in ctx.agent() if phrase_score(section.standard, t.text) >= ctx.pass_at]


def not_convenient(ctx: CallContext) -> Turn | None:
    """The resident's "不方便" right after the follow-up opening, if so."""
    opening = opening_turns(ctx.turns)
    if not opening:
        return None
    for t in reply_to(ctx.turns, opening[-1])[:1]:
        if contains_any(ctx.phrasebook.followup.not_convenient, t.text):
            return t
    return None
