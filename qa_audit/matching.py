"""Fuzzy matching of phrasebook phrases in transcript text (rapidfuzz + pinyin + jieba).

Scores are 0..100. A phrase is compared both as characters and as pinyin, after
normalization, so that ASR's typical errors — homophones (公暖/供暖), dropped characters,
digits in either script, traditional characters — still match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import jieba
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from qa_audit.normalize import digits_only, normalize, sound_key

jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise

# Words that carry no content when judging whether an agent repeated what a resident said.
_FILLER = frozenset(
    "你好 您好 我家 我们家 我们 我 你 您 的 了 吗 呢 吧 啊 呀 是 对 就 那 这 那个 这个 一下 想 问 问一下 "
    "有 在 都 也 还 很 太 一直 是吧 对吗 嗯 哦 好 好的 请问 那儿 这儿 说 要求 给 跟 和".split()
)


@dataclass(frozen=True)
class Match:
    score: float  # 0..100
    phrase: str


# Politeness and particles that many phrases share ("请问您的姓名" / "请问您的具体地址"): a fuzzy
# match is judged on what is left, so shared boilerplate does not make two questions alike.
_BOILERPLATE = re.compile(r"请问|您的|你的|一下|请|您|吗|呢|吧|了|的")


def core(phrase: str) -> str:
    """A phrase without its boilerplate ("请问您的姓名" -> "姓名"); the phrase itself if too
    little would be left."""
    stripped = _BOILERPLATE.sub("", phrase)
    return stripped if len(stripped) >= 2 else phrase


@lru_cache(maxsize=262144)
def phrase_score(phrase: str, text: str, strict_short: bool = False) -> float:
    """How well `phrase` occurs somewhere in `text` (0..100), by characters or by sound.

    Cached: within a call the same clause is asked about many phrases more than once (each
    slot, its exclusions, the answers)."""
    p, t = normalize(phrase), normalize(text)
    if not p or not t:
        return 0.0
    if p in t:
        return 100.0
    whole, p = p, core(p)
    if p in t:
        return 100.0
    if len(p) <= 4:
        # Four characters or fewer leave no room for a fuzzy match ("厉害吗" is not
        # "对吗", "电话多少" is not "大概多少"): compare by sound only.
        # `strict_short`: two syllables of a question sound like too much else (流得 / 刘德
        # in a name), so they count by characters only.
        if strict_short and len(p) <= 2:
            return 0.0
        if f" {sound_key(p)} " in f" {sound_key(t)} ":
            return 100.0
        # A question heard with one syllable misheard (问题解结 for 问题解决): maybe asked,
        # for a person to hear; never sure.
        return NEAR_SOUND_SCORE if strict_short and len(p) >= 3 and near_sound(p, t) else 0.0
    # Below this a match is worthless; the cutoff lets rapidfuzz stop early.
    cutoff = 50.0
    if len(t) < len(p):
        # partial_ratio would look for the shorter text inside the phrase: "电话？" is not
        # "还有好多电话". A text shorter than the phrase is compared whole.
        return max(fuzz.ratio(p, t, score_cutoff=cutoff),
                   fuzz.ratio(sound_key(p).split(), sound_key(t).split(), score_cutoff=cutoff)
                   * 0.97)
    by_chars = fuzz.partial_ratio(p, t, score_cutoff=cutoff)
    # By whole syllables: letter by letter, "dian hua duo shao" would half-match
    # "da gai duo shao".
    by_sound = fuzz.partial_ratio(sound_key(p).split(), sound_key(t).split(),
                                  score_cutoff=cutoff)
    if whole != p and len(p) * 4 >= len(whole) * 3 and len(t) >= len(whole):
        # A long phrase with little boilerplate ("以后有什么问题请您随时拨打"): taking its 请您
        # out only misaligns a text that says it whole with one character misheard (拔打).
        by_chars = max(by_chars, fuzz.partial_ratio(whole, t, score_cutoff=cutoff))
    # A sound match is slightly less sure than a character match.
    return max(by_chars, by_sound * 0.97)


# Between the pass and fail thresholds (matching.yaml: 85 / 65): a `review`.
NEAR_SOUND_SCORE = 80.0


def _near_syllable(a: str, b: str) -> bool:
    """Two syllables a recognizer mistakes for each other: one letter apart, same first
    letter (jie / jue, fen / fan), after the blurring of `sound_key`."""
    return a == b or (a[:1] == b[:1] and Levenshtein.distance(a, b) <= 1)


@lru_cache(maxsize=65536)
def near_sound(phrase: str, text: str) -> bool:
    """Whether the phrase's syllables occur in the text with exactly one of them heard as a
    near one (问题解结 for 问题解决; 解结了 for 解决了). For phrases of three syllables or
    more: in two, one syllable off is another word."""
    p, t = sound_key(phrase).split(), sound_key(text).split()
    heard = set(t)
    if len(p) < 3 or sum(x not in heard for x in p) > 1:
        return False
    for i in range(len(t) - len(p) + 1):
        window = t[i:i + len(p)]
        off = [(x, y) for x, y in zip(p, window) if x != y]
        if len(off) == 1 and _near_syllable(*off[0]):
            return True
    return False


def best_phrase(phrases: Sequence[str], text: str, strict_short: bool = False) -> Match:
    """The best-matching phrase of a list in `text`."""
    best = Match(0.0, "")
    for phrase in phrases:
        s = phrase_score(phrase, text, strict_short)
        if s > best.score:
            best = Match(s, phrase)
            if s >= 100.0:
                break
    return best


def contains_any(words: Iterable[str], text: str) -> str | None:
    """The first word found verbatim (after normalization) in `text`."""
    t = normalize(text)
    for w in words:
        nw = normalize(w)
        if nw and nw in t:
            return w
    return None


# Spoken contractions of a number and its measure word: 俩卧室 is 两个卧室, 仨屋 is 三个屋.
_CONTRACTED = str.maketrans({"俩": "两个", "仨": "三个"})


def uncontracted(text: str) -> str:
    """A text with 俩/仨 spelled out (两个/三个), so a read-back in either form repeats it."""
    return text.translate(_CONTRACTED)


@lru_cache(maxsize=65536)
def content_words(text: str) -> tuple[str, ...]:
    """The words of a statement that carry its content (jieba, fillers dropped)."""
    return tuple(w for w in jieba.lcut(normalize(uncontracted(text))) if w not in _FILLER
                 and w.strip())


def repeat_score(said: str, echo: str) -> float:
    """How much of what one speaker `said` the other repeats in `echo` (0..100).

    Read-back is judged on content words, by characters or by sound, so "暖气片漏水是吧"
    repeats "我家暖气片漏水了" fully and "好的" repeats nothing.
    """
    words = content_words(said)
    if not words:
        return 0.0
    echo = uncontracted(echo)
    echo_n, echo_py = normalize(echo), f" {sound_key(echo)} "
    total = sum(len(w) for w in words)
    hit = 0.0
    for w in words:
        if w in echo_n:
            hit += len(w)
        elif len(w) >= 2 and f" {sound_key(w)} " in echo_py:
            hit += len(w) * 0.9
        elif len(w) >= 3:
            hit += len(w) * max(0.0, (fuzz.partial_ratio(w, echo_n) - 50) / 50) * 0.8
    return 100.0 * hit / total


def digits_similarity(said: str, echo: str) -> float:
    """How well the digits of `said` (a phone or house number) come back in `echo`, 0..100.

    The digits are looked for inside the echo, so a read-back with words around the number
    still matches; an echo with fewer digits than were said scores lower.
    """
    ds, de = digits_only(said), digits_only(echo)
    if not ds or not de:
        return 0.0
    coverage = min(1.0, len(de) / len(ds))
    return fuzz.partial_ratio(ds, de) * coverage if len(ds) <= len(de) else fuzz.ratio(ds, de)


def text_similarity(a: str, b: str) -> float:
    """Whole-text similarity (0..100), by characters or by sound."""
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        return 0.0
    return max(fuzz.ratio(na, nb), fuzz.ratio(sound_key(a).split(), sound_key(b).split()) * 0.97)
