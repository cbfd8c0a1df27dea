"""Domain words Whisper writes as near-homophones (公乱 for 供暖, 景快 for 尽快), put back.

A small model on 8 kHz speech hears the syllables of a hotline's words right and picks
the wrong characters for them. A span of the recognizer's text is replaced by a domain
word (the phrasebook's vocabulary and script clauses, the station directory's
communities) only when
- every syllable matches the word's, toneless, up to the confusions a telephone line and a
  northern accent make (n/l, zh/z, ch/c, sh/s, in/ing, en/eng, and ou/ong: the band
  limit blurs a nasal ending, 号龙 for 号楼, 浓水 for 漏水): never a different
  syllable, so 你好 stays 你好 and a non-standard phrase is never made standard;
- the span is not a word in its own right (jieba's dictionary: 街头 stays 街头), and a
  two-character span does not start or end on a character that makes a phrase on its
  own (是谁 is not 试水).
Longer words are tried first, so a whole script clause wins over the words inside it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from qa_audit.normalize import to_simplified

_HANZI_RUN = re.compile(r"[\u4e00-\u9fff]+")
_BREAKS = re.compile(r"[，,。.？?！!：:；;、\s]+")
_PLACEHOLDER = re.compile(r"[xX]{3,}")
_MIN_CHARS, _MAX_CHARS = 2, 12
# Initials and finals a telephone line (and a northern accent) blurs.
_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FINALS = (("ing", "in"), ("eng", "en"), ("ou", "ong"))
# Characters that are words on their own: a span ending or starting with one is as likely
# a phrase (是谁, 我的) as a misheard domain word.
_FUNCTION_CHARS = frozenset("是的了在有我你他她它这那就都也还要会说吗呢吧啊哦嗯个不没一")


@lru_cache(maxsize=4096)
def _sound(syllable: str) -> str:
    """A toneless syllable with the blurred distinctions folded."""
    for long, short in _INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long):]
            break
    for long, short in _FINALS:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
            break
    return syllable


def sounds(text: str) -> list[str]:
    """One folded toneless syllable per character of a run of Chinese characters."""
    return [_sound(s) for s in lazy_pinyin(text, style=Style.NORMAL, errors="default")]


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, int]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ


def is_word(span: str) -> bool:
    """A word of the general dictionary (a real word, not a misheard one)."""
    return _dictionary().get(span, 0) > 0


@dataclass(frozen=True)
class _Entry:
    word: str
    sound: tuple[str, ...]


class Lexicon:
    """The domain words, indexed by length and by the sound of their first syllable."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = sorted(domain_words(words), key=lambda w: (-len(w), w))
        self._by_length: dict[int, dict[str, list[_Entry]]] = {}
        for word in self.words:
            entry = _Entry(word, tuple(sounds(word)))
            self._by_length.setdefault(len(word), {}).setdefault(entry.sound[0], []).append(entry)

    def __bool__(self) -> bool:
        return bool(self.words)

    def correct(self, text: str) -> str:
        """The text with misheard domain words put back; everything else as it was."""
        if not self._by_length:
            return text
        return _HANZI_RUN.sub(lambda run: self._correct_run(run.group()), text)

    def _correct_run(self, run: str) -> str:
        said = sounds(run)
        if len(said) != len(run):  # a character pypinyin cannot read: leave the run be
            return run
        chars = list(run)
        fixed = [False] * len(run)  # a character already put back is not reconsidered
        for length in sorted(self._by_length, reverse=True):
            if length > len(run):
                continue
            index = self._by_length[length]
            for start in range(len(run) - length + 1):
                if any(fixed[start:start + length]):
                    continue
                span = "".join(chars[start:start + length])
                for entry in index.get(said[start], ()):
                    if tuple(said[start:start + length]) != entry.sound:
                        continue
                    if span == entry.word:
                        fixed[start:start + length] = [True] * length
                        break
                    if _replaceable(span):
                        chars[start:start + length] = list(entry.word)
                        fixed[start:start + length] = [True] * length
                        break
        return "".join(chars)


def _replaceable(span: str) -> bool:
    if is_word(span):
        return False
    # Two characters are where a phrase of two words passes for a misheard one.
    return len(span) > 2 or not (span[0] in _FUNCTION_CHARS or span[-1] in _FUNCTION_CHARS)


def domain_words(entries: Iterable[str]) -> set[str]:
    """Vocabulary entries and script sentences -> the words and clauses to put back: each
    clause (cut at punctuation) and jieba's words in it, of 2 to 12 Chinese characters."""
    import jieba

    _dictionary()  # initialized quietly
    words: set[str] = set()
    for entry in entries:
        for clause in _BREAKS.split(_PLACEHOLDER.sub("", to_simplified(entry))):
            for part in [clause, *jieba.cut(clause)]:
                if _MIN_CHARS <= len(part) <= _MAX_CHARS and _HANZI_RUN.fullmatch(part):
                    words.add(part)
    return words
