"""Who is speaking, on a one-stream recording: the agent or the resident.

Three kinds of evidence are combined per turn:
- the words: the agent says the phrasebook's greeting, questions and closing and reads
  back what the resident said; the resident says 我家… and answers questions briefly;
- the voices: each turn's pitch (F0), spectral centre and cepstrum; the turns with clear
  words seed two voice groups, weighted by what tells those two voices apart;
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

# F0 search range: adult voices, both sexes.
_F0_MIN, _F0_MAX = 60.0, 400.0
_FRAME_S, _HOP_S = 0.04, 0.01
_VOICED_PEAK = 0.45  # normalized autocorrelation at the pitch lag for a frame to count
_MIN_VOICED_FRAMES = 8  # fewer (a short 对) and the turn has no reliable voice features
_BAND_HZ, _MEL_BANDS = (250.0, 3400.0), 24  # the telephone band, whatever the file's rate
_CEPSTRA = 12  # c1..c12: the spectral envelope; c0 (loudness) says nothing of the voice
# Cue strength from which a turn's words seed its side of the voice clustering.
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
_RIDGE = 3.0  # in standardized units, see two_speakers
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
    features = [voice_features(samples, t.start, t.end, sample_rate)
                if samples is not None else None for t in turns]
    voiced = [i for i, f in enumerate(features) if f is not None]
    if len(voiced) >= 3 and np.any(np.abs(cues[voiced]) >= _SEED_CUE):
        matrix = np.array([features[i] for i in voiced])
        _, _, leaning = two_speakers(matrix, _seeds(cues[voiced]))
        agreement, weight = _held_out_agreement(matrix, cues[voiced])
        confidence = agreement * min(1.0, weight / _FULL_EVIDENCE)
        if agreement >= _MIN_AGREEMENT:
            voices = np.zeros(len(turns))
            voices[voiced] = leaning
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


def voice_features(samples: np.ndarray, start: float, end: float,
                   sample_rate: int = 16000) -> np.ndarray | None:
    """A turn's voice: [median log2 F0, log spectral centre, mean cepstrum c1..c12] over
    its voiced frames; None when the turn is too short to tell (对, 嗯)."""
    segment = samples[int(start * sample_rate):int(end * sample_rate)].astype(np.float64)
    frame, hop = int(_FRAME_S * sample_rate), int(_HOP_S * sample_rate)
    if len(segment) < frame + hop * _MIN_VOICED_FRAMES:
        return None
    count = 1 + (len(segment) - frame) // hop
    index = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    frames = segment[index] * np.hanning(frame)[None, :]
    energy = np.sum(frames ** 2, axis=1)
    if not np.any(energy > 0):
        return None
    frames = frames[energy > 0.1 * np.median(energy[energy > 0])]
    if len(frames) < _MIN_VOICED_FRAMES:
        return None
    size = 1 << int(np.ceil(np.log2(2 * frame)))
    power = np.abs(np.fft.rfft(frames, size, axis=1)) ** 2
    autocorr = np.fft.irfft(power, size, axis=1)[:, :frame]
    autocorr /= np.maximum(autocorr[:, :1], 1e-12)
    low, high = int(sample_rate / _F0_MAX), int(sample_rate / _F0_MIN)
    best = np.argmax(autocorr[:, low:high], axis=1)
    voiced = autocorr[np.arange(len(best)), best + low] >= _VOICED_PEAK
    if np.count_nonzero(voiced) < _MIN_VOICED_FRAMES:
        return None
    f0 = sample_rate / (best[voiced] + low)
    power = power[voiced]
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    centre = np.sum(power * freqs, axis=1) / np.maximum(np.sum(power, axis=1), 1e-12)
    return np.concatenate([[np.median(np.log2(f0)), np.log2(np.median(centre) + 1.0)],
                           _mean_cepstrum(power, freqs)])


def _mean_cepstrum(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Mean mel-cepstrum c1..c12 over the telephone band: the shape of the vocal tract."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(_BAND_HZ[0]), _hz_to_mel(_BAND_HZ[1]),
                                   _MEL_BANDS + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    filters = np.maximum(0.0, np.minimum((freqs - lower) / (centre - lower),
                                         (upper - freqs) / (upper - centre)))
    log_mel = np.log(power @ filters.T + 1e-10)
    bands = np.arange(_MEL_BANDS)
    dct = np.cos(np.pi / _MEL_BANDS * (bands[None, :] + 0.5) * np.arange(1, _CEPSTRA + 1)[:, None])
    return (log_mel @ dct.T).mean(axis=0)


def _hz_to_mel(hz: float | np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def two_speakers(features: np.ndarray, seeds: np.ndarray | None = None,
                 iterations: int = 50) -> tuple[np.ndarray, float, np.ndarray]:
    """Two voices among the turns: (labels 0/1, separation, leaning); label 1 is the
    agent's side, and `leaning` says per turn how far it is nearer that side's centre than
    the other's, in units of the spread within the groups.

    With `seeds` (1 = agent-like words, -1 = resident-like, 0 = no cue) the features are
    weighted by how well they tell the seeded turns apart (a diagonal linear
    discriminant: which features differ between these two voices is different in every
    call), and the turns are split in two along that direction, starting from the seeds.
    Without seeds, along the main axis of variation. Separation is the gap between the
    two groups along that line over the spread within them.
    """
    scale = features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    points = (features - features.mean(axis=0)) / scale
    if seeds is not None and np.any(seeds != 0):
        agent = points[seeds > 0] if np.any(seeds > 0) else points[seeds >= 0]
        resident = points[seeds < 0] if np.any(seeds < 0) else points[seeds <= 0]
        if len(agent) == 0 or len(resident) == 0:
            return np.ones(len(points), dtype=int), 0.0, np.zeros(len(points))
        spread = (_variance(agent) * len(agent) + _variance(resident) * len(resident)) \
            / (len(agent) + len(resident))
        # The ridge keeps a feature that happens to be constant among few seeds from
        # taking over.
        direction = (agent.mean(axis=0) - resident.mean(axis=0)) / (spread + _RIDGE)
    else:
        direction = np.linalg.svd(points, full_matrices=False)[2][0]
    projected = points @ (direction / max(float(np.linalg.norm(direction)), 1e-12))
    if seeds is not None and np.any(seeds != 0):
        centres = np.array([projected[seeds < 0].mean() if np.any(seeds < 0)
                            else projected[seeds <= 0].mean(),
                            projected[seeds > 0].mean() if np.any(seeds > 0)
                            else projected[seeds >= 0].mean()])
    else:
        centres = np.array([projected.min(), projected.max()])
    labels = (np.abs(projected - centres[1]) < np.abs(projected - centres[0])).astype(int)
    for _ in range(iterations):
        for k in (0, 1):
            if np.any(labels == k):
                centres[k] = projected[labels == k].mean()
        new_labels = (np.abs(projected - centres[1]) < np.abs(projected - centres[0])).astype(int)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    if np.all(labels == labels[0]):
        return labels, 0.0, np.zeros(len(points))
    within = max(float(np.sqrt((projected[labels == 0].var()
                                + projected[labels == 1].var()) / 2)), 1e-3)
    leaning = (np.abs(projected - centres[0]) - np.abs(projected - centres[1])) / within
    return labels, float(abs(centres[1] - centres[0]) / within), leaning


def _variance(points: np.ndarray) -> np.ndarray:
    return points.var(axis=0) if len(points) > 1 else np.zeros(points.shape[1])


def _seeds(cues: np.ndarray) -> np.ndarray:
    return np.where(np.abs(cues) >= _SEED_CUE, np.sign(cues), 0.0)


def _held_out_agreement(matrix: np.ndarray, cues: np.ndarray) -> tuple[float, float]:
    """How far the voices put a turn where its words say it belongs, when that turn's
    words are hidden from the clustering: (Cohen's kappa, weight of evidence checked).

    Seeding with a turn's own cue would make it agree by construction; holding it out
    keeps the check honest. Kappa, not raw agreement: the agent says most of the cued
    turns, so "all on the agent's side" would otherwise look like agreement.
    """
    said_agent: list[bool] = []
    heard_agent: list[bool] = []
    weights: list[float] = []
    for i in np.flatnonzero(np.abs(cues) >= 0.3):
        held_out = cues.copy()
        held_out[i] = 0.0
        seeds = _seeds(held_out)
        if not np.any(seeds):
            continue
        # The seeds alone decide (no refinement over the other turns): a nearest-centre
        # classifier checked on the one turn it was not given.
        labels, _, _ = two_speakers(matrix, seeds, iterations=0)
        said_agent.append(bool(cues[i] > 0))
        heard_agent.append(bool(labels[i] == 1))
        weights.append(abs(float(cues[i])))
    if not weights:
        return 0.0, 0.0
    w = np.array(weights) / np.sum(weights)
    said, heard = np.array(said_agent), np.array(heard_agent)
    observed = float(np.sum(w[said == heard]))
    expected = float(np.sum(w[said]) * np.sum(w[heard]) + np.sum(w[~said]) * np.sum(w[~heard]))
    kappa = (observed - expected) / (1.0 - expected) if expected < 1.0 - 1e-9 else 0.0
    return max(0.0, kappa), float(np.sum(weights))


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
