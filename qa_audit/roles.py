"""Who is speaking, on a one-stream recording: the agent or the resident.

Three kinds of evidence are combined per turn:
- the words: the agent says the phrasebook's greeting, questions and closing and reads
  back what the resident said; the resident says 我家… and answers questions briefly;
- the voices: frame by frame (10 ms), the spectral envelope (mel-cepstrum, which moves
  with the speaker's vocal tract: another person, or the same voice pitch-shifted) and the
  level (each party's side of the line has its own gain); the turns with clear words
  seed the two voices, and a linear discriminant learnt on their frames (thousands, where
  a call has a few dozen turns) scores every turn, a short 好 included, with as much
  evidence as its frames carry;
- the conversation: parties take turns.
A Viterbi path over the turns picks the roles. The confidence is how well the voices
predict the words of a turn whose words they were not shown (Cohen's kappa, held out
turn by turn), scaled by how much word evidence there is. Where the voices cannot tell
the parties apart, the words and the turn-taking alone decide, with a confidence below
the scorer's threshold: items that depend on who said what become `review`, never a
silent guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz

from qa_audit.normalize import normalize
from qa_audit.records import Role

_FRAME_S, _HOP_S = 0.025, 0.01
_MIN_SPEECH_FRAMES = 10  # fewer and a turn has no voice features
_SPEECH_RANGE_DB = 20.0  # frames this far under a turn's loud ones are pauses, not voice
_BAND_HZ, _MEL_BANDS = (200.0, 3700.0), 40  # the telephone band, whatever the file's rate
_CEPSTRA = 20  # c1..c20: the spectral envelope
_SHRINK = 1e-3  # of the mean variance, added to the frames' covariance
# Frames per independent observation (neighbouring 10 ms frames overlap and share a sound),
# and the least spread of a voice's turn scores (what is said moves a turn's mean).
_FRAMES_PER_INDEPENDENT = 5.0
_MIN_TURN_SPREAD = 0.2
# Cue strength from which a turn's words seed its side of the voice model.
_SEED_CUE = 0.5
# Evidence (sum of cue strengths of the checked turns) needed for full confidence, and the
# held-out agreement (kappa: 0 is chance, 1 perfect) below which the voices are not used.
_FULL_EVIDENCE = 3.0
_MIN_AGREEMENT = 0.3
_READBACK_MIN_CHARS = 3
# How the evidence adds up per turn (in nats): a voice's leaning (capped), a script
# sentence's cue (1.0) times _WORD_WEIGHT, and the odds that the next turn is the other
# party's.
_MAX_VOICE_EVIDENCE = 2.0
_WORD_WEIGHT = 3.0
_SWITCH = 0.55
_CLAUSE_MIN_CHARS = 5  # script clauses this long are matched fuzzily, shorter ones exactly
_CLAUSE_BREAKS = re.compile(r"[，,。.？?！!：:；;、\s]+")
_PLACEHOLDER = re.compile(r"[xX]{3,}")  # 请您随时拨打XXXXXXX
# Text-only assignments stay under any sensible review threshold.
_TEXT_ONLY_CONFIDENCE = 0.5
# Generic cues, not script: questions are mostly the agent's, "my home" the resident's.
_QUESTION_CUES = ("请问", "吗", "？", "?", "哪个", "多少", "什么")
_RESIDENT_CUES = ("我家", "我们家", "我想", "我要", "我们这", "我这")


@dataclass(frozen=True)
class Turn:
    """A stretch of speech by one (as yet unknown) speaker."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class RoleAssignment:
    roles: list[Role]
    confidence: float  # 0..1
    method: str  # "voices+words", "words", "none"
    note: str = ""  # why the confidence is low, for the user


def assign_roles(turns: Sequence[Turn], samples: np.ndarray | None,
                 agent_phrases: Sequence[str], *, sample_rate: int = 16000) -> RoleAssignment:
    """Roles for the turns of a one-stream call, and how sure that is."""
    if not turns:
        return RoleAssignment([], 1.0, "none")
    cues = word_cues([t.text for t in turns], agent_phrases)
    frames = [frame_features(samples, t.start, t.end, sample_rate)
              if samples is not None else None for t in turns]
    voiced = [i for i, f in enumerate(frames) if f is not None]
    if len(voiced) >= 3 and np.any(np.abs(cues[voiced]) >= _SEED_CUE):
        heard = _Frames.of([frames[i] for i in voiced])
        agreement, weight, held_out = _held_out_agreement(heard, cues[voiced])
        confidence = agreement * min(1.0, weight / _FULL_EVIDENCE)
        if agreement >= _MIN_AGREEMENT:
            voices = np.zeros(len(turns))
            # The voices count as far as they were found right on held-out turns (and
            # never for more than _MAX_VOICE_EVIDENCE, see _most_likely_roles).
            voices[voiced] = agreement * _voice_evidence(heard, cues[voiced], held_out)
            return _by_voices(cues, voices, confidence, agreement)
    return RoleAssignment(_most_likely_roles(cues, np.zeros(len(turns))), _TEXT_ONLY_CONFIDENCE,
                          "words", "roles guessed from the words only (the voices do not "
                          "tell the parties apart); items that depend on who spoke need review")


def word_cues(texts: Sequence[str], agent_phrases: Sequence[str]) -> np.ndarray:
    """Per turn, -1..1: how much its words sound like the agent (+) or the resident (-).

    Besides the script and question words: a turn that repeats the one before it is the
    agent reading back (跟读) what the resident just said.
    """
    cues = np.array([agent_cue(text, agent_phrases) for text in texts])
    said = [normalize(text) for text in texts]
    for i in range(1, len(said)):
        before, now = said[i - 1], said[i]
        if len(before) >= _READBACK_MIN_CHARS and fuzz.partial_ratio(before, now) >= 80 \
                and len(now) >= len(before) * 0.6:
            cues[i] = max(cues[i], 0.5)
            cues[i - 1] = min(cues[i - 1], -0.5) if cues[i - 1] < 1.0 else cues[i - 1]
        elif now and cues[i] <= 0 and asks(texts[i - 1], agent_phrases):
            # Right after a question or a script request, words without a script cue of
            # their own: the answer (对 / 书房 / 一三八…).
            cues[i] = min(cues[i], -0.5)
    return cues


def agent_cue(text: str, agent_phrases: Sequence[str]) -> float:
    """-1..1: how much one turn's words sound like the agent (+) or the resident (-)."""
    said = normalize(text)
    if not said:
        return 0.0
    best = 0.0
    for clause in _script_clauses(tuple(agent_phrases)):
        if len(clause) >= _CLAUSE_MIN_CHARS:
            # Script clauses, fuzzily (ASR garbles a character or two), and most of the
            # clause must be there: 方便 is inside 您现在方便吗 but is the resident's.
            if len(said) >= 0.8 * len(clause) and fuzz.partial_ratio(clause, said) >= 80:
                best = max(best, 1.0)
        elif len(clause) >= 3 and clause in said:
            # Short script words (其他屋, 几分) are in the resident's replies too: weak.
            best = max(best, 0.3)
    if any(cue in text for cue in _QUESTION_CUES):
        best = max(best, 0.3)
    if any(cue in said for cue in _RESIDENT_CUES):
        best -= 0.6
    return float(np.clip(best, -1.0, 1.0))


def asks(text: str, agent_phrases: Sequence[str]) -> bool:
    """A question (吗, 请问, ？…) or one of the script's questions and requests (the
    phrasebook writes those with ？: 请留一下联系电话？)."""
    if any(cue in text for cue in _QUESTION_CUES):
        return True
    said = normalize(text)
    return any(len(said) >= 0.8 * len(clause) and fuzz.partial_ratio(clause, said) >= 80
               for clause in _script_questions(tuple(agent_phrases)))


@lru_cache(maxsize=32)
def _script_questions(agent_phrases: tuple[str, ...]) -> list[str]:
    clauses = {normalize(re.split(r"[，,。.！!]", part)[-1]) for phrase in agent_phrases
               for part in re.findall(r"[^？?]*[？?]", _PLACEHOLDER.sub("", phrase))}
    return sorted(c for c in clauses if len(c) >= 3)


@lru_cache(maxsize=32)
def _script_clauses(agent_phrases: tuple[str, ...]) -> list[str]:
    """The agent's phrases cut at punctuation, normalized: ASR turns often hold one
    clause of a long script sentence (感谢您的合作 | 以后有什么问题…)."""
    clauses = {normalize(part) for phrase in agent_phrases
               for part in _CLAUSE_BREAKS.split(_PLACEHOLDER.sub("", phrase))}
    return sorted(c for c in clauses if c)


def _hz_to_mel(hz: float | np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def frame_features(samples: np.ndarray, start: float, end: float,
                   sample_rate: int = 16000) -> np.ndarray | None:
    """A turn's voice, frame by frame: per 25 ms frame of speech (within _SPEECH_RANGE_DB
    of the turn's loud frames), the mel-cepstrum c1..c20 over the telephone band (the
    vocal tract's shape) and the level (the line: each party's side of a call has its
    own gain). None when the turn holds too few frames to tell (a short 嗯)."""
    segment = samples[int(start * sample_rate):int(end * sample_rate)].astype(np.float64)
    frame, hop = int(_FRAME_S * sample_rate), int(_HOP_S * sample_rate)
    if len(segment) < frame + hop * _MIN_SPEECH_FRAMES:
        return None
    count = 1 + (len(segment) - frame) // hop
    index = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    frames = segment[index] * np.hamming(frame)[None, :]
    level = 10.0 * np.log10(np.sum(frames ** 2, axis=1) + 1e-12)
    speech = level > np.percentile(level, 90) - _SPEECH_RANGE_DB
    if np.count_nonzero(speech) < _MIN_SPEECH_FRAMES or not np.any(level > -110):
        return None
    size = 1 << int(np.ceil(np.log2(frame)))
    power = np.abs(np.fft.rfft(frames[speech], size, axis=1)) ** 2
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    return np.hstack([_cepstrum(power, freqs), level[speech, None] / 10.0])


def _cepstrum(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Mel-cepstrum c1..c20 per frame over the telephone band."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(_BAND_HZ[0]), _hz_to_mel(_BAND_HZ[1]),
                                   _MEL_BANDS + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    filters = np.maximum(0.0, np.minimum((freqs - lower) / (centre - lower),
                                         (upper - freqs) / (upper - centre)))
    log_mel = np.log(power @ filters.T + 1e-10)
    bands = np.arange(_MEL_BANDS)
    dct = np.cos(np.pi / _MEL_BANDS * (bands[None, :] + 0.5)
                 * np.arange(1, _CEPSTRA + 1)[:, None])
    return log_mel @ dct.T


@dataclass(frozen=True)
class _Frames:
    """The frames of each turn, summed: (count, sum, sum of outer products) per turn, so
    that a voice model of any set of turns costs the same however long the call."""

    counts: np.ndarray  # (turns,)
    sums: np.ndarray  # (turns, features)
    scatters: np.ndarray  # (turns, features, features)

    @classmethod
    def of(cls, frames: Sequence[np.ndarray]) -> _Frames:
        return cls(np.array([len(f) for f in frames], dtype=float),
                   np.array([f.sum(axis=0) for f in frames]),
                   np.array([f.T @ f for f in frames]))

    def pooled(self, chosen: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(count, mean, covariance) of the frames of the chosen turns."""
        count = float(self.counts[chosen].sum())
        mean = self.sums[chosen].sum(axis=0) / count
        return count, mean, self.scatters[chosen].sum(axis=0) / count - np.outer(mean, mean)


@dataclass(frozen=True)
class _VoiceModel:
    """Two voices told apart frame by frame (a linear discriminant): a frame's score is
    positive on the agent's side, in units of the spread of frames within a voice."""

    direction: np.ndarray
    middle: np.ndarray

    def scores(self, frames: _Frames) -> np.ndarray:
        """Each turn's mean frame score."""
        return (frames.sums / frames.counts[:, None] - self.middle) @ self.direction


def _voice_model(frames: _Frames, sides: np.ndarray) -> _VoiceModel | None:
    """The discriminant between the frames of the turns on the agent's side (sides > 0)
    and the resident's (< 0); None without enough of both.

    Frames, not turn averages: a call has a few dozen turns but thousands of frames, enough
    to learn which features tell these two voices apart (which is different in every call)
    and how they vary together; a turn's average mostly says what was said."""
    agent, resident = sides > 0, sides < 0
    dimension = frames.sums.shape[1]
    if min(frames.counts[agent].sum(), frames.counts[resident].sum()) < 2 * dimension:
        return None
    n_a, mean_a, cov_a = frames.pooled(agent)
    n_r, mean_r, cov_r = frames.pooled(resident)
    spread = (cov_a * n_a + cov_r * n_r) / (n_a + n_r)
    spread += _SHRINK * np.trace(spread) / dimension * np.eye(dimension)
    direction = np.linalg.solve(spread, mean_a - mean_r)
    within = np.sqrt(max(float(direction @ spread @ direction), 1e-18))
    return _VoiceModel(direction / within, (mean_a + mean_r) / 2)


def _seeds(cues: np.ndarray) -> np.ndarray:
    return np.where(np.abs(cues) >= _SEED_CUE, np.sign(cues), 0.0)


def _held_out_agreement(frames: _Frames, cues: np.ndarray
                        ) -> tuple[float, float, np.ndarray]:
    """How far the voices put a turn where its words say it belongs, when that turn's
    words are hidden from the voice model: (Cohen's kappa, weight of evidence checked,
    each turn's held-out voice score; NaN where it was not held out).

    Seeding with a turn's own cue would make it agree by construction; holding it out
    keeps the check honest. Kappa, not raw agreement: the agent says most of the cued
    turns, so "all on the agent's side" would otherwise look like agreement.
    """
    said_agent: list[bool] = []
    heard_agent: list[bool] = []
    weights: list[float] = []
    held_out = np.full(len(cues), np.nan)
    seeds = _seeds(cues)
    for i in np.flatnonzero(np.abs(cues) >= 0.3):
        others = seeds.copy()
        others[i] = 0.0
        model = _voice_model(frames, others)
        if model is None:
            continue
        held_out[i] = model.scores(frames)[i]
        said_agent.append(bool(cues[i] > 0))
        heard_agent.append(bool(held_out[i] > 0))
        weights.append(abs(float(cues[i])))
    if not weights:
        return 0.0, 0.0, held_out
    w = np.array(weights) / np.sum(weights)
    said, heard = np.array(said_agent), np.array(heard_agent)
    observed = float(np.sum(w[said == heard]))
    expected = float(np.sum(w[said]) * np.sum(w[heard]) + np.sum(w[~said]) * np.sum(w[~heard]))
    kappa = (observed - expected) / (1.0 - expected) if expected < 1.0 - 1e-9 else 0.0
    return max(0.0, kappa), float(np.sum(weights)), held_out


def _voice_evidence(frames: _Frames, cues: np.ndarray,
                    held_out: np.ndarray) -> np.ndarray:
    """Per turn, in nats: how much more likely its frames are the agent's voice than the
    resident's (+) or the other way (-).

    A seeded turn is scored by the model that was not shown its words (held_out), the
    others by the model of all seeds. A turn's mean score varies with what was said (a
    spread that does not shrink with length) and, on a short turn, with its few frames:
    the evidence is the Gaussian log-odds between the two voices' turn scores under both.
    """
    seeds = _seeds(cues)
    model = _voice_model(frames, seeds)
    if model is None:
        return np.zeros(len(cues))
    scores = model.scores(frames)
    honest = np.where(np.isnan(held_out), scores, held_out)
    counted = (seeds != 0) & ~np.isnan(held_out)
    agent, resident = honest[counted & (seeds > 0)], honest[counted & (seeds < 0)]
    if len(agent) < 2 or len(resident) < 2:
        return np.zeros(len(cues))
    gap = float(agent.mean() - resident.mean())
    if gap <= 0:
        return np.zeros(len(cues))  # the voices do not follow the words at all
    middle = float(agent.mean() + resident.mean()) / 2
    noise = _FRAMES_PER_INDEPENDENT / frames.counts
    residual = np.concatenate([agent - agent.mean(), resident - resident.mean()])
    between = max(float(np.mean(residual ** 2) - np.mean(noise[counted])), _MIN_TURN_SPREAD ** 2)
    return gap * (honest - middle) / (between + noise)


def _by_voices(cues: np.ndarray, voices: np.ndarray, confidence: float,
               agreement: float) -> RoleAssignment:
    note = "" if confidence >= 0.8 else (
        f"speaker roles uncertain: the voices agree with the words only so far (kappa "
        f"{agreement:.2f}); items that depend on who spoke need review")
    return RoleAssignment(_most_likely_roles(cues, voices), confidence, "voices+words", note)


def _most_likely_roles(cues: np.ndarray, voices: np.ndarray) -> list[Role]:
    """The most likely roles given each turn's voice, its words, and that parties take
    turns: a two-state Viterbi path. A turn too short to hear (对) follows its words and
    its neighbours; one voice that sits between the two follows the conversation."""
    evidence = np.clip(voices, -_MAX_VOICE_EVIDENCE, _MAX_VOICE_EVIDENCE) + _WORD_WEIGHT * cues
    # Log-scores of (customer, agent) per turn, and of staying with or leaving a speaker.
    emit = np.stack([-evidence / 2, evidence / 2], axis=1)
    stay, switch = np.log(1 - _SWITCH), np.log(_SWITCH)
    score = emit[0].copy()
    back = np.zeros((len(cues), 2), dtype=int)
    for i in range(1, len(cues)):
        options = score[:, None] + np.array([[stay, switch], [switch, stay]])
        back[i] = np.argmax(options, axis=0)
        score = options[back[i], [0, 1]] + emit[i]
    path = [int(np.argmax(score))]
    for i in range(len(cues) - 1, 0, -1):
        path.append(int(back[i][path[-1]]))
    return ["agent" if state == 1 else "customer" for state in reversed(path)]
