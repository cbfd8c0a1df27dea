"""Listening again: how well a stretch of a recording fits a given text.

A shift lead who doubts what the recognizer wrote plays the stretch again with the ticket
(or the script) in mind: "the ticket says 13905172846 — is that what she said?". This module
does the same with the speech model: Whisper scores a text against the audio by forced
decoding (teacher forcing over the text's tokens; ctranslate2's `align`), and the
log-likelihood of the expected text is compared with that of the text the recognizer
heard. The expected text is not given to the recognizer beforehand (that would make it
hear the ticket whatever was said); it is only weighed afterwards, against what was heard.

Texts are compared in one written form: digits as Chinese numerals (one token each, as
they are spoken), no punctuation, simplified characters.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cn2an
import numpy as np
from rapidfuzz.distance import Levenshtein

from qa_audit.audio import SAMPLE_RATE, Recording
from qa_audit.asr_lexicon import sounds
from qa_audit.form.findings import nonstandard_opening
from qa_audit.form.registry import all_checks
from qa_audit.normalize import digits_only, is_subsequence, spoken, to_simplified
from qa_audit.privacy import COMPOUND_SURNAMES

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from qa_audit.phrasebook import Phrasebook
    from qa_audit.records import (CallAudit, Evidence, ItemResult, Role, Ticket, Transcript,
                                  Utterance)

# Bump when listening decides differently, so stored audits are redone.
VERSION = 3
# Heard a little before and after the utterance's times: word times are good to about
# a fifth of a second, and a clipped syllable would count against every text alike.
_PAD_S = 0.25
_PUNCTUATION = re.compile(r"[\s，,。.？?！!：:；;、…\-—~～\"'“”‘’（）()]+")
_DIGIT_LIKE = {"幺": "一", "洞": "零", "〇": "零", "两": "二"}
# A building's or unit's number is said as a number (二十三号楼, 十五栋), a room's and a
# phone's digit by digit (一一零一).
_COUNTED = re.compile(r"(?<![0-9])([0-9]{1,2})(?=号楼|号院|栋|单元|门|座|排)")
_NUMERALS = "零一二三四五六七八九"


def written_as_spoken(text: str) -> str:
    """The one written form texts are weighed in: simplified, no punctuation, a building's
    or unit's number as it is said (23号楼 -> 二十三号楼), every other digit as its Chinese
    numeral (1 -> 一, 幺 -> 一, 洞 -> 零)."""
    text = _PUNCTUATION.sub("", to_simplified(text))
    text = "".join(_DIGIT_LIKE.get(ch, ch) for ch in text)
    text = _COUNTED.sub(lambda m: cn2an.an2cn(str(int(m.group(1)))), text)
    return spoken(text)


@dataclass
class Listener:
    """Weighs texts against stretches of one recording, with a loaded Whisper model."""

    model: WhisperModel
    recording: Recording
    agent_channel: str = "left"
    _tokenizer: Any = field(default=None, repr=False)
    _encoded: dict[tuple[str, float, float], tuple[Any, int]] = field(default_factory=dict,
                                                                        repr=False)
    _weights: dict[tuple, Weight] = field(default_factory=dict, repr=False)

    def stream(self, role: Role) -> np.ndarray:
        """The audio a party is heard on: their channel of a stereo call, else the mix."""
        streams = self.recording.streams
        if len(streams) == 2:
            agent_first = self.agent_channel == "left"
            return streams[0 if (role == "agent") == agent_first else 1]
        return streams[0]

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from faster_whisper.tokenizer import Tokenizer

            self._tokenizer = Tokenizer(self.model.hf_tokenizer, True, task="transcribe",
                                        language="zh")
        return self._tokenizer

    def _encode(self, role: Role, start: float, end: float) -> tuple[Any, int]:
        key = (role, round(start, 2), round(end, 2))
        if key not in self._encoded:
            from faster_whisper.audio import pad_or_trim

            audio = self.stream(role)
            first = int(max(start - _PAD_S, 0.0) * SAMPLE_RATE)
            last = int(min(end + _PAD_S, len(audio) / SAMPLE_RATE) * SAMPLE_RATE)
            # One Whisper window at most: longer stretches are heard from their start.
            clip = audio[first:max(last, first + SAMPLE_RATE // 10)][: 30 * SAMPLE_RATE]
            features = self.model.feature_extractor(clip)
            frames = min(features.shape[-1], self.model.feature_extractor.nb_max_frames)
            self._encoded[key] = (self.model.encode(pad_or_trim(features)), frames)
        return self._encoded[key]

    def weigh(self, role: Role, start: float, end: float,
              reading: tuple[str, str, str]) -> Weight:
        """How `prefix + part + suffix` fits what `role` said in [start, end]."""
        key = (role, round(start, 2), round(end, 2), reading)
        if key not in self._weights:
            self._weights[key] = self._weigh(role, start, end, reading)
        return self._weights[key]

    def _weigh(self, role: Role, start: float, end: float,
               reading: tuple[str, str, str]) -> Weight:
        encoded, frames = self._encode(role, start, end)
        prefix, part, suffix = (self.tokenizer.encode(written_as_spoken(x)) if x else []
                                for x in reading)
        tokens = [*prefix, *part, *suffix]
        if not tokens or not part:
            return Weight(-math.inf, -math.inf)
        result = self.model.model.align(encoded, self.tokenizer.sot_sequence, [tokens],
                                        frames)[0]
        logs = np.log(np.maximum(np.asarray(result.text_token_probs, dtype=float), 1e-9))
        inside = logs[len(prefix):len(prefix) + len(part)]
        return Weight(float(logs.sum()), float(inside.min()))


def expected_readings(heard: str, expected: str, *, spread: float = 0.15,
                      limit: int = 4) -> list[tuple[str, str, str]]:
    """The heard text with a stretch that sounds like `expected` replaced by it, in the
    written form texts are weighed in: one text per likely stretch, likeliest first; empty
    when nothing in the heard text sounds like it.

    Stretches are found by sound (toneless, blurred syllables: 六灵爱 may be 六零二, 公断
    供暖) and are the expected text's length give or take a syllable the recognizer dropped
    or added. Where a few stretches fit about as well, all are offered: the audio decides."""
    said, want = written_as_spoken(heard), written_as_spoken(expected)
    if not said or not want:
        return []
    a, b = sounds(said), sounds(want)
    if len(a) != len(said) or len(b) != len(want):
        return []  # not one syllable per character (letters left): not weighed
    wanted = " ".join(b)
    found: dict[str, float] = {}
    for size in {len(b) - 1, len(b), len(b) + 1} - {0}:
        for first in range(0, max(len(a) - size, 0) + 1):
            window = a[first:first + size]
            distance = Levenshtein.normalized_distance(" ".join(window), wanted)
            text = (said[:first], want, said[first + len(window):])
            found[text] = min(distance, found.get(text, 1.0))
    if not found:
        return []
    best = min(found.values())
    if best > 0.5:
        return []
    ranked = sorted((d, t) for t, d in found.items() if d <= best + spread)
    return [t for _, t in ranked[:limit]]


@dataclass(frozen=True)
class Weight:
    """How a text fits a stretch of audio: log-likelihood in nats of the whole text, and of
    the least likely token of the part in question."""

    total: float
    weakest: float



# The least likely token of an expected text, in nats, at or above which the recording is
# taken to say it. Facts (a phone, a name, house numbers) are short and each token counts;
# a script phrase is long and carries the odd unclear syllable. scripts/calibrate_listen.py
# measured them on the sample and devset recordings: no wrong phone, name or agent id, and
# no greeting with a part left out, reached them.
ACCEPT_FACT = -4.5
ACCEPT_SCRIPT = -6.0
# Nats by which the greeting as heard (no id in it) must fit better than the standard one
# with the agent's id for the id to count as not said. Measured: the standard fits better
# than it with the id left out by 1.6–12.5 nats where the id was said (14 greetings); by
# 22 nats fewer in devset 202, where it was not.
ID_UNSAID_MARGIN = 10.0
# Nats by which a digit the recognizer dropped must fit better than any other digit there.
DIGIT_MARGIN = 2.0
# Nats by which a ticket's name must fit better than every name that sounds like it (and
# than the recognizer's writing), as a dropped digit must. scripts/calibrate_listen.py on the
# samples and devset: of 39 wrong tickets made by a near sound (王/黄, 帆/芳: a character
# replaced by a common one that sounds alike) none reached ACCEPT_FACT even unguarded; the 5
# of 13 true names that did beat their closest rival by -1.3, 0.6, 1.3, 3.7 and 4.5 nats, so
# a name that sounds like another (张/章 sound the same) is mostly left to a person.
NAME_MARGIN = 2.0
_LISTENED = "复听录音"
# A stretch longer than one decoder window (30 s, less the padding) is not weighed.
_LONGEST_S = 28.0
_PLACEHOLDER = re.compile(r"[xX]{3,}")


@dataclass(frozen=True)
class Hearing:
    """How surely an expected text is in a stretch: the weakest token of its best reading,
    and by how many nats that reading beats its closest rival (inf where none was weighed)."""

    weakest: float
    margin: float


def hearing(listener: Listener, utterances: Sequence[Utterance], expected: str, *,
            name: bool = False) -> Hearing | None:
    """How surely `expected` is somewhere in what was said in `utterances` (one party's,
    heard as one stretch), or None when no reading of it could be weighed.

    A reading whose replaced stretch the recognizer wrote with digits `expected` could not
    have (see _could_be) is not weighed. Each reading is weighed against its rivals, and the
    best reading is the surest one that beats all of them by their margin:
    - where the recognizer dropped a digit, the audio there is unclear, and any digit may fit
      about as well as the right one: the expected digit must fit better than every other
      digit in its place by DIGIT_MARGIN;
    - a name (`name=True`) must fit better than the same name with any one character
      replaced by one that sounds alike (王/黄, 陈/程, 刘/牛, 杨帆/杨芳), and than what the
      recognizer wrote there, by NAME_MARGIN: a ticket whose name differs from what the
      resident said by a near sound is otherwise heard as said (the resident's name is one
      of those rivals)."""
    if not utterances or not expected:
        return None
    role = utterances[0].role
    text = "".join(u.text for u in utterances)
    start, end = min(u.start for u in utterances), max(u.end for u in utterances)
    if end - start > _LONGEST_S:
        return None
    said = written_as_spoken(text)
    if written_as_spoken(expected) in said:
        # Heard as expected already: nothing to doubt in this stretch, unless a name that
        # sounds alike could have been written so (a recognizer picks the likelier one).
        if not name:
            return Hearing(0.0, math.inf)
    best: Hearing | None = None
    readings = expected_readings(text, expected)
    if name and written_as_spoken(expected) in said:
        first = said.index(written_as_spoken(expected))
        want = written_as_spoken(expected)
        readings = [(said[:first], want, said[first + len(want):])]
    for prefix, part, suffix in readings:
        stretch = said[len(prefix):len(said) - len(suffix)]
        if not _could_be(stretch, expected):
            continue
        weight = listener.weigh(role, start, end, (prefix, part, suffix))
        if best is not None and weight.weakest <= best.weakest:
            continue
        digit_rivals = _rivals(stretch, part)
        if digit_rivals is None:
            continue
        margin = math.inf
        for rivals, bar in ((digit_rivals, DIGIT_MARGIN),
                            (name_rivals(part, stretch) if name else [], NAME_MARGIN)):
            for rival in rivals:
                gap = weight.total - listener.weigh(role, start, end, (prefix, rival, suffix)).total
                margin = min(margin, gap)
                if gap <= bar:
                    break
            if margin <= bar:
                break
        else:
            best = Hearing(weight.weakest, margin)
    return best


def heard(listener: Listener, utterances: Sequence[Utterance], expected: str, *,
          name: bool = False) -> float | None:
    """The weakest token of the best reading of `expected` in `utterances` that beats its
    rivals (see `hearing`), or None."""
    found = hearing(listener, utterances, expected, name=name)
    return found.weakest if found is not None else None


# Characters a name's may be confused with, heard over a telephone line: common surnames
# (the first character of a name) and characters common in given names. Not every
# character: a rival is weighed for each that sounds like one of the name's.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
            "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎"
            "贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹"
            "申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管"
            "柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏"
            "席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑"
            "迟邝")
GIVEN_CHARS = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文红玉梅志宇飞鹏辉玲婷雪"
               "琳晶亮成斌波宁浩凯峰俊海林东鑫博帅欣佳丹萍颖慧红云莉彬健伦宏岩凤琴兵新春燕荣"
               "晨阳帆方凡繁福富贵坤昆蕾雷立力莉利龙隆美媚民敏楠南鹏朋琪奇启倩茜清青庆蓉容瑞锐"
               "涛桃婷庭薇维伟炜文雯霞夏翔祥欣新星兴旭绪雅亚岩炎艳燕洋扬阳瑶遥怡毅奕勇永玉宇雨"
               "悦月云芸泽哲振真珍震正智志忠中珠竹卓子紫宗")
# Initials a telephone line blurs into each other, and finals it blurs (a nasal ending).
_NEAR_INITIALS = ({"", "h", "f"}, {"b", "p"}, {"d", "t"}, {"g", "k"}, {"j", "q", "x"},
                  {"z", "c", "s", "zh", "ch", "sh"}, {"l", "n", "r"})
_FOLD_FINALS = (("ueng", "ong"), ("iang", "ian"), ("uang", "uan"), ("ang", "an"),
                ("eng", "en"), ("ing", "in"), ("iou", "iu"), ("uei", "ui"), ("uen", "un"))


@lru_cache(maxsize=8192)
def _syllable(char: str) -> tuple[str, str]:
    from pypinyin import Style, pinyin

    initial = pinyin(char, style=Style.INITIALS, strict=True)[0][0]
    final = pinyin(char, style=Style.FINALS, strict=True)[0][0]
    for long, short in _FOLD_FINALS:
        if final.endswith(long):
            final = final[: -len(long)] + short
            break
    return initial, final.removeprefix("u") if initial in ("", "h", "f") else final


def sounds_alike(a: str, b: str) -> bool:
    """Whether two characters may be heard as each other on the line: the same final (a
    nasal ending blurred) and initials a telephone line confuses (王 wang/黄 huang, 刘/牛,
    陈 chen/程 cheng, 张/章)."""
    if a == b:
        return False
    (ia, fa), (ib, fb) = _syllable(a), _syllable(b)
    return fa == fb and (ia == ib or any(ia in g and ib in g for g in _NEAR_INITIALS))


def name_rivals(name: str, heard_as: str = "") -> list[str]:
    """Names a ticket's `name` (in the weighed form) may have been written for: one
    character replaced by one that sounds alike (surnames first, then given-name characters;
    a compound surname is kept whole), and the recognizer's own writing of the stretch."""
    out: list[str] = []
    first = 2 if name[:2] in COMPOUND_SURNAMES else 1
    for i, char in enumerate(name):
        if i < first and first == 2:
            continue
        vocabulary = SURNAMES if i < first else GIVEN_CHARS
        out += [name[:i] + other + name[i + 1:] for other in dict.fromkeys(vocabulary)
                if sounds_alike(char, other)]
    if heard_as and heard_as != name and not any(ch in _NUMERALS for ch in heard_as):
        out.append(heard_as)
    return list(dict.fromkeys(out))


def _id_surely_unsaid(listener: Listener, agent: Sequence[Utterance], standard: str,
                     agent_id: str | None) -> bool:
    """Whether the greeting, heard without an agent id, was surely said without one: the
    recognizer's writing (no digit in it) fits the stretch better than the standard greeting
    with the agent's id by ID_UNSAID_MARGIN. Where the id was said and the recognizer missed
    it, the standard fits better (scripts/calibrate_listen.py: the greeting with its id left
    out never fits better than with it)."""
    if not agent or not agent_id or spoken(agent_id) not in written_as_spoken(standard):
        return False
    text = "".join(u.text for u in agent)
    if digits_only(text):
        return False
    start, end = min(u.start for u in agent), max(u.end for u in agent)
    if end - start > _LONGEST_S:
        return False
    as_heard = listener.weigh("agent", start, end, ("", text, ""))
    with_id = listener.weigh("agent", start, end, ("", standard, ""))
    return as_heard.total - with_id.total >= ID_UNSAID_MARGIN


def _fits_standard(listener: Listener, agent: Sequence[Utterance], standard: str) -> bool:
    """Whether the agent's stretch surely says a script line's standard text. A placeholder
    (请您随时拨打XXXXXXX: the hotline's number, or 我们的报修电话) is not weighed; the words
    either side of it are."""
    pieces = [p for p in _PLACEHOLDER.split(standard) if len(written_as_spoken(p)) >= 4]
    weights = [heard(listener, agent, piece) for piece in pieces]
    return bool(weights) and None not in weights and min(weights) >= ACCEPT_SCRIPT  # type: ignore[type-var]


def _rivals(stretch: str, part: str) -> list[str] | None:
    """`part` (spoken digits) with each digit the recognizer may have dropped from `stretch`
    replaced by each other digit; None when too many were dropped to weigh."""
    # Both are in the weighed form: digits are numerals, and a 十 (二十三) is no digit.
    got = "".join(ch for ch in stretch if ch in _NUMERALS)
    places = [i for i, ch in enumerate(part) if ch in _NUMERALS]
    digits = "".join(part[i] for i in places)
    if len(got) >= len(digits):
        return []
    dropped = [i for n, i in enumerate(places)
               if is_subsequence(got, digits[:n] + digits[n + 1:])]
    if len(dropped) > 3:
        return None
    return [part[:i] + other + part[i + 1:] for i in dropped for other in _NUMERALS
            if other != part[i]]


def _cited(transcript: Transcript, evidence: Sequence[Evidence], role: str) -> list[Utterance]:
    """The utterances of `role` that an item's evidence quotes."""
    return [u for u in transcript.utterances if u.role == role
            and any(abs(u.start - e.start) < 0.05 and e.role == role for e in evidence)]


def _facts_said(transcript: Transcript, evidence: Sequence[Evidence]) -> list[list[Utterance]]:
    """The resident's utterances to listen to for a fact: those the item rests on, then the
    rest of what the resident said, one at a time."""
    cited = _cited(transcript, evidence, "customer")
    return [[u] for u in cited] + [[u] for u in transcript.utterances
                                   if u.role == "customer" and u not in cited]


def _could_be(stretch: str, fact: str) -> bool:
    """Whether the recognizer's writing of a stretch could be the fact with some of it
    missed: the digits heard are the fact's digits with some dropped (a recognizer drops
    digits it cannot make out; one it heard as another is a difference the audio must not
    overrule), and at least half of them were heard."""
    want = digits_only(fact)
    if not want:
        return True
    got = digits_only(stretch)
    return 2 * len(got) >= len(want) and is_subsequence(got, want)


def _expected_facts(check: str, ticket: Ticket) -> list[str]:
    """What the ticket says the resident said, as separate stretches to hear."""
    from qa_audit.dispatch import community_of, phone_numbers

    if check == "ticket.phone":
        return [spoken(p) for p in phone_numbers(ticket.caller_phone or "")][:1]
    if check == "ticket.name":
        return [ticket.caller_name.strip()] if ticket.caller_name else []
    if check == "ticket.address" and ticket.address:
        place = community_of(ticket.address)
        numbers = ticket.address[len(place):] if ticket.address.startswith(place) else ""
        return [p for p in (place, numbers) if p]
    return []


# The facts heard again against the ticket, in this order (the problem is weighed apart):
# ticket check -> fact, and the read-back check of each fact -> its ticket check.
_HEARD_FACTS = ("phone", "name", "address")
_FACT_OF = {c.name: c.fact for fact in _HEARD_FACTS for c in all_checks()
            if c.family == "ticket" and c.fact == fact}
_READBACK_OF = {c.name: check for check, fact in _FACT_OF.items() for c in all_checks()
                if c.family == "readback" and c.fact == fact}


def _best_hearing(listener: Listener, candidates: Sequence[Sequence[Utterance]],
                  fact: str, *, name: bool = False) -> tuple[float, Sequence[Utterance]] | None:
    """The candidate stretch in which `fact` is heard most surely, and how surely."""
    found = [(w, said) for said in candidates
             if (w := heard(listener, said, fact, name=name)) is not None]
    return max(found, key=lambda f: f[0]) if found else None


def _problem_words(phrasebook: Phrasebook, ticket: Ticket) -> list[str]:
    """Words a resident says for the ticket's kind of problem, when the ticket's own
    description does not name another kind (a leak filed as 不热 is not let through)."""
    kinds = phrasebook.repair.facts.problem_kinds
    words = kinds.get((ticket.category or "").strip(), [])
    described = {k for k, ws in kinds.items() if any(w in (ticket.description or "") for w in ws)}
    if described and (ticket.category or "").strip() not in described:
        return []
    return [w for w in words if len(w) >= 2]


def _likely_phrases(heard_text: str, question: Any, limit: int = 3) -> list[str]:
    """The question's wordings (of four characters or more) closest to what was heard."""
    from rapidfuzz import fuzz, process

    phrases = [p for p in [question.label, *question.phrases] if len(p) >= 4]
    found = process.extract(written_as_spoken(heard_text), phrases, scorer=fuzz.partial_ratio,
                            limit=limit)
    return [p for p, _, _ in found]


def recheck(audit: CallAudit, transcript: Transcript, listener: Listener, *,
            phrasebook: Phrasebook, ticket: Ticket | None,
            standards: dict[str, str]) -> list[str]:
    """Listen again where the recognizer left doubt, and turn into `pass` what the recording
    surely says. Weighed: a ticket's phone, name, address and kind of problem in `review`
    against what the resident said; a question the agent may have asked (`review`) against
    its wordings; the agent's read-back of a phone, name or address in
    `review` or `fail` once the ticket's value is known to be what the resident said; the
    greeting and closing in `review` against their standard text (`standards`: item check
    -> the standard text for this call). One thing only becomes `fail` this way: a greeting
    heard without the agent's id, where the recording fits it as heard far better than with
    the id (`_id_surely_unsaid`), fails with its fine (nonstandard_phrase); every other fail
    and fine needs what the scorer's own rules ask. Returns the ids of the items changed."""
    form = phrasebook.forms.get(audit.form)
    checks = {i.id: i.check for i in form.items} if form else {}
    by_check = {checks.get(i.id, ""): i for i in audit.items}
    customer = [[u] for u in transcript.utterances if u.role == "customer"]
    heard_at: dict[str, Sequence[Utterance]] = {}  # fact -> where the resident said it
    passed: set[str] = set()  # facts whose ticket value the scorer found in the call
    changed = []

    def settle(item: ItemResult, note: str) -> None:
        item.status, item.points = "pass", item.max_points
        item.reason = f"{note}（原判：{item.reason}）"
        changed.append(item.id)

    # The ticket first: a read-back is weighed against a ticket value the resident said.
    for check, fact in _FACT_OF.items():
        item = by_check.get(check)
        if item is None or ticket is None:
            continue
        values = _expected_facts(check, ticket)
        if item.status == "pass":
            passed.add(fact)
            continue
        if item.status != "review" or not values:
            continue
        if check == "ticket.address" and "小区" not in item.reason and len(values) > 1:
            # Only the house numbers are in doubt: the scorer found the community said.
            values = values[1:]
        cited = _facts_said(transcript, item.evidence)
        hearings = [_best_hearing(listener, cited, value, name=fact == "name")
                    for value in values]
        if all(h is not None and h[0] >= ACCEPT_FACT for h in hearings):
            heard_at[fact] = hearings[-1][1]  # type: ignore[index]
            settle(item, f"{_LISTENED}：住户说的是工单上的「{'，'.join(values)}」，识别有误")
    for check, ticket_check in _READBACK_OF.items():
        item = by_check.get(check)
        fact = _FACT_OF[ticket_check]
        if item is None or item.status not in ("review", "fail") or ticket is None:
            continue
        values = _expected_facts(ticket_check, ticket)
        if fact in passed and fact not in heard_at and values:
            place = _best_hearing(listener, customer, values[-1])
            if place is not None and place[0] >= ACCEPT_FACT:
                heard_at[fact] = place[1]
        if fact not in heard_at:
            continue
        said = heard_at[fact][0]
        after = [u for u in transcript.utterances if u.role == "agent" and u.start >= said.end]
        candidates = [[u] for u in after[:3]]
        hearings = [_best_hearing(listener, candidates, value) for value in values]
        if all(h is not None and h[0] >= ACCEPT_FACT for h in hearings):
            settle(item, f"{_LISTENED}：坐席跟读了「{'，'.join(values)}」")
    item = by_check.get("ticket.problem")
    # Heard: the ticket's kind of problem. Not settled so: a second fault the ticket lacks.
    if item is not None and item.status == "review" and ticket is not None \
            and "住户还反映了" not in item.reason:
        words = _problem_words(phrasebook, ticket)
        cited = [[u] for u in _cited(transcript, item.evidence, "customer")] or customer[:3]
        hearings = [(h[0], word) for word in words
                    if (h := _best_hearing(listener, cited, word)) is not None]
        best = max(hearings, default=None)
        if best is not None and best[0] >= ACCEPT_FACT:
            settle(item, f"{_LISTENED}：住户说了「{best[1]}」，与工单类别「{ticket.category}」一致")
    script = phrasebook.scripts.get(audit.call_type)
    questions = getattr(script, "questions", {}) or {}
    for item in audit.items:
        check = checks.get(item.id, "")
        question = questions.get(check.removeprefix("asked.")) if check.startswith("asked.") \
            else None
        if question is None or item.status != "review":
            continue
        asking = _cited(transcript, item.evidence, "agent")
        phrase = next((p for u in asking for p in _likely_phrases(u.text, question)
                       if (w := heard(listener, [u], p)) is not None and w >= ACCEPT_FACT),
                      None)
        if phrase is not None:
            settle(item, f"{_LISTENED}：坐席问了「{phrase}」")
    for check, standard in standards.items():
        item = by_check.get(check)
        # A script line failed on what the recognizer wrote of it (宜好大龙公软报修 for 您好，大龙
        # 供暖报修) is heard again too: the fail and its fine stand unless the recording
        # surely says the standard text.
        if item is None or item.status not in ("review", "fail"):
            continue
        agent = _cited(transcript, item.evidence, "agent")
        if item.status == "fail":
            if _fits_standard(listener, agent, standard):
                settle(item, f"{_LISTENED}：标准用语「{standard}」与录音相符，识别有误")
                audit.findings = [f for f in audit.findings if f.item != item.id]
            continue
        if check == "opening" and _id_surely_unsaid(listener, agent, standard, audit.agent_id):
            item.status, item.points = "fail", 0.0
            item.reason = (f"{_LISTENED}：录音里没有工号，与不报工号的说法相符"
                           f"（原判：{item.reason}）")
            changed.append(item.id)
            audit.findings.append(nonstandard_opening(phrasebook, item))
            continue
        if _fits_standard(listener, agent, standard):
            settle(item, f"{_LISTENED}：标准用语「{standard}」与录音相符")
    if changed:
        audit.score = round(sum(i.points for i in audit.items), 2)
        audit.provenance["listened"] = changed
    return changed
