"""Reading a call turn by turn: where the agent asked what, where the resident gave which fact.

The checks in `qa_audit.form.checks` ask questions of a call ("did the agent ask for the phone before the
resident gave it?", "which agent turns follow the resident's address?"); this module answers
them from the transcript alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qa_audit.matching import Match, best_phrase, contains_any
from qa_audit.normalize import digits_only, normalize, numbers_to_digits
from qa_audit.records import Transcript, Utterance

# Short answers that confirm or acknowledge rather than state a fact.
_ACKS = frozenset("对 是 对的 是的 嗯 嗯嗯 没错 对对 对对对 好 好的 行 对啊 是啊 哦 啊 谢谢 好谢谢 好的谢谢 "
                  "再见 好再见 拜拜 没有了 没了 谢谢你 嗯对 对是的".split())
# Recognizers often separate clauses with spaces instead of punctuation.
_CLAUSE_SPLIT = re.compile(r"[。！？!?；;，,、…\s]+")
_QUESTION_MARK = re.compile(r"[？?]\s*$")
# A request ending in 吧 asks too ("您给打个分吧"); a tag 是吧/对吧 on a read-back does not.
_REQUEST = re.compile(r"(?<![是对])吧[。！!，,]?\s*$")
# 呢 is not here: "还有好多电话排着呢" states; "地址呢？" has its question mark.
_QUESTION_WORDS = ("吗", "么", "哪", "多少", "几", "什么", "怎么", "怎样", "如何", "咋", "是不是", "有没有",
                   "请", "麻烦", "能不能", "可不可以", "贵姓", "称呼", "严重不", "没有",
                   # requests for a fact ask for it too: 留个电话吧, 说一下地址, 告诉我
                   "留", "说一下", "告诉")
# 安 is how a recognizer writes the dialect 俺.
# "对，刘女士就行" heard without its comma ("对刘女士就行"): the confirmation is no part of the name.
# "哦我叫孟庆福" heard without its pause: a hesitation before the name is no part of it.
_HESITATION = "(对|嗯|哦|噢|啊|呃|哎|诶|唉)*"
_NAME_LEADS = re.compile(rf"^{_HESITATION}((我|俺|咱|安)(叫|姓|是)|姓|叫|免贵姓|这边是|是)?")
# "我是裕龙小区…五零一的我叫刘淑珍" run together: the name begins where the resident says so.
_INTRODUCED_INSIDE = re.compile(r"(?<=.)(我|俺|咱)叫")
_NAME_TAILS = re.compile(r"(先生|女士|小姐|师傅|阿姨|大爷|大姐|就行|就可以|就好|就成|吧)$")


@dataclass(frozen=True)
class Turn:
    index: int
    utterance: Utterance

    @property
    def role(self) -> str:
        return self.utterance.role

    @property
    def text(self) -> str:
        return self.utterance.text


@dataclass(frozen=True)
class Asked:
    """The agent turn where a question was asked best."""

    turn: Turn | None
    match: Match


def turns(transcript: Transcript) -> list[Turn]:
    ordered = sorted(transcript.utterances, key=lambda u: (u.start, u.end))
    return [Turn(i, u) for i, u in enumerate(ordered)]


def is_ack(text: str) -> bool:
    n = normalize(text)
    return len(n) <= 1 or n in _ACKS


# Recognizers separate clauses with spaces ("卧室暖气漏水 请问您的具体地址"); a space between
# digits only groups a number ("137 1658 3204").
_CLAUSE_END = re.compile(r"(?<=[。！？!?；;，,、…\n])|(?<!\d)\s+|\s+(?!\d)")


def clauses(text: str) -> list[str]:
    """The clauses of an utterance, keeping their question marks."""
    parts = [p for p in _CLAUSE_END.split(text) if p and normalize(p)]
    return parts or [text]


# A choice asks too, heard without its question mark: "是全屋都凉还是个别屋子" (是…还是…; not
# "就是说暖气现在还是不热", whose 还是 means "still"), "算是解决了还是还没解决" (A or not A).
_CHOICE = re.compile(r"(?<![还就可但要不倒也])是[^还]{1,12}还是(?![不没])")
_A_NOT_A = re.compile(r"(.{1,3})了?还是还?(没有?|不)\1")


def is_question(clause: str) -> bool:
    return bool(_QUESTION_MARK.search(clause) or _REQUEST.search(clause)
                or _CHOICE.search(clause) or _A_NOT_A.search(clause)) or any(
        w in clause for w in _QUESTION_WORDS)


def question_score(phrases: Sequence[str], text: str,
                   exclude: Sequence[Sequence[str]] = ()) -> Match:
    """How well the text asks one of the phrases, looking only at clauses that ask something.

    A read-back such as "客厅阀门一直滴水" repeats severity words without asking about them.
    A clause that asks one of the `exclude` lists at least as well asks that instead
    ("您家住哪儿" asks for the address, not for where the fault is).
    """
    best = Match(0.0, "")
    for clause in clauses(text):
        m = best_phrase(phrases, clause, strict_short=True)
        # A clause that asks; or a curt request that is little more than the thing asked
        # for ("电话。" "说地址。"), matched by a request phrase: without its 吗, "漏水吗"
        # would find a question in the read-back "暖气漏水。"
        curt = (m.score >= 100 and len(normalize(clause)) <= 6
                and not re.search("[吗呢么]", m.phrase))
        if not (is_question(clause) or curt):
            continue
        if m.score <= best.score:
            continue
        if any(best_phrase(other, clause, strict_short=True).score >= m.score
               for other in exclude):
            continue
        best = m
    return best


def best_question(all_turns: Sequence[Turn], phrases: Sequence[str],
                  exclude: Sequence[Sequence[str]] = ()) -> Asked:
    """The agent turn that asks one of `phrases` best (see `question_score`)."""
    best = Asked(None, Match(0.0, ""))
    for t in all_turns:
        if t.role != "agent":
            continue
        m = question_score(phrases, t.text, exclude)
        if m.score > best.match.score:
            best = Asked(t, m)
    return best


def first_with(all_turns: Sequence[Turn], role: str, words: Sequence[str]) -> Turn | None:
    """The first turn of `role` containing one of `words` verbatim (after normalization)."""
    for t in all_turns:
        if t.role == role and contains_any(words, t.text):
            return t
    return None


def first_with_digits(all_turns: Sequence[Turn], role: str, min_digits: int) -> Turn | None:
    for t in all_turns:
        if t.role == role and len(digits_only(t.text)) >= min_digits:
            return t
    return None


def last_with_digits(all_turns: Sequence[Turn], role: str, min_digits: int) -> Turn | None:
    for t in reversed(all_turns):
        if t.role == role and len(digits_only(t.text)) >= min_digits:
            return t
    return None


def next_turns(all_turns: Sequence[Turn], after: Turn, role: str, limit: int = 3) -> list[Turn]:
    """The `role` turns that answer or follow `after`, up to the next substantive turn of the
    other side (acknowledgements such as 对/嗯 don't end the window)."""
    out: list[Turn] = []
    for t in all_turns[after.index + 1:]:
        if t.role == role:
            out.append(t)
            if len(out) >= limit:
                break
        elif not is_ack(t.text) and out:
            break
    return out


def reply_to(all_turns: Sequence[Turn], question: Turn) -> list[Turn]:
    """The other side's turns right after a question, until that side is answered back."""
    other = "customer" if question.role == "agent" else "agent"
    out: list[Turn] = []
    for t in all_turns[question.index + 1:]:
        if t.role == other:
            out.append(t)
        elif out or not is_ack(t.text):
            break
    return out


# A recognizer cuts a greeting at its pauses (您好，大龙供暖报修，| 三零一号为您服务，| 请问…):
# the opening is the agent's words before the resident says anything substantive, in so
# many pieces at most, within so many seconds of the first.
_OPENING_PIECES, _OPENING_SPAN_S = 4, 12.0


def opening_turns(all_turns: Sequence[Turn]) -> list[Turn]:
    """The agent's first words: the first agent turn, with the following agent turns if the
    recognizer split the sentence before the resident said anything substantive."""
    agent = [t for t in all_turns if t.role == "agent"]
    if not agent:
        return []
    first = agent[0]
    out = [first]
    for t in all_turns[first.index + 1:]:
        if t.utterance.start - first.utterance.start > _OPENING_SPAN_S:
            break
        if t.role == "agent":
            out.append(t)
            if len(out) >= _OPENING_PIECES:
                break
        elif not is_ack(t.text):
            break
    return out


def closing_turns(all_turns: Sequence[Turn]) -> list[Turn]:
    """The agent's last words: agent turns after the resident's last substantive turn (at
    most four: a recognizer cuts the follow-up closing at each of its pauses). Where the
    resident speaks again after the agent's last turn ("那个师傅大概几点能…"), the agent's
    last run of turns from the piece that begins the closing, else the last agent turn."""
    agent = [t for t in all_turns if t.role == "agent"]
    if not agent:
        return []
    substantive = [t.index for t in all_turns if t.role == "customer" and not is_ack(t.text)]
    tail = [t for t in agent if t.index > max(substantive, default=-1)][-_OPENING_PIECES:]
    if tail:
        return tail
    since = max((i for i in substantive if i < agent[-1].index), default=-1)
    run = [t for t in agent if t.index > since][-_OPENING_PIECES:]
    begins = next((n for n, t in enumerate(run) if _CLOSING_BEGINS.search(normalize(t.text))),
                  len(run) - 1)
    return run[begins:]


# How a closing begins: the repairman will be in touch, thanks, or goodbye.
_CLOSING_BEGINS = re.compile(r"维修人员|维修员|师傅.{0,4}联系|尽快.{0,4}联系|感谢|再见|随时")


_SURNAME = re.compile(r"(?:姓|免贵姓)(.)")
# Replies that are no name: the resident did not hear the question, or only agrees.
_NOT_NAMES = frozenset("啥 什么 喂 哦 嗯 对 是 好 好的 您说 你说 没听清 再说一遍 说啥 干啥 我 是我 "
                       "啊 啊什么 哈 呃 诶 哎 唉 嗯哼 啥呀 什么呀 "
                       # a confirmation of the agent's read-back ("对，没错。")
                       "没错 没错没错 对的 是的 行 可以 没问题".split())
# A confirmation of the whole record at the end ("我跟您核对一下：…，对吧？") reads back too.
CONFIRMING = re.compile(r"核对|确认一下|对吧|对吗|是吧|是不是|没错吧")


_PARTS_WORDS = re.compile(r"字头|字旁|偏旁|旁|底下|上面|下面|里面|左边|右边|一个|加")


def spelled(text: str, surnames: dict[str, str] | None = None) -> list[str]:
    """Characters a resident spells out: "桂花的桂，芝麻的芝" -> ["桂", "芝"]; "弓长张" -> ["张"]
    with the surname spellings given (phrasebook: 弓长 -> 张)."""
    out = []
    for clause in _CLAUSE_SPLIT.split(text):
        n = normalize(clause)
        m = re.fullmatch(r"(.+)的(.)(是吧|对吧)?", n)
        if m and m.group(2) in m.group(1):
            out.append(m.group(2))
        # "仝是人字头底下一个工": a character described by its parts.
        m = re.fullmatch(r"(.)(?:是|就是)(.{2,12})", n)
        if m and _PARTS_WORDS.search(m.group(2)):
            out.append(m.group(1))
        for parts, char in (surnames or {}).items():
            if parts + char in n:
                out.append(char)
    return out


def _without_spelling(part: str, spelled_parts: set[str]) -> str:
    while True:
        m = re.search(r"(..?)的(.)$", part)
        if m and m.group(2) in m.group(1) and m.start() > 0:
            part = part[: m.start()]
            continue
        tail = next((sp for sp in spelled_parts if part.endswith(sp) and len(part) > len(sp)),
                    None)
        if tail is None:
            return part
        part = part[: -len(tail)]


def name_in(text: str, spellings: Mapping[str, str] | None = None) -> str:
    """The name a resident gives: "我姓何，何建平。" -> "何建平"; "田野的田，田春生" -> "田春生".

    `spellings`: surnames spelled by their parts (弓长 -> 张, the phrasebook's
    spelled_surnames), which explain a character and are not the name."""
    # Recognizers run clauses together ("我姓孙孙丽电话幺五九…"): cut at the phone.
    text = _before_other_facts(text)
    parts = [normalize(c) for c in _CLAUSE_SPLIT.split(text) if normalize(c)]
    parts = [p[m.start():] if (m := _INTRODUCED_INSIDE.search(p)) else p for p in parts]
    # Normalized as the parts are: "三横王" is "3横王" after normalization.
    spelled_parts = {normalize(k + v) for k, v in (spellings or {}).items()}
    # Spelling ("田野的田", "弓长张") explains a character; it is not the name. A recognizer
    # runs it into the name ("刘洋文刀刘海洋的洋"): take the spelling off the end.
    parts = [_without_spelling(p, spelled_parts) for p in parts]
    parts = [p for p in parts if p and "的" not in p and p not in spelled_parts]
    parts = [p for p in parts if p not in _NOT_NAMES]
    # "等会儿，你不记我名字啊？我叫孙桂芝": a clause that says it is the name wins.
    # ("我姓刘，刘建国" is not that: the surname comes first, then the name.)
    introduced = [p for p in parts if re.match(rf"{_HESITATION}(我|俺|咱|安)?叫", p)]
    candidates = [_NAME_TAILS.sub("", _NAME_LEADS.sub("", p)) for p in introduced or parts]
    candidates = [c for c in candidates if c and not any(ch.isdigit() for ch in c)
                  and len(c) <= 4 and c not in _NOT_NAMES]
    surname = _SURNAME.search(normalize(text))
    if surname:
        first = surname.group(1)
        # "我姓韩韩冰" run together: the surname said, then the full name.
        candidates = [c[1:] if c.startswith(first * 2) else c for c in candidates]
        with_surname = [c for c in candidates if c.startswith(first)]
        candidates = with_surname or candidates
    return max(candidates, key=len) if candidates else ""


def _before_other_facts(text: str) -> str:
    """A resident's words up to the next fact (a phone, 电话, 地址…): recognizers run clauses
    together ("我姓孙孙丽电话幺五九…")."""
    return re.sub(r"(电话|手机|号码|联系方式|地址).*", "", without_phone(text))


_RUN_ON_NAME = re.compile(r"(?:我|俺|咱)叫(\D{5,})")


def name_read_back(text: str, echo: str | None, spellings: Mapping[str, str] | None = None) -> str:
    """`name_in`, and for a name a recognizer ran into what the resident said next, with no
    pause to tell where it ends ("我叫刘建华老太太耳朵背您有事打我电话就行"): the part the
    agent's read-back begins with ("刘建华请留一下联系电话"), two to four characters."""
    name = name_in(text, spellings)
    if name or not echo:
        return name
    m = _RUN_ON_NAME.search(normalize(_before_other_facts(text)))
    if not m:
        return ""
    said_back = re.sub(r"^(好的|好|嗯|哦|对)+", "", normalize(echo))
    run = m.group(1)
    return next((run[:n] for n in (4, 3, 2) if said_back.startswith(run[:n])), "")


_EXPLAINED = re.compile(r"\d+(是|那是|就是)(对门|楼上|楼下|隔壁|邻居|我)")
_CORRECTION = re.compile(r"不对|错了|说错|应该是|不是.{0,6}是")
_PHONE_RUN = re.compile(r"\d{7,}")


def correction_of(text: str) -> bool:
    """Whether a resident's turn corrects what they said before ("不对，是五零二")."""
    return bool(_CORRECTION.search(text))


def corrected(text: str) -> str:
    """An address with a correction inside the same turn applied ("十二号楼……不对，是十三号楼，
    一单元一零二" -> 13-1-102)."""
    m = _CORRECTION.search(text)
    if not m or not digits_only(text[m.end():]):
        return text
    # "五零二，五零三是对门": a number explained after the correction is not the address.
    after = "，".join(c for c in _CLAUSE_SPLIT.split(text[m.start():])
                     if not _EXPLAINED.search(normalize(c)))
    return apply_correction(text[: m.start()], after, cut_off=True)


def phone_in(text: str) -> str:
    """The phone number in a turn (the longest run of seven or more digits), or "".

    A number corrected in the turn is the corrected one (`_corrected_phone`). A resident who
    starts again ("一三六，一三六零三一二七七八九") runs into a run longer than
    a mobile number: its last eleven digits are the number."""
    return _corrected_phone(text) or _longest_phone(text)


def _longest_phone(text: str) -> str:
    runs = _PHONE_RUN.findall(normalize(text))
    if not runs:
        return ""
    run = max(runs, key=len)
    if len(run) > 11 and re.fullmatch(r"1[3-9]\d{9}", run[-11:]) and not run.startswith("0"):
        return run[-11:]
    return run


# A run of spoken digits with 要 for 幺 in it, at its ends too ("二单元要两洞要").
_SPOKEN_RUN = re.compile(r"[零〇一二三四五六七八九幺两洞要]{3,}")


def yao_as_one(text: str) -> str:
    """要 written by a recognizer for the spoken 幺 (one) in a run of spoken digits, next to
    两 or 洞 or at the run's ends, where `normalize` does not see it: "五号楼二单元要两洞要"
    -> "…幺两洞幺" (1201). A run needs two digits besides 要 ("要两个" is no number)."""
    def fix(m: re.Match[str]) -> str:
        run = m.group(0)
        return run.replace("要", "幺") if len(run) - run.count("要") >= 2 else run
    return _SPOKEN_RUN.sub(fix, text) if "要" in text else text


_DIGIT_GROUP = re.compile(r"\d+")
_NEGATED_DIGITS = re.compile(r"不是\d+")
_YAO_DIGIT = re.compile(r"要(?=要*[零〇一二三四五六七八九幺洞\d])")
_GROUP_GAP = re.compile(r"\s+")
_NUMBER_BEFORE = re.compile(r"(\d[\d\s，,、\-]*)[\s，,、…。.\-哦呃啊嗯诶哎]*$")


def _corrected_phone(text: str) -> str:
    """A number corrected inside the turn: "六八三四，二七五……不对不对，是二七九一" -> 68342791;
    "一三七，幺六五八，三二零四……哦不是，最后是三二四零" -> 13716583240. The digits after the
    correction say again the part that was wrong: they replace the digits from where they
    start again (the group they begin, or the last digit like their first), not the whole
    number; "" when the turn holds no such correction of a number."""
    # A recognizer writes 幺 as 要 and the pauses between spoken groups as spaces ("要三三
    # 洞五八七 二六要四 哎不对 不是要四 是要六"): the groups are the groups said.
    text = _GROUP_GAP.sub("，", _YAO_DIGIT.sub("幺", text))
    m = _CORRECTION.search(text)
    if not m:
        return ""
    again = _longest_phone(text[m.end():])
    if again:
        return again  # the whole number said again
    # "不对，不是幺四，是幺六": the digits named as wrong (不是…) say what is replaced, not
    # what replaces it.
    after = _DIGIT_GROUP.findall(_NEGATED_DIGITS.sub("", numbers_to_digits(text[m.end():])))
    # The number said right before the correction, as its spoken groups ("六八三四，二七五……哦").
    said = _NUMBER_BEFORE.search(numbers_to_digits(text[: m.start()]))
    if not after or not said:
        return ""
    groups = _DIGIT_GROUP.findall(said.group(1))
    head = "".join(groups)
    fix = after[0]
    last_group = len(head) - len(groups[-1])
    window = range(len(head) - 1, max(0, len(head) - len(fix) - 1) - 1, -1)
    if head[last_group] == fix[0] or len(groups) > 1 and not any(head[i] == fix[0] for i in window):
        start = last_group
    else:
        start = next((i for i in window if head[i] == fix[0]), max(0, len(head) - len(fix)))
    number = head[:start] + fix
    return number if len(number) >= 7 else ""


def without_phone(text: str) -> str:
    """The turn with any phone number taken out, so its digits don't join the address."""
    return re.sub(r"[\d零〇一二三四五六七八九幺两洞][\d零〇一二三四五六七八九幺两洞，,\s\-]{5,}"
                  r"[\d零〇一二三四五六七八九幺两洞]",
                  lambda m: "" if len(digits_only(m.group(0))) >= 7 else m.group(0), text)


def apply_correction(address: str, correction: str, cut_off: bool = False) -> str:
    """"幸福家园六号楼二单元五零三" corrected by "不对，是五零二" -> "幸福家园6-2-502": the
    corrected numbers replace as many numbers at the end. `cut_off`: the correction interrupts
    an address being said ("九号楼，三单元……不对，四单元，一零一"): it replaces the last number
    said and goes on from there."""
    from qa_audit.dispatch import community_of, house_numbers

    numbers, fixed = house_numbers(address), _correcting_numbers(correction)
    if not fixed:
        return address
    if cut_off and len(fixed) > len(numbers[-1:]):
        merged = numbers[:-1] + fixed
    else:
        merged = numbers[: max(0, len(numbers) - len(fixed))] + fixed
    prefix = community_of(address)
    return prefix + "-".join(merged)


def _correcting_numbers(correction: str) -> list[str]:
    """The numbers a correction puts in place: "不对不对，五零三，五零二是我对门……五零三" -> 503.
    A number explained as another flat ("五零二是我对门") is not the address, and a room said
    again for emphasis is one room."""
    from qa_audit.dispatch import house_numbers

    kept = "，".join(c for c in _CLAUSE_SPLIT.split(correction)
                    if not _EXPLAINED.search(normalize(c)))
    out: list[str] = []
    for n in house_numbers(kept):
        if len(n) >= 3 and n in out:
            continue
        out.append(n)
    return out
