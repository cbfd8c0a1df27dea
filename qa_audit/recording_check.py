"""Is there a call in this recording? Measured before anything is transcribed.

An empty recording is the recording system's fault, not the agent's (seed 004:
领班可根据情况删除空录音): a silent file, a file of line noise or hiss, a clip too short to
hold a greeting, must never be scored against the agent. Each stream is measured for its
length, its level and how much speech Silero's VAD (the one transcription uses) finds in
it; the verdict is a `RecordingQuality` with the measured reason.

The thresholds, and the measurements behind them (`scripts/measure_recordings.py`, VAD at
threshold 0.5, 300 ms pauses, no padding; 16 kHz after decoding; docs/recordings.md):

| recordings | length | level (RMS) | speech found |
|---|---|---|---|
| real clips of read Mandarin (4, 16 kHz) | 4.3–6.0 s | −42 … −18 dBFS | 3.1–4.2 s (57–76%) |
| samples/ calls, agent side or mono (10) | 41–55 s | −25 … −22 dBFS | 17.0–43.1 s |
| samples/ calls, resident side (7 stereo) | 41–52 s | −35 … −30 dBFS | 10.1–14.4 s |
| a second synthesized set, resident side (9 stereo) | 40–55 s | −24 … −22 dBFS | 6.9–11.6 s |
| 60 s of digital silence | 60 s | −∞ (peak −∞) | 0 |
| 30 s of white noise, uniform and Gaussian | 30 s | −11 dBFS | 0 |
| 30 s of hiss (Gaussian, σ 0.003 and 0.02) | 30 s | −51, −34 dBFS | 0 |
| 30 s of 50 Hz hum with noise | 30 s | −17 dBFS | 0 |

- `MIN_DURATION_S` 2.0: the shortest real speech is 4.3 s and a greeting alone takes 4 s;
  a 0.3 s clip is a dropped call or a recorder fault whatever it holds.
- `MIN_SPEECH_S` 1.0 (per recording, and per side of a stereo call): real speech never
  had under 3.1 s, the quietest resident side 6.9 s; noise, hiss, hum and silence 0.0 s.
  Speech is what the VAD hears, so level alone decides nothing: white noise at −11 dBFS
  is louder than every call and holds no speech.
- Silence is a peak under −60 dBFS (`audio.SILENCE_PEAK`); noise under `HISS_DBFS`
  (−40 dBFS RMS, under the quietest real speech at −42 only by its lack of speech) is
  called hiss, louder is called noise — only the wording of the reason differs.
- A stereo call with one side under `MIN_SPEECH_S` and the other over it has a dead
  channel: the call is audited, and what depends on the dead side becomes `review`.
"""

from __future__ import annotations

import math

import numpy as np

from qa_audit.audio import SAMPLE_RATE, SILENCE_PEAK, Recording, is_silent
from qa_audit.records import ChannelQuality, RecordingQuality, Role

# Bump when a threshold or a measure changes, so stored measurements are taken again.
VERSION = 1
MIN_DURATION_S = 2.0
MIN_SPEECH_S = 1.0
HISS_DBFS = -40.0
# The VAD as transcription runs it, without padding (speech is counted, not cut).
_VAD_THRESHOLD = 0.5
_VAD_MIN_SILENCE_MS = 300


# Digital silence measures as this (JSON has no −∞).
FLOOR_DBFS = -120.0


def _dbfs(value: float) -> float:
    return max(FLOOR_DBFS, round(20 * math.log10(value), 1)) if value > 0 else FLOOR_DBFS


def speech_seconds(stream: np.ndarray) -> float:
    """Seconds of speech Silero's VAD finds in a 16 kHz stream."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if stream.size < SAMPLE_RATE // 10:
        return 0.0
    chunks = get_speech_timestamps(stream, VadOptions(
        threshold=_VAD_THRESHOLD, min_silence_duration_ms=_VAD_MIN_SILENCE_MS, speech_pad_ms=0),
        sampling_rate=SAMPLE_RATE)
    return round(sum(c["end"] - c["start"] for c in chunks) / SAMPLE_RATE, 2)


def measure_stream(stream: np.ndarray, side: str, role: Role | None) -> ChannelQuality:
    samples = stream.astype(np.float64)
    rms = float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    silent = is_silent(stream)
    return ChannelQuality(side=side, role=role, rms_dbfs=_dbfs(rms), peak_dbfs=_dbfs(peak),
                          speech_s=0.0 if silent else speech_seconds(stream), silent=silent)


def _what(channel: ChannelQuality) -> tuple[str, str]:
    """(English, Chinese) for a stream without speech."""
    if channel.silent:
        return f"silent (peak under {_dbfs(SILENCE_PEAK):g} dBFS)", "无声"
    if channel.rms_dbfs < HISS_DBFS:
        return f"hiss only ({channel.rms_dbfs:g} dBFS, no speech)", "只有底噪"
    return f"noise only ({channel.rms_dbfs:g} dBFS, no speech)", "只有噪声"


def assess(recording: Recording, *, agent_channel: str = "left") -> RecordingQuality:
    """Measure a decoded recording and say whether it holds a call to audit."""
    duration = round(recording.duration, 2)
    if recording.layout == "stereo":
        agent_first = agent_channel == "left"
        roles: tuple[Role, Role] = ("agent", "customer") if agent_first else ("customer", "agent")
        channels = [measure_stream(s, side, role) for s, side, role
                    in zip(recording.streams, ("left", "right"), roles)]
    else:
        channels = [measure_stream(recording.streams[0], "mix", None)]
    speech = round(sum(c.speech_s for c in channels), 2)

    def verdict(**fields: object) -> RecordingQuality:
        return RecordingQuality(duration=duration, speech_s=speech, channels=channels,
                                version=VERSION, **fields)  # type: ignore[arg-type]

    if duration < MIN_DURATION_S:
        return verdict(verdict="unusable", reason_code="too_short",
                       reason=f"录音过短 too short: {duration:g} s, a call is at least "
                              f"{MIN_DURATION_S:g} s")
    if speech < MIN_SPEECH_S:
        loudest = max(channels, key=lambda c: c.rms_dbfs)
        english, chinese = _what(loudest)
        code = "silent" if all(c.silent for c in channels) else "no_speech"
        return verdict(verdict="unusable", reason_code=code,
                       reason=f"{chinese} {english}: {speech:g} s of speech in {duration:g} s "
                              f"(a call has at least {MIN_SPEECH_S:g} s)")
    dead = [c for c in channels if c.speech_s < MIN_SPEECH_S]
    if len(channels) == 2 and len(dead) == 1:
        side = dead[0]
        english, chinese = _what(side)
        whose = "坐席" if side.role == "agent" else "住户"
        return verdict(verdict="dead_channel", reason_code="dead_channel", dead_role=side.role,
                       reason=f"{whose}声道{chinese} the {side.side} channel ({side.role}) is "
                              f"{english}: {side.speech_s:g} s of speech in {duration:g} s")
    return verdict(verdict="ok")
