"""Measure recordings as the unusable-recording check does (qa_audit/recording_check.py):
per stream its length, level (RMS and peak, dBFS) and seconds of speech the VAD hears,
and the verdict. Used to set the thresholds written in that module's docstring.

    python scripts/measure_recordings.py samples/recordings/*        # or your own recordings
    python scripts/measure_recordings.py --synthetic   # silence, white noise, hiss, hum, 0.3 s
"""

from __future__ import annotations

import argparse
import tempfile
import wave
from pathlib import Path

import numpy as np

from qa_audit.audio import load_recording
from qa_audit.recording_check import assess

RATE = 8000


def _write(path: Path, data: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def synthetic(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    t = np.arange(RATE * 30) / RATE
    return [
        _write(folder / "silence_60s.wav", np.zeros(RATE * 60)),
        _write(folder / "white_uniform_30s.wav", rng.uniform(-0.5, 0.5, RATE * 30)),
        _write(folder / "white_gauss_30s.wav", rng.normal(0, 0.3, RATE * 30)),
        _write(folder / "hiss_-50dB_30s.wav", rng.normal(0, 0.003, RATE * 30)),
        _write(folder / "hiss_-34dB_30s.wav", rng.normal(0, 0.02, RATE * 30)),
        _write(folder / "hum_50Hz_30s.wav", 0.2 * np.sin(2 * np.pi * 50 * t)
               + rng.normal(0, 0.01, t.size)),
        _write(folder / "noise_0.3s.wav", rng.normal(0, 0.1, int(RATE * 0.3))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = list(args.files) + (synthetic(Path(tmp)) if args.synthetic else [])
        for path in files:
            recording = load_recording(path)
            quality = assess(recording)
            print(f"{path.name[:44]:44} {recording.layout:9} {quality.duration:6.1f} s  "
                  f"{quality.verdict:12} {quality.reason}")
            for c in quality.channels:
                print(f"    {c.side:5} {c.role or '':8} rms {c.rms_dbfs:7.1f} dBFS  peak "
                      f"{c.peak_dbfs:7.1f} dBFS  speech {c.speech_s:5.1f} s")


if __name__ == "__main__":
    main()
