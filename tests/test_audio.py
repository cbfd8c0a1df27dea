"""Decoding what call platforms store: formats, channel layouts, and every kind of bad file."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from qa_audit.audio import SAMPLE_RATE, file_digest, load_recording, probe
from qa_audit.errors import AudioError

AUDIO_DATA = Path(__file__).parent / "data" / "audio"
RATE = 8000  # telephone audio


def write_audio(path: Path, channels: list[np.ndarray], *, rate: int = RATE,
                codec: str = "pcm_s16le") -> Path:
    """Write float samples (-1..1), one array per channel, with any codec PyAV encodes."""
    layout = "mono" if len(channels) == 1 else "stereo"
    samples = np.stack(channels).astype(np.float32)
    planar = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(planar, format="s16p", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def voice(seconds: float, f0: float, *, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like sound: a harmonic series with vibrato and syllable rhythm."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * 0.8 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = 0.5 * (1 - np.cos(2 * np.pi * 4 * t)) ** 2
    return (0.25 * tone * syllables / 3).astype(np.float32)


def placed(total: float, *parts: tuple[float, np.ndarray], rate: int = RATE) -> np.ndarray:
    """Silence of `total` seconds with each (start, sound) written in at its time."""
    out = np.zeros(int(total * rate), dtype=np.float32)
    for start, sound in parts:
        i = int(start * rate)
        out[i:i + len(sound)] = sound[: len(out) - i]
    return out


def _data_offset(wav: Path) -> int:
    """Where the samples start: after the header and the data chunk's id and size."""
    return wav.read_bytes().index(b"data") + 8


def two_party_call(total: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """Agent (left) speaks first, the resident (right) answers: no overlap."""
    return (placed(total, (0.5, voice(2.0, 210, seed=1))),
            placed(total, (3.2, voice(2.0, 120, seed=2))))


@pytest.mark.parametrize("codec", ["pcm_s16le", "pcm_alaw", "pcm_mulaw"])
def test_stereo_wav_of_any_telephone_codec_splits_into_agent_and_resident(tmp_path, codec):
    left, right = two_party_call()
    recording = load_recording(write_audio(tmp_path / f"{codec}.wav", [left, right], codec=codec))
    assert recording.layout == "stereo"
    assert recording.info.codec == codec and recording.info.sample_rate == RATE
    assert len(recording.streams) == 2
    assert recording.duration == pytest.approx(6.0, abs=0.05)
    first, second = recording.streams
    # Resampled to 16 kHz for Whisper, each side still silent where the other speaks.
    assert np.abs(first[: SAMPLE_RATE // 4]).max() < 0.01
    assert np.abs(first[int(0.8 * SAMPLE_RATE): int(2.2 * SAMPLE_RATE)]).max() > 0.1
    assert np.abs(second[int(0.8 * SAMPLE_RATE): int(2.2 * SAMPLE_RATE)]).max() < 0.01
    assert recording.warnings == []


def test_dual_mono_is_one_stream_not_two_parties(tmp_path):
    left, right = two_party_call()
    mix = left + right
    noise = np.random.default_rng(3).normal(0, 0.002, len(mix)).astype(np.float32)
    path = write_audio(tmp_path / "dual.wav", [mix, mix + noise], codec="pcm_alaw")
    recording = load_recording(path)
    assert recording.layout == "dual_mono"
    assert len(recording.streams) == 1


def test_mono_mp3_decodes_as_one_stream(tmp_path):
    left, right = two_party_call()
    path = write_audio(tmp_path / "call.mp3", [left + right], codec="libmp3lame")
    recording = load_recording(path)
    assert recording.layout == "mono" and recording.info.channels == 1
    assert recording.duration == pytest.approx(6.0, abs=0.15)


def test_a_committed_fixture_decodes(tmp_path):
    recording = load_recording(AUDIO_DATA / "paddlespeech_zh.opus")
    assert recording.layout == "mono"
    assert recording.duration == pytest.approx(5.0, abs=0.1)
    assert not recording.silent


def test_silent_recording_is_flagged_not_an_error(tmp_path):
    path = write_audio(tmp_path / "silent.wav", [np.zeros(RATE * 3, np.float32)] * 2)
    recording = load_recording(path)
    assert recording.silent
    assert any(w.startswith("silent") for w in recording.warnings)


def test_truncated_wav_decodes_what_exists_and_says_so(tmp_path):
    left, right = two_party_call(total=10.0)
    whole = write_audio(tmp_path / "whole.wav", [left, right])
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: _data_offset(whole) + 4 * RATE * 3])  # 3 s of s16 stereo
    recording = load_recording(cut)
    assert recording.duration == pytest.approx(3.0, abs=0.05)
    assert len(recording.warnings) == 1
    assert "truncated" in recording.warnings[0] and "10.0 s" in recording.warnings[0]


def test_truncated_mp3_decodes_what_exists_and_says_so(tmp_path):
    left, right = two_party_call(total=10.0)
    whole = write_audio(tmp_path / "whole.mp3", [left + right], codec="libmp3lame")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    recording = load_recording(cut)
    assert 3.0 < recording.duration < 7.0
    assert any("truncated" in w for w in recording.warnings)


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "empty file"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a readable recording"),
    (bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)),
     "not a readable recording"),
    ("通话记录\n".encode() * 50, "not a readable recording"),
])
def test_bad_files_give_one_clear_line(tmp_path, content, expected):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError) as err:
        load_recording(path)
    message = str(err.value)
    assert expected in message and str(path) in message
    assert "\n" not in message


def test_header_without_samples_is_an_error(tmp_path):
    left, right = two_party_call()
    whole = write_audio(tmp_path / "whole.wav", [left, right])
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(whole.read_bytes()[: _data_offset(whole)])
    with pytest.raises(AudioError, match="no audio samples"):
        load_recording(header_only)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(AudioError, match="cannot read"):
        load_recording(tmp_path / "nowhere.wav")


def test_a_recording_longer_than_any_call_is_refused_before_decoding(tmp_path):
    left, right = two_party_call()
    path = write_audio(tmp_path / "long.wav", [left, right])
    assert probe(path).duration == pytest.approx(6.0, abs=0.01)
    with pytest.raises(AudioError, match="over the .* limit"):
        load_recording(path, max_duration_s=5.0)


def test_digest_follows_content_not_name(tmp_path):
    left, right = two_party_call()
    first = write_audio(tmp_path / "a.wav", [left, right])
    copy = tmp_path / "renamed.wav"
    shutil.copy(first, copy)
    other = write_audio(tmp_path / "b.wav", [right, left])
    assert file_digest(first) == file_digest(copy)
    assert file_digest(first) != file_digest(other)
