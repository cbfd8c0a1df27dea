"""The script's own lines: the first sentence (开头语) and the closing (结束语).

Spot-check criterion: the agent opens with the standard greeting, the line's name and the
agent's id (节日 greetings on holidays), and ends with the standard closing. Each part of the
line is scored on its own, so the reason names what was missing; a part a recognizer wrote
with one character off is `review`, not a fail. A failed opening is also a fine
(nonstandard_phrase): residents judge the line by its first sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from qa_audit.dialogue import Turn, closing_turns, opening_turns
from qa_audit.form.facts import CallContext, closing_said, not_convenient
from qa_audit.form.registry import register
from qa_audit.form.verdict import Verdict
from qa_audit.matching import NEAR_SOUND_SCORE, best_phrase, phrase_score
from qa_audit.normalize import digits_only, normalize

if TYPE_CHECKING:
    from qa_audit.phrasebook import FormItem, ScriptPhrase


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
    reason = "；".join(parts) + f"。标准用语：「{standard_text(ctx, section)}」"
    return Verdict(status, reason, said, worst)


def standard_text(ctx: CallContext, section: ScriptPhrase) -> str:
    text = section.standard.replace("{agent_id}", ctx.meta.agent_id or "XXX")
    if ctx.script_kind == "repair" and section is ctx.phrasebook.repair.opening \
            and ctx.meta.started_at is not None:
        holiday = ctx.phrasebook.holiday_on(ctx.meta.started_at.date())
        if holiday:
            text = text.replace("您好", holiday[1], 1).replace("大龙供暖报修", "大龙报修")
    return text


@register("opening", label="用语第一句", finding="nonstandard_phrase")
def check_opening(ctx: CallContext, item: FormItem) -> Verdict:
    return _scripted(ctx, ctx.phrasebook.scripts[ctx.script_kind].opening,
                     opening_turns(ctx.turns), "开头语")


@register("closing", label="结束语")
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
    earlier = closing_said(ctx)
    if verdict.status != "pass" and earlier:
        # The closing was said, then the resident spoke again and the agent answered.
        again = _scripted(ctx, section, earlier[-1:], "结束语", optional=optional)
        if again.status == "pass":
            return again
    return verdict
