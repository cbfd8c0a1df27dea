"""Recordings as the call platform stores them -> 16 kHz sample arrays, one per speaker side.

Decoding goes through faster-whisper's decoder (PyAV, FFmpeg bundled), so WAV in PCM,
A-law or µ-law, MP3 and whatever else FFmpeg reads all work. Stereo recordings carry the
agent on one channel and the resident on the other; some platforms write "dual-mono"
files whose two channels carry the same mix, which must be treated as mono or every
word would be heard twice, once per role.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import av
import numpy as np
from faster_whisper import decode_audio

from qa_audit.errors import AudioError

SAMPLE_RATE = 16000  # what Whisper and the VAD expect
# Longer than any phone call: a file past this is a misplaced archive, not a recording.
MAX_DURATION_S = 3 * 3600.0
# Two channels correlating at least this much carry the same signal (dual-mono).
DUAL_MONO_CORRELATION = 0.95
# Peak below this (about -60 dBFS) is digital silence or a dead line.
SILENCE_PEAK = 1e-3
# Decoded audio this much shorter than the header promises means the file was cut off.
TRUNCATION_TOLERANCE_S = 1.0

Layout = Literal["stereo", "dual_mono", "mono"]


@dataclass(frozen=True)
class AudioInfo:
    """What the container says, before decoding anything."""

    codec: str
    sample_rate: int
    channels: int
    duration: float | None  # seconds as FFmpeg sizes the stream; None when it cannot
    # What a WAV header's data chunk promises; more than `duration` when the file is cut off.
    announced: float | None = None


@dataclass
class Recording:
    """A decoded call: one array per stream to transcribe, at SAMPLE_RATE."""

    path: Path
    info: AudioInfo
    layout: Layout
    # stereo: (left, right); dual_mono and mono: (mix,)
    streams: tuple[np.ndarray, ...]
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.streams[0]) / SAMPLE_RATE if self.streams else 0.0

    @property
    def silent(self) -> bool:
        return all(is_silent(stream) for stream in self.streams)


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes: the transcript cache's key, stable across renames."""
    try:
        with open(path, "rb") as src:
            return hashlib.file_digest(src, "sha256").hexdigest()
    except OSError as err:
        raise AudioError(f"{path}: cannot read ({err.strerror}); check the path and "
                         f"permissions") from err


def probe(path: Path) -> AudioInfo:
    """Read the container header; AudioError for anything that is not a recording."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise AudioError(f"{path}: cannot read ({err.strerror}); check the path") from err
    if size == 0:
        raise AudioError(f"{path}: empty file (0 bytes); the recording was not saved")
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream in the file; is it a recording?")
            stream = container.streams.audio[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            info = AudioInfo(codec=stream.codec_context.name, sample_rate=stream.rate or 0,
                             channels=stream.channels or 0, duration=duration)
    except av.error.FFmpegError as err:
        raise AudioError(f"{path}: not a readable recording ({_ffmpeg_reason(err)}); "
                         f"expected WAV, MP3 or another audio format FFmpeg decodes") from err
    announced = _wav_announced_duration(path, size)
    # FFmpeg sizes a cut-off WAV by what is there; the header still says what was meant.
    return AudioInfo(info.codec, info.sample_rate, info.channels, info.duration, announced)


def load_recording(path: Path, *, max_duration_s: float = MAX_DURATION_S,
                   dual_mono_correlation: float = DUAL_MONO_CORRELATION) -> Recording:
    """Decode a recording into the streams to transcribe; AudioError if it cannot be."""
    path = Path(path)
    info = probe(path)
    if info.duration is not None and info.duration > max_duration_s:
        raise AudioError(f"{path}: {info.duration / 3600:.1f} h long, over the "
                         f"{max_duration_s / 3600:.1f} h limit for one call; split the file")
    try:
        if info.channels == 2:
            left, right = decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=True)
            streams: tuple[np.ndarray, ...] = (left, right)
        else:
            # Mono, or more channels than the two sides of a call: one mix.
            streams = (decode_audio(str(path), sampling_rate=SAMPLE_RATE),)
    except (av.error.FFmpegError, ValueError) as err:
        raise AudioError(f"{path}: cannot be decoded ({_ffmpeg_reason(err)}); the file "
                         f"is damaged or not audio") from err
    decoded = len(streams[0]) / SAMPLE_RATE
    if decoded == 0:
        raise AudioError(f"{path}: no audio samples could be decoded; the file is damaged "
                         f"or cut off right after its header")
    if decoded > max_duration_s:
        raise AudioError(f"{path}: {decoded / 3600:.1f} h long, over the "
                         f"{max_duration_s / 3600:.1f} h limit for one call; split the file")
    warnings = []
    expected = max(d for d in (info.duration, info.announced, 0.0) if d is not None)
    if decoded < expected - TRUNCATION_TOLERANCE_S:
        warnings.append(f"truncated: decoded {decoded:.1f} s of the {expected:.1f} s "
                        f"the header announces; transcribed what exists")
    layout: Layout = "mono"
    if len(streams) == 2:
        if channel_correlation(*streams) >= dual_mono_correlation:
            layout = "dual_mono"
            streams = ((streams[0] + streams[1]) * np.float32(0.5),)
        else:
            layout = "stereo"
    recording = Recording(path=path, info=info, layout=layout, streams=streams,
                          warnings=warnings)
    if recording.silent:
        recording.warnings.append("silent: no signal above -60 dBFS; empty transcript")
    return recording


def channel_correlation(left: np.ndarray, right: np.ndarray) -> float:
    """Pearson correlation of the two channels; 1.0 when both are flat (nothing to split)."""
    a = left.astype(np.float64) - float(np.mean(left))
    b = right.astype(np.float64) - float(np.mean(right))
    denominator = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    if denominator < 1e-12:
        return 1.0 if float(np.dot(a, a)) < 1e-12 and float(np.dot(b, b)) < 1e-12 else 0.0
    return float(np.dot(a, b) / denominator)


def is_silent(samples: np.ndarray, peak: float = SILENCE_PEAK) -> bool:
    return samples.size == 0 or float(np.max(np.abs(samples))) < peak


def _wav_announced_duration(path: Path, size: int) -> float | None:
    """Seconds a RIFF/WAVE header's data chunk announces (None for other formats)."""
    try:
        with open(path, "rb") as src:
            head = src.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            byte_rate = 0
            while chunk := src.read(8):
                if len(chunk) < 8:
                    return None
                chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if chunk_id == b"fmt ":
                    fmt = src.read(chunk_size + chunk_size % 2)
                    byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else 0
                elif chunk_id == b"data":
                    # 0 and 0xFFFFFFFF mean "unknown / still recording" in streamed WAVs.
                    if not byte_rate or chunk_size in (0, 0xFFFFFFFF):
                        return None
                    return chunk_size / byte_rate
                else:
                    src.seek(chunk_size + chunk_size % 2, 1)
    except OSError:
        return None
    return None


def _ffmpeg_reason(err: Exception) -> str:
    # FFmpeg messages carry the file name and errno; keep the readable middle.
    reason = getattr(err, "strerror", None) or str(err)
    return str(reason).strip().splitlines()[0] if str(reason).strip() else type(err).__name__
