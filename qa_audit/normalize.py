"""Chinese text normalization that lets matching survive real transcripts.

ASR output and human transcripts of the same words differ in script (traditional or
simplified), width, punctuation and how numbers are written (三零一 / 301 / 幺零幺 = 101 when
spoken digit by digit). `normalize` maps all of them to one form: simplified, half-width,
no punctuation or spaces, numbers as Arabic digits. `pinyin_key` adds a sound view so
homophone errors (公暖 for 供暖) still match.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import cn2an
import opencc
from pypinyin import Style, lazy_pinyin

_T2S = opencc.OpenCC("t2s")

# Digits as they are spoken in phone numbers, house numbers and agent ids.
SPOKEN_DIGITS = {
    "零": "0", "〇": "0", "洞": "0",
    "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
    "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}
_UNITS = "十百千万"
_NUMBER_RUN = re.compile(f"[{''.join(SPOKEN_DIGITS)}{_UNITS}]+")
_DIGIT_SPACES = re.compile(r"(?<=\d)[\s\-]+(?=\d)")
# Everything that is not a letter or digit: punctuation of both widths, spaces, symbols.
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def to_simplified(text: str) -> str:
    """Traditional -> simplified (Whisper writes 報修 without a simplified prompt)."""
    return _T2S.convert(text)


def _run_to_digits(run: str) -> str:
    """One run of Chinese number characters as Arabic digits.

    A run without 十/百/千/万 is read digit by digit (phone 一三零…, room 五零三, id 三零一);
    one with them is read as a quantity (十一号楼 -> 11, 二十 -> 20).
    """
    if not any(ch in _UNITS for ch in run):
        if run == "洞" or (len(run) == 1 and run in "两"):
            # 洞 alone is a hole, not a zero; 两 alone is "two of", still a 2.
            return run if run == "洞" else "2"
        return "".join(SPOKEN_DIGITS[ch] for ch in run)
    if not any(ch in SPOKEN_DIGITS for ch in run) and run != "十":
        return run  # 万/百/千 without a digit are words (万科城), not numbers
    try:
        value = cn2an.cn2an(run.replace("幺", "一").replace("洞", "零"), "smart")
    except (ValueError, KeyError):
        # Not one numeral: "十七八" (17 or 18) is read as the longest numeral that parses,
        # then the rest; never as 10-7-8.
        for cut in range(len(run) - 1, 0, -1):
            head = _run_to_digits(run[:cut])
            if head.isdigit():
                return head + _run_to_digits(run[cut:])
        # A lone 十 left over is ten, as it would be read on its own (normalize stays idempotent).
        return "".join(SPOKEN_DIGITS.get(ch, "10" if ch == "十" else ch) for ch in run)
    return str(int(value)) if float(value).is_integer() else str(value)


# Recognizers write the spoken 幺 (one) as 要 inside numbers: "三要九号", "要八八三要二六七…".
_YAO_BETWEEN = re.compile(r"(?<=[零一二三四五六七八九幺\d])要(?=[零一二三四五六七八九幺\d])")
_YAO_RUN = re.compile(r"[零一二三四五六七八九幺要\d]{7,}")


def numbers_to_digits(text: str) -> str:
    """Spoken Chinese numbers -> Arabic digits; digit groups split by spaces or dashes joined."""
    if "要" in text:
        text = _YAO_BETWEEN.sub("幺", text)
        text = _YAO_RUN.sub(lambda m: m.group(0).replace("要", "幺"), text)
    text = _NUMBER_RUN.sub(lambda m: _run_to_digits(m.group(0)), text)
    return _DIGIT_SPACES.sub("", text)


@lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """One comparable form: simplified, half-width, no punctuation/spaces, Arabic digits.

    Idempotent: normalize(normalize(x)) == normalize(x).
    """
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    text = numbers_to_digits(text)
    text = _NOT_WORD.sub("", text)
    # Once more: taking punctuation out may join what were lone characters into a number
    # ("洞？洞" -> 洞洞 -> 00), and normalizing again must not change the result.
    return numbers_to_digits(text).lower()


@lru_cache(maxsize=65536)
def pinyin_key(text: str) -> str:
    """The normalized text as toneless pinyin syllables, so 公暖 and 供暖 compare equal."""
    return " ".join(lazy_pinyin(normalize(text), style=Style.NORMAL, errors="default"))


def _blur(syllable: str) -> str:
    """A syllable with the distinctions that speakers and recognizers blur taken away (模糊音:
    zh/z, ch/c, sh/s, n/l, ang/an, eng/en, ing/in): 公乱 sounds like 供暖, 景快 like 尽快."""
    if syllable[:2] in ("zh", "ch", "sh"):
        syllable = syllable[0] + syllable[2:]
    elif syllable.startswith("n") and syllable != "ng":
        syllable = "l" + syllable[1:]
    for long, short in (("ang", "an"), ("eng", "en"), ("ing", "in")):
        if syllable.endswith(long):
            return syllable[: -len(long)] + short
    return syllable


@lru_cache(maxsize=65536)
def sound_key(text: str) -> str:
    """Like `pinyin_key`, but blind to the sounds recognizers confuse. For finding phrases in
    recognizer text only: names compare by `pinyin_key`, where 刘 and 牛 must stay apart."""
    return " ".join(_blur(s) for s in pinyin_key(text).split())


def digits_only(text: str) -> str:
    """All digits of a text, spoken or written (for phone numbers and ids)."""
    return "".join(ch for ch in numbers_to_digits(unicodedata.normalize("NFKC", text))
                   if ch.isdigit())


def is_subsequence(short: str, long: str) -> bool:
    """Whether `short` is `long` with characters dropped (what a recognizer does to digits)."""
    it = iter(long)
    return all(ch in it for ch in short)


def spoken(digits: str) -> str:
    """Arabic digits as an agent reads them one by one (13012 -> 一三零一二)."""
    names = "零一二三四五六七八九"
    return "".join(names[int(d)] if d.isdigit() else d for d in digits)
