"""Read-backs (跟读): the agent says back the problem, address, name and phone.

Spot-check criterion: after the resident gives each fact the agent repeats it, so a misheard
digit or character is caught on the call and not by a repairman at the wrong door. Phones
and house numbers are compared digit by digit, names by sound, the problem by its kind
(不热, 漏水) or by the resident's own words said back; a read-back that only partly matches
is `review`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from qa_audit.dialogue import (CONFIRMING, Turn, clauses, closing_turns, is_question,
                               name_read_back, next_turns, phone_in, question_score, reply_to,
                               without_phone)
from qa_audit.dispatch import house_numbers, place_said, same_house
from qa_audit.form.facts import CallContext, problem_kinds
from qa_audit.form.registry import register
from qa_audit.form.verdict import Verdict
from qa_audit.matching import (contains_any, content_words, digits_similarity, phrase_score,
                               repeat_score)
from qa_audit.normalize import digits_only, normalize, to_simplified

if TYPE_CHECKING:
    from qa_audit.phrasebook import FormItem


_FACT_LABEL = {"problem": "报修内容", "address": "地址", "name": "姓名", "phone": "电话"}


def _statements(text: str) -> str:
    """The statements of an agent turn without its questions, when punctuation tells them
    apart; a read-back is a statement ("暖气片漏水是吧"), "是哪个屋不热？" is a question."""
    parts = clauses(text)
    if len(parts) == 1:
        # A lone question ("哪个房间不热？") repeats nothing; without punctuation, keep it.
        return "" if re.search(r"[？?]\s*$", text) else text
    return "".join(p for p in parts if not is_question(p) or "对吗" in p or "是吧" in p)


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


@register("readback.problem", label="跟读内容", scripts={"repair"}, fact="problem")
@register("readback.address", label="跟读地址", scripts={"repair"}, fact="address")
@register("readback.name", label="跟读姓名", scripts={"repair"}, fact="name")
@register("readback.phone", label="跟读电话", scripts={"repair"}, fact="phone")
def check_readback(ctx: CallContext, item: FormItem) -> Verdict:
    fact = item.check.split(".", 1)[1]
    label = _FACT_LABEL[fact]
    if fact == "problem":
        said_turns = ctx.problem_turns
        if not said_turns:
            return Verdict("review", "找不到住户描述的报修内容，请人工确认")
        end = ctx.first_index("address")
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
