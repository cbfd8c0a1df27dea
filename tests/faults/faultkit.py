"""Faulty inputs made on the spot: recordings with no call in them, a stereo call with one
dead side, broken stores and phrasebooks."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "tests" / "data" / "devcalls"
SAMPLES = REPO / "samples"
RATE = 8000


def write_wav(path: Path, channels: list[np.ndarray], rate: int = RATE) -> Path:
    """16-bit PCM, one array per channel (floats in -1..1)."""
    data = np.stack([np.clip(c, -1, 1) for c in channels], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((data * 32767).astype("<i2").tobytes())
    return path


def silent(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds))


def white_noise(seconds: float, level: float = 0.3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, level, int(RATE * seconds))


def hiss(seconds: float, seed: int = 1) -> np.ndarray:
    return white_noise(seconds, level=0.003, seed=seed)  # about -50 dBFS


def read_wav(path: Path) -> tuple[list[np.ndarray], int]:
    with wave.open(str(path), "rb") as src:
        rate, count = src.getframerate(), src.getnchannels()
        frames = np.frombuffer(src.readframes(src.getnframes()), "<i2").astype(np.float64)
    return [frames[i::count] / 32767 for i in range(count)], rate


# A stereo sample call of agent 305 (left: agent, right: resident).
STEREO_SAMPLE = SAMPLES / "recordings" / "20261117_100512_305_repair_403.wav"


def dead_channel_copy(path: Path, dead: int) -> Path:
    """The stereo sample (A-law) with one side zeroed, as a dead line records it."""
    from qa_audit.audio import SAMPLE_RATE, load_recording

    channels = list(load_recording(STEREO_SAMPLE).streams)
    channels[dead] = np.zeros_like(channels[dead])
    return write_wav(path, channels, SAMPLE_RATE)


# Bad recordings for agent 318 on days where 318 has real calls in the devcalls set.
BAD = {
    "20261104_090000_318_repair_901.wav": lambda: [silent(60)],
    "20261104_091000_318_repair_902.wav": lambda: [white_noise(30)],
    "20261104_092000_318_repair_903.wav": lambda: [silent(0.3) + white_noise(0.3, 0.1)],
    "20261104_093000_318_repair_904.wav": lambda: [hiss(30)],
}


def bad_recordings(folder: Path) -> list[Path]:
    return [write_wav(folder / name, make()) for name, make in BAD.items()]


def real_transcripts(folder: Path, agents: tuple[str, ...] = ("318", "326")) -> list[Path]:
    """The devcalls transcripts of some agents (the audit takes transcripts and recordings
    side by side)."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for src in sorted((DEV / "clean").glob("*.json")):
        if src.stem.split("_")[2] in agents:
            copied.append(Path(shutil.copy(src, folder / src.name)))
    return copied


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    # Measurements and transcripts go to the test's own cache, never the user's.
    monkeypatch.setenv("QA_AUDIT_CACHE", str(tmp_path / "cache"))
