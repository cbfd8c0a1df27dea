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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from qa_audit.audio import SAMPLE_RATE, Recording
from qa_audit.asr_lexicon import sounds
from qa_audit.normalize import spoken, to_simplified

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from qa_audit.phrasebook import Phrasebook
    from qa_audit.records import CallAudit, Evidence, Role, Ticket, Transcript, Utterance

# Bump when listening decides differently, so stored audits are redone.
VERSION = 1
# Heard a little before and after the utterance's times: word times are good to about
# a fifth of a second, and a clipped syllable would count against every text alike.
_PAD_S = 0.25
_PUNCTUATION = re.compile(r"[\s，,。.？?！!：:；;、…\-—~～\"'“”‘’（）()]+")
# Margins (nats) of loglik(expected text) - loglik(heard text): at or above ACCEPT, the
# recording is taken to say the expected text (the recognizer misheard it); below REJECT,
# it is taken not to. Between them a person listens. scripts/calibrate_listen.py measures
# them on right and wrong tickets.
ACCEPT_MARGIN = -3.0
REJECT_MARGIN = -6.0
_DIGIT_LIKE = {"幺": "一", "洞": "零", "〇": "零", "两": "二"}


def written_as_spoken(text: str) -> str:
    """The one written form texts are weighed in: simplified, no punctuation, every digit
    as its Chinese numeral (1 -> 一, 幺 -> 一, 洞 -> 零)."""
    text = _PUNCTUATION.sub("", to_simplified(text))
    text = "".join(_DIGIT_LIKE.get(ch, ch) for ch in text)
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
        encoded, frames = self._encode(role, start, end)
        prefix, part, suffix = (self.tokenizer.encode(written_as_spoken(x)) if x else []
                                for x in reading)
        tokens = [*prefix, *part, *suffix]
        if not tokens or not part:
            return Weight(-math.inf, -math.inf, -math.inf)
        result = self.model.model.align(encoded, self.tokenizer.sot_sequence, [tokens],
                                        frames)[0]
        logs = np.log(np.maximum(np.asarray(result.text_token_probs, dtype=float), 1e-9))
        inside = logs[len(prefix):len(prefix) + len(part)]
        return Weight(float(logs.sum()), float(inside.sum()), float(inside.min()))

    def loglik(self, role: Role, start: float, end: float, texts: Sequence[str]) -> list[float]:
        """Log-likelihood (nats) of each text being what was said in [start, end] by `role`."""
        encoded, frames = self._encode(role, start, end)
        tokenizer = self.tokenizer
        out = []
        for text in texts:
            tokens = tokenizer.encode(written_as_spoken(text))
            if not tokens:
                out.append(-math.inf)
                continue
            result = self.model.model.align(encoded, tokenizer.sot_sequence, [tokens], frames)[0]
            probs = np.maximum(np.asarray(result.text_token_probs, dtype=float), 1e-9)
            out.append(float(np.log(probs).sum()))
        return out


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
    """How a text fits a stretch of audio: log-likelihood in nats of the whole text, of
    the part in question, and of that part's least likely token."""

    total: float
    part: float
    weakest: float



# The least likely token of an expected text, in nats, at or above which the recording is
# taken to say it. Facts (a phone, a name, house numbers) are short and each token counts;
# a script phrase is long and carries the odd unclear syllable. scripts/calibrate_listen.py
# measured them on the sample and devset recordings: no wrong phone, name or agent id, and
# no greeting with a part left out, reached them.
ACCEPT_FACT = -4.5
ACCEPT_SCRIPT = -6.0
_LISTENED = "复听录音"


def heard(listener: Listener, utterances: Sequence[Utterance], expected: str) -> float | None:
    """How surely `expected` is somewhere in what was said in `utterances` (one party's,
    heard as one stretch): the weakest token of its best-fitting reading, or None."""
    if not utterances or not expected:
        return None
    role = utterances[0].role
    text = "".join(u.text for u in utterances)
    start, end = min(u.start for u in utterances), max(u.end for u in utterances)
    if end - start > 28.0:
        return None
    if written_as_spoken(expected) in written_as_spoken(text):
        return 0.0  # heard as expected already: nothing to doubt in this stretch
    weakest = [listener.weigh(role, start, end, r).weakest
               for r in expected_readings(text, expected)]
    return max(weakest) if weakest else None


def _facts_said(transcript: Transcript, evidence: Sequence[Evidence]) -> list[list[Utterance]]:
    """The resident's utterances to listen to for a fact: those the item rests on, then the
    rest of what the resident said, one at a time."""
    said = [u for u in transcript.utterances if u.role == "customer"]
    cited = [u for u in said if any(abs(u.start - e.start) < 0.05 and e.role == "customer"
                                    for e in evidence)]
    return [[u] for u in cited] + [[u] for u in said if u not in cited]


def _could_be(said: Sequence[Utterance], fact: str) -> bool:
    """Whether what the recognizer wrote could be the fact with some of it missed: the
    digits heard are the fact's digits with some dropped (a recognizer drops digits it
    cannot make out; one it heard as another is a difference the audio must not overrule),
    and at least half of them were heard."""
    from qa_audit.normalize import digits_only

    want = digits_only(fact)
    if not want:
        return True
    got = digits_only("".join(u.text for u in said))
    it = iter(want)
    return 2 * len(got) >= len(want) and all(ch in it for ch in got)


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


def recheck(audit: CallAudit, transcript: Transcript, listener: Listener, *,
            phrasebook: Phrasebook, ticket: Ticket | None,
            standards: dict[str, str]) -> list[str]:
    """Listen again where the recognizer left an item in `review`: a ticket's phone, name or
    address, and the greeting and closing (`standards`: item check -> the standard text for
    this call). An item whose expected text the recording surely says becomes `pass`, with
    the weight in its reason; nothing becomes `fail` this way (a fine needs what the
    scorer's own rules ask). Returns the ids of the items changed."""
    form = phrasebook.forms.get(audit.form)
    checks = {i.id: i.check for i in form.items} if form else {}
    changed = []
    for item in audit.items:
        check = checks.get(item.id, "")
        if item.status != "review":
            continue
        if check in standards:
            agent = [u for u in transcript.utterances if u.role == "agent"
                     and any(abs(u.start - e.start) < 0.05 for e in item.evidence)]
            surely = heard(listener, agent, standards[check])
            if surely is None or surely < ACCEPT_SCRIPT:
                continue
            note = f"{_LISTENED}：标准用语「{standards[check]}」与录音相符"
        elif check in ("ticket.phone", "ticket.name", "ticket.address") and ticket is not None:
            facts = _expected_facts(check, ticket)
            found = []
            for fact in facts:
                best = max((w for said in _facts_said(transcript, item.evidence)
                            if _could_be(said, fact)
                            and (w := heard(listener, said, fact)) is not None), default=None)
                if best is None or best < ACCEPT_FACT:
                    break
                found.append(fact)
            if not facts or len(found) < len(facts):
                continue
            note = f"{_LISTENED}：住户说的是工单上的「{'，'.join(facts)}」，识别有误"
        else:
            continue
        item.status, item.points = "pass", item.max_points
        item.reason = f"{note}（原判：{item.reason}）"
        changed.append(item.id)
    if changed:
        audit.score = round(sum(i.points for i in audit.items), 2)
        audit.provenance["listened"] = changed
    return changed
