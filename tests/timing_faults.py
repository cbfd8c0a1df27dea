"""Recordings with timing faults planted in real call audio: dead air, talk-over and fast
speech, made by moving, padding or speeding up stretches of a sample recording (never by
writing times into a transcript). Used by tests/test_timing.py and scripts/eval_timing.py.

Where to plant is read from the original recording's own transcript; what was planted, and
when, comes back with the audio so the finding's times can be checked.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from qa_audit.audio import SAMPLE_RATE, Recording
from qa_audit.records import Transcript, Utterance
from qa_audit.timing import agent_stretches


@dataclass
class Planted:
    kind: str  # dead_air | talk_over | fast_speech
    start: float  # where the fault is in the new recording (seconds)
    end: float
    streams: tuple[np.ndarray, ...]


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def _at(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))


def _middle_resident_turn(transcript: Transcript, *, min_s: float = 0.0,
                          answer_s: float = 0.0) -> tuple[Utterance, Utterance]:
    """A resident's words (at least `min_s` long) in the middle of the call followed by the
    agent's (at least `answer_s` long)."""
    spoken = sorted(transcript.utterances, key=lambda u: u.start)
    pairs = [(a, b) for a, b in zip(spoken, spoken[1:])
             if a.role == "customer" and b.role == "agent" and a.end - a.start >= min_s
             and b.end - b.start >= answer_s and b.start > a.end]
    if not pairs:
        raise ValueError(f"{transcript.call_id}: no resident turn of {min_s} s to plant at")
    return pairs[len(pairs) // 2]


def plant_dead_air(recording: Recording, transcript: Transcript,
                   seconds: float = 12.0) -> Planted:
    """Everyone silent for `seconds` after a resident's turn mid-call (the agent says nothing,
    no hold announced)."""
    resident, agent = _middle_resident_turn(transcript)
    cut = _at((resident.end + agent.start) / 2)
    streams = tuple(np.concatenate([s[:cut], _silence(seconds), s[cut:]])
                    for s in recording.streams)
    return Planted("dead_air", resident.end, agent.start + seconds, streams)


def plant_talk_over(recording: Recording, transcript: Transcript, *, agent_channel: int = 0,
                    overlap: float = 2.0) -> Planted:
    """On a stereo call, the agent's answer to a long resident turn moved to start `overlap`
    seconds before the resident finishes (an answer long enough to go on over them)."""
    if len(recording.streams) != 2:
        raise ValueError("talk-over is planted on stereo recordings")
    resident, agent = _middle_resident_turn(transcript, min_s=overlap + 0.5,
                                            answer_s=overlap + 0.4)
    streams = [s.copy() for s in recording.streams]
    lane = streams[agent_channel]
    first, last = _at(agent.start - 0.05), _at(agent.end + 0.05)
    words = lane[first:last].copy()
    lane[first:last] = 0.0
    new_start = _at(resident.end - overlap - 0.05)
    lane[new_start:new_start + len(words)] = words
    return Planted("talk_over", resident.end - overlap, resident.end, tuple(streams))


def _tempo(samples: np.ndarray, factor: float) -> np.ndarray:
    """The same words `factor` times faster at the same pitch (FFmpeg's atempo, via PyAV)."""
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="flt", sample_rate=SAMPLE_RATE, layout="mono")
    steps = []
    remaining = factor
    while remaining > 2.0:  # atempo takes at most 2x per stage
        steps.append(2.0)
        remaining /= 2.0
    steps.append(remaining)
    node = source
    for step in steps:
        stage = graph.add("atempo", f"{step}")
        node.link_to(stage)
        node = stage
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()
    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32)[None, :], format="flt",
                                       layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = 0
    graph.push(frame)
    graph.push(None)
    out = []
    while True:
        try:
            out.append(graph.pull().to_ndarray().reshape(-1))
        except (av.error.BlockingIOError, av.error.EOFError):
            break
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def plant_fast_speech(recording: Recording, transcript: Transcript, *, factor: float = 1.8,
                      min_s: float = 7.5, agent_channel: int = 0) -> Planted:
    """The agent's longest run of speech (at least `min_s` seconds) said `factor` times
    faster; the time saved becomes silence after it, so the rest of the call keeps its
    times. On one stream the resident is silent during the agent's run, and the mix is
    sped up."""
    runs = [r for r in agent_stretches(transcript) if r[-1].end - r[0].start >= min_s]
    if not runs:
        raise ValueError(f"{transcript.call_id}: no agent run of {min_s} s to speed up")
    run = max(runs, key=lambda r: r[-1].end - r[0].start)
    first, last = _at(run[0].start - 0.05), _at(run[-1].end + 0.05)
    lanes = [agent_channel] if len(recording.streams) == 2 else [0]
    streams = [s.copy() for s in recording.streams]
    for lane in lanes:
        fast = _tempo(streams[lane][first:last], factor)[: last - first]
        streams[lane][first:last] = 0.0
        streams[lane][first:first + len(fast)] = fast
    start = run[0].start
    return Planted("fast_speech", start, start + (run[-1].end - start) / factor, tuple(streams))


def write_wav(path: Path, streams: tuple[np.ndarray, ...]) -> Path:
    """16-bit PCM WAV at SAMPLE_RATE, one channel per stream."""
    length = min(len(s) for s in streams)
    data = np.stack([np.clip(s[:length], -1.0, 1.0) for s in streams], axis=1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(streams))
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((data * 32767).astype("<i2").tobytes())
    return path
