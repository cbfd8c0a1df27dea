"""Recordings -> transcripts: roles, times, text, the cache, bad files, and the CLI.

Fast tests run the real audio decoding and VAD on real speech clips with a stand-in for
the Whisper decoder; the slow ones run the real embedded model end to end.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio
from faster_whisper.transcribe import Segment, Word
from test_audio import RATE, placed, write_audio

from qa_audit import asr_model
from qa_audit.asr_model import ModelSource
from qa_audit.cli.main import main
from qa_audit.normalize import to_simplified
from qa_audit.records import Station, Transcript
from qa_audit.transcribe import (
    TranscribeOptions,
    Transcriber,
    audio_files,
    build_hotwords,
    default_transcriber,
    transcribe_many,
)

CLIPS = Path(__file__).parent / "data" / "audio"
AGENT_CLIP = CLIPS / "funasr_asr_example.opus"  # 欢迎大家来体验达摩院推出的语音识别模型
RESIDENT_CLIP = CLIPS / "paddlespeech_zh.opus"  # 我认为跑步最重要的就是给我带来了身体健康
AGENT_SPAN, RESIDENT_SPAN = (0.5, 6.1), (7.0, 12.0)
VOCABULARY = ["宏城花园", "您好，大龙供暖报修，号为您服务，请问您有什么问题？", "暖气片"]


def clip(path: Path) -> np.ndarray:
    return decode_audio(str(path), sampling_rate=RATE)  # telephone rate


def stereo_call(path: Path, *, codec: str = "pcm_alaw", swap: bool = False) -> Path:
    """Agent on the left from 0.5 s, the resident on the right from 7 s: real voices."""
    left = placed(13.0, (AGENT_SPAN[0], clip(AGENT_CLIP)))
    right = placed(13.0, (RESIDENT_SPAN[0], clip(RESIDENT_CLIP)))
    return write_audio(path, [right, left] if swap else [left, right], codec=codec)


# What the stand-in decoder "hears": traditional characters, as Whisper writes them
# without a simplified prompt.
SAID = "報修暖氣片漏水維修人員會盡快聯繫您感謝來電再見"


class FakeWhisper:
    """Stands in for faster-whisper's batched pipeline: per window one segment, with a word
    (the next character of SAID) every 0.3 s of it.

    `stops_early`: with the vocabulary prompt, it writes only the first half of a window
    (what the real model does at times); without the prompt, all of it.
    """

    name, sha256 = "fake-whisper", "fake-sha"

    def __init__(self, *, loop: str = "", stops_early: bool = False, said: str = SAID) -> None:
        self.calls: list[dict] = []
        self.loop = loop
        self.stops_early = stops_early
        self.said = said

    def transcribe(self, audio, **options):
        self.calls.append({**options, "seconds": len(audio) / 16000})
        segments = []
        for n, window in enumerate(options["clip_timestamps"]):
            start, end = window["start"], window["end"]
            if self.stops_early and options["hotwords"]:
                end = start + (end - start) / 2
            words = [Word(start=float(t), end=float(t) + 0.25, probability=0.8,
                          word=self.said[i % len(self.said)])
                     for i, t in enumerate(np.arange(start, end - 0.25, 0.3))]
            segments.append(Segment(id=n, seek=0, start=start, end=end, words=words,
                                    text="".join(w.word for w in words), tokens=[],
                                    avg_logprob=-0.2, compression_ratio=1.2,
                                    no_speech_prob=0.01, temperature=0.0))
            if self.loop == "inside":
                # Squeezed into the window's last moment, inside a long segment whose
                # compression ratio stays low.
                words += [Word(start=end - 0.2, end=end - 0.1, word="1-", probability=0.9)
                          for _ in range(40)]
            if self.loop == "segment":
                loop = [Word(start=end - 0.2, end=end - 0.1, word="请问您有什么问题",
                             probability=0.9)]
                segments.append(Segment(id=n, seek=0, start=end - 0.2, end=end, words=loop,
                                        text="请问您有什么问题" * 20, tokens=[],
                                        avg_logprob=-0.1, compression_ratio=9.0,
                                        no_speech_prob=0.5, temperature=0.0))
        return iter(segments), None


# Distinct characters that simplified-Chinese normalization leaves as they are.
WORDS = [c for c in map(chr, range(0x4E00, 0x4F00)) if to_simplified(c) == c]


class AligningWhisper(FakeWhisper):
    """Times words the way Whisper's alignment does: every word starts where the one before
    it ended, so the first word after a pause takes the pause in and ends just after the
    speech resumes. Every word is a character of its own; `stretch` tells which stretch of
    sound (between pauses of 0.3 s and more in the audio it is given) it was said in."""

    def __init__(self) -> None:
        super().__init__()
        self.stretch: dict[str, int] = {}

    def transcribe(self, audio, **options):
        self.calls.append({**options, "seconds": len(audio) / 16000})
        segments = []
        for n, window in enumerate(options["clip_timestamps"]):
            frames = audio[int(window["start"] * 16000):int(window["end"] * 16000)]
            frames = frames[: len(frames) // 160 * 160].reshape(-1, 160)
            loud = np.flatnonzero(np.sqrt(np.mean(frames ** 2, axis=1)) > 0.005)
            if not len(loud):
                continue
            breaks = np.flatnonzero(np.diff(loud) > 30)
            words, last_end = [], window["start"]
            for first, last in zip(np.r_[loud[0], loud[breaks + 1]],
                                   np.r_[loud[breaks], loud[-1]]):
                stretch = len(set(self.stretch.values()))
                begin, finish = window["start"] + first / 100, window["start"] + last / 100
                for end in np.arange(begin + 0.05, finish, 0.3):
                    word = WORDS[len(self.stretch) % len(WORDS)]
                    self.stretch[word] = stretch
                    words.append(Word(start=float(last_end), end=float(end), word=word,
                                      probability=0.9))
                    last_end = float(end)
            segments.append(Segment(id=n, seek=0, start=window["start"], end=window["end"],
                                    words=words, text="".join(w.word for w in words),
                                    tokens=[], avg_logprob=-0.2, compression_ratio=1.2,
                                    no_speech_prob=0.01, temperature=0.0))
        return iter(segments), None


def test_each_word_stays_in_the_stretch_of_speech_it_was_said_in(tmp_path):
    """Chunks of speech are glued together for the decoder; a word is put back by where it
    was said, not by where its (pause-swallowing) start puts its middle: the first word of
    a turn must not end the turn before it (方便你说解 | 决了…)."""
    second = 7.5  # the resident's second turn
    left = placed(14.0, (AGENT_SPAN[0], clip(AGENT_CLIP)))
    right = placed(14.0, (1.0, clip(RESIDENT_CLIP)), (second, clip(AGENT_CLIP)))
    path = write_audio(tmp_path / "call.wav", [left, right])
    aligning = AligningWhisper()
    resident = transcriber(aligning, tmp_path).transcribe(path).by_role("customer")
    first_turn = {aligning.stretch[c] for u in resident if u.end <= second for c in u.text}
    second_turn = {aligning.stretch[c] for u in resident if u.start >= second for c in u.text}
    assert first_turn and second_turn
    assert not first_turn & second_turn, [(u.start, u.end, u.text) for u in resident]
    # Every utterance is in one turn or the other, none reaches into the pause between.
    assert all(u.end <= second or u.start >= second for u in resident)


@pytest.fixture
def fake() -> FakeWhisper:
    return FakeWhisper()


def transcriber(fake, tmp_path, **options) -> Transcriber:
    return Transcriber(TranscribeOptions(**options), vocabulary=VOCABULARY,
                       agent_phrases=["您好，大龙供暖报修，号为您服务，请问您有什么问题？"],
                       cache_dir=tmp_path / "cache", model=fake)


def within(utterance, span, slack=0.35) -> bool:
    return span[0] - slack <= utterance.start < utterance.end <= span[1] + slack


def test_stereo_call_splits_into_agent_and_resident_at_their_times(fake, tmp_path):
    path = stereo_call(tmp_path / "20261110_082210_301_repair_201.wav")
    transcript = transcriber(fake, tmp_path).transcribe(path)
    assert transcript.call_id == "20261110_082210_301_repair_201"
    assert transcript.role_source == "channel" and transcript.role_confidence == 1.0
    agent, resident = transcript.by_role("agent"), transcript.by_role("customer")
    assert agent and resident
    assert all(within(u, AGENT_SPAN) for u in agent)
    assert all(within(u, RESIDENT_SPAN) for u in resident)
    # One utterance per stretch of speech, not one per word.
    assert len(agent) <= 3 and len(resident) <= 3
    starts = [u.start for u in transcript.utterances]
    assert starts == sorted(starts)
    # Simplified characters whatever the decoder writes; a confidence per utterance.
    text = "".join(u.text for u in transcript.utterances)
    assert "报" in text and "報" not in text and "维修" in text
    assert all(0 < u.confidence <= 1 for u in transcript.utterances)
    assert transcript.duration == pytest.approx(13.0, abs=0.05)
    # Both channels went through the decoder together, in windows it can take; 11 s of
    # speech on two channels fill one window (one encoder pass), not one per channel.
    assert len(fake.calls) == 1
    assert all(w["end"] - w["start"] <= 30 for w in fake.calls[0]["clip_timestamps"])
    assert len(fake.calls[0]["clip_timestamps"]) == 1


def test_the_agent_channel_can_be_the_right_one(fake, tmp_path):
    path = stereo_call(tmp_path / "call.wav", swap=True)
    transcript = transcriber(fake, tmp_path, agent_channel="right").transcribe(path)
    assert all(within(u, AGENT_SPAN) for u in transcript.by_role("agent"))
    assert all(within(u, RESIDENT_SPAN) for u in transcript.by_role("customer"))


def test_the_decoder_gets_chinese_the_vocabulary_and_no_chained_context(fake, tmp_path):
    transcriber(fake, tmp_path).transcribe(stereo_call(tmp_path / "call.wav"))
    options = fake.calls[0]
    assert options["language"] == "zh"
    assert options["word_timestamps"] is True
    assert "宏城花园" in options["hotwords"] and "大龙供暖报修" in options["hotwords"]
    # Full-width punctuation breaks Whisper's byte tokens in a prompt: none is passed.
    assert not set("，？！") & set(options["hotwords"])
    assert options["initial_prompt"] == TranscribeOptions().initial_prompt


def test_results_carry_their_provenance(fake, tmp_path):
    transcript = transcriber(fake, tmp_path).transcribe(stereo_call(tmp_path / "call.wav"))
    provenance = transcript.provenance
    assert provenance["model"] == {"name": "fake-whisper", "sha256": "fake-sha"}
    assert provenance["qa_audit"]
    assert provenance["options"]["beam_size"] == TranscribeOptions().beam_size
    assert provenance["layout"] == "stereo"
    assert provenance["source_audio"]["codec"] == "pcm_alaw"


def test_dual_mono_is_transcribed_once_with_inferred_roles(fake, tmp_path):
    left = placed(13.0, (AGENT_SPAN[0], clip(AGENT_CLIP)), (RESIDENT_SPAN[0], clip(RESIDENT_CLIP)))
    path = write_audio(tmp_path / "dual.wav", [left, left], codec="pcm_mulaw")
    transcript = transcriber(fake, tmp_path).transcribe(path)
    assert transcript.role_source == "inferred"
    assert 0 <= transcript.role_confidence <= 1
    assert transcript.provenance["layout"] == "dual_mono"
    # One stream's speech, not the same speech twice.
    assert fake.calls[0]["seconds"] < 12
    words_heard = sum(len(u.text) for u in transcript.utterances)
    assert words_heard < 40


def test_mono_roles_without_script_words_are_not_trusted(fake, tmp_path):
    mix = placed(13.0, (AGENT_SPAN[0], clip(AGENT_CLIP)), (RESIDENT_SPAN[0], clip(RESIDENT_CLIP)))
    path = write_audio(tmp_path / "mono.mp3", [mix], codec="libmp3lame")
    transcript = transcriber(fake, tmp_path).transcribe(path)
    assert transcript.role_source == "inferred"
    assert transcript.role_confidence < 0.8  # dependent items will be `review`
    assert any("roles" in w for w in transcript.warnings)


def test_silence_gives_an_empty_transcript_and_a_warning_never_invented_text(fake, tmp_path):
    path = write_audio(tmp_path / "silent.wav", [np.zeros(RATE * 5, np.float32)] * 2)
    transcript = transcriber(fake, tmp_path).transcribe(path)
    assert transcript.utterances == []
    assert any(w.startswith("silent") for w in transcript.warnings)
    assert fake.calls == []


def test_line_noise_without_speech_gives_an_empty_transcript_and_a_warning(fake, tmp_path):
    hiss = np.random.default_rng(0).normal(0, 0.01, RATE * 5).astype(np.float32)
    path = write_audio(tmp_path / "hiss.wav", [hiss])
    transcript = transcriber(fake, tmp_path).transcribe(path)
    assert transcript.utterances == []
    assert any("no speech" in w for w in transcript.warnings)


def test_one_stream_is_cut_where_the_other_party_takes_over_without_a_long_pause(tmp_path):
    """Mono: the resident answers 0.4 s after the agent stops, too soon for the VAD to end
    the chunk, and the decoder writes no full stop: the piece still ends there, so each
    party's words can get their own role (not 请问您的姓名马秀英 as one agent turn)."""
    answer = 5.65  # the resident's clip; its speech starts about 0.4 s after the agent's ends
    mix = placed(11.0, (AGENT_SPAN[0], clip(AGENT_CLIP)), (answer, clip(RESIDENT_CLIP)))
    path = write_audio(tmp_path / "mono.wav", [mix], codec="pcm_mulaw")
    transcript = transcriber(AligningWhisper(), tmp_path).transcribe(path)
    turn = answer + 0.25  # between the agent's last word and the resident's first
    assert any(u.end <= turn for u in transcript.utterances)
    assert any(u.start >= turn for u in transcript.utterances)
    assert not [u for u in transcript.utterances if u.start < turn < u.end]


def test_misheard_script_words_are_put_back_and_what_was_heard_is_kept(tmp_path):
    misheard = FakeWhisper(said="为修人员会景快跟您联系")
    script = ["好！维修人员会尽快跟您联系。感谢您的来电。再见！"]
    path = stereo_call(tmp_path / "call.wav")
    transcript = Transcriber(TranscribeOptions(), agent_phrases=script, model=misheard,
                             cache_dir=tmp_path / "cache").transcribe(path)
    agent = transcript.by_role("agent")
    text = "".join(u.text for u in agent)
    assert "维修人员会尽快" in text and "为修" not in text and "景快" not in text
    corrected = [u for u in agent if "尽快" in u.text]
    assert corrected and all("景快" in u.heard for u in corrected)
    # Switched off, the recognizer's words stand as written.
    raw = Transcriber(TranscribeOptions(correct_words=False), agent_phrases=script,
                      model=misheard, cache_dir=tmp_path / "cache").transcribe(path)
    assert "景快" in "".join(u.text for u in raw.by_role("agent"))
    assert not any(hasattr(u, "heard") for u in raw.utterances)


@pytest.mark.parametrize("where", ["segment", "inside"])
def test_a_decoder_loop_is_dropped(tmp_path, where):
    looping = FakeWhisper(loop=where)
    transcript = transcriber(looping, tmp_path).transcribe(stereo_call(tmp_path / "call.wav"))
    assert transcript.utterances
    text = "".join(u.text for u in transcript.utterances)
    assert "请问您有什么问题" not in text and "1-1-" not in text


def test_speech_the_decoder_skipped_is_decoded_again_without_the_prompt(tmp_path):
    skipping = FakeWhisper(stops_early=True)
    transcript = transcriber(skipping, tmp_path).transcribe(stereo_call(tmp_path / "call.wav"))
    assert len(skipping.calls) == 2
    assert skipping.calls[1]["hotwords"] is None
    # The second reading covers each party's whole turn.
    for role, span in (("agent", AGENT_SPAN), ("customer", RESIDENT_SPAN)):
        said = transcript.by_role(role)
        assert said[-1].end > span[1] - 1.0


def test_the_same_audio_is_transcribed_once(fake, tmp_path):
    path = stereo_call(tmp_path / "20261110_082210_301_repair_201.wav")
    first = transcriber(fake, tmp_path).transcribe(path)
    again = transcriber(fake, tmp_path).transcribe(path)
    assert len(fake.calls) == 1
    assert again == first
    # The cache follows the content: the same recording under another name is reused,
    # under its own call id.
    copy = tmp_path / "20261111_090000_305_repair_999.wav"
    shutil.copy(path, copy)
    renamed = transcriber(fake, tmp_path).transcribe(copy)
    assert len(fake.calls) == 1
    assert renamed.call_id == "20261111_090000_305_repair_999"
    assert renamed.utterances == first.utterances


def test_other_options_or_no_cache_transcribe_again(fake, tmp_path):
    path = stereo_call(tmp_path / "call.wav")
    transcriber(fake, tmp_path).transcribe(path)
    transcriber(fake, tmp_path, beam_size=5).transcribe(path)
    assert len(fake.calls) == 2
    transcriber(fake, tmp_path, use_cache=False).transcribe(path)
    assert len(fake.calls) == 3


def test_a_damaged_cache_entry_is_transcribed_again(fake, tmp_path):
    path = stereo_call(tmp_path / "call.wav")
    transcriber(fake, tmp_path).transcribe(path)
    for entry in (tmp_path / "cache" / "transcripts").rglob("*.json"):
        entry.write_text("{", encoding="utf-8")
    assert transcriber(fake, tmp_path).transcribe(path).utterances
    assert len(fake.calls) == 2


def test_a_batch_goes_on_past_bad_files(fake, tmp_path, capsys):
    good = stereo_call(tmp_path / "good.wav")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    empty = tmp_path / "empty.wav"
    empty.touch()
    silent = write_audio(tmp_path / "silent.wav", [np.zeros(RATE * 2, np.float32)])
    seen = []
    done, failures = transcribe_many(
        transcriber(fake, tmp_path), [corrupt, good, empty, silent, tmp_path / "gone.wav"],
        progress=False, on_done=seen.append)
    assert [t.call_id for t in done] == ["good", "silent"] == [t.call_id for t in seen]
    assert [p.name for p, _ in failures] == ["corrupt.wav", "empty.wav", "gone.wav"]
    assert "empty file" in failures[1][1]
    assert all("\n" not in message for _, message in failures)
    assert "warning: " in capsys.readouterr().err  # the silent one


def test_folders_are_searched_for_recordings(tmp_path):
    (tmp_path / "day" / "sub").mkdir(parents=True)
    for name in ("day/a.wav", "day/sub/b.MP3", "day/notes.txt", "day/c.json"):
        (tmp_path / name).touch()
    found = audio_files([tmp_path / "day", tmp_path / "single.amr"])
    assert [p.name for p in found] == ["a.wav", "b.MP3", "single.amr"]


def test_hotwords_are_clean_deduplicated_and_within_budget():
    vocabulary = ["宏城花园", "请您随时拨打XXXXXXX", "宏城花园", "您好，大龙供暖报修！"] + \
        [f"小区{i}" for i in range(200)]
    hotwords = build_hotwords(vocabulary, count_tokens=len, budget=40)
    assert hotwords.startswith("宏城花园、请您随时拨打、您好、大龙供暖报修")
    assert hotwords.count("宏城花园") == 1 and "X" not in hotwords
    assert len(hotwords) <= 40


def test_default_transcriber_knows_the_script_and_the_communities(tmp_path):
    stations = [Station(community="北关新村", station="宏城站", aliases=["北关"])]
    built = default_transcriber(stations=stations, cache_dir=tmp_path)
    assert built.vocabulary[:2] == ["北关新村", "北关"]
    assert "大龙供暖报修" in built.vocabulary
    assert any("请问您的姓名" in p for p in built.agent_phrases)


def test_transcribers_for_other_station_directories_share_one_model(fake, tmp_path):
    first = transcriber(fake, tmp_path)
    stations = [Station(community="北关新村", station="宏城站", aliases=["北关"])]
    second = default_transcriber(stations=stations, cache_dir=tmp_path / "cache",
                                 share_model_with=first)
    assert second.model is fake and second.model_source == first.model_source
    assert second.vocabulary[0] == "北关新村"
    second.transcribe(stereo_call(tmp_path / "call.wav"))
    assert "北关新村" in fake.calls[0]["hotwords"]


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def fake_model(monkeypatch, tmp_path) -> FakeWhisper:
    fake = FakeWhisper()
    monkeypatch.setenv("QA_AUDIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(asr_model, "resolve_model", lambda name, cache_dir=None: ModelSource(
        name=name, path=Path("."), sha256="fake-sha"))
    monkeypatch.setattr(asr_model, "load_model", lambda source, **kwargs: fake)
    return fake


def test_cli_writes_one_transcript_per_recording(fake_model, tmp_path, capsys):
    recordings = tmp_path / "day"
    recordings.mkdir()
    stereo_call(recordings / "20261110_082210_301_repair_201.wav")
    stereo_call(recordings / "20261110_093015_305_repair_202.wav", codec="pcm_s16le")
    out = tmp_path / "out"
    assert main(["transcribe", str(recordings), "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["20261110_082210_301_repair_201.json",
                       "20261110_093015_305_repair_202.json"]
    data = json.loads((out / written[0]).read_text(encoding="utf-8"))
    transcript = Transcript.model_validate(data)
    assert {u.role for u in transcript.utterances} == {"agent", "customer"}
    assert data["utterances"][0].keys() >= {"role", "start", "end", "text"}
    assert "2 of 2 recording(s) transcribed" in capsys.readouterr().err


def test_cli_goes_on_past_a_bad_file_and_exits_1(fake_model, tmp_path, capsys):
    recordings = tmp_path / "day"
    recordings.mkdir()
    stereo_call(recordings / "good.wav")
    (recordings / "broken.wav").write_bytes(b"not audio at all" * 100)
    out = tmp_path / "out"
    assert main(["transcribe", str(recordings), "--out", str(out)]) == 1
    assert (out / "good.json").exists()
    err = capsys.readouterr().err
    assert f"error: {recordings / 'broken.wav'}: not a readable recording" in err
    assert "1 of 2 recording(s) transcribed" in err and "1 failed" in err


def test_cli_agent_channel_and_no_cache(fake_model, tmp_path):
    path = stereo_call(tmp_path / "call.wav", swap=True)
    out = tmp_path / "out"
    assert main(["transcribe", str(path), "--out", str(out), "--agent-channel", "right"]) == 0
    transcript = Transcript.model_validate_json((out / "call.json").read_text(encoding="utf-8"))
    assert all(within(u, AGENT_SPAN) for u in transcript.by_role("agent"))
    assert main(["transcribe", str(path), "--out", str(out), "--agent-channel", "right"]) == 0
    assert len(fake_model.calls) == 1  # the second run came from the cache
    assert main(["transcribe", str(path), "--out", str(out), "--agent-channel", "right",
                 "--no-cache"]) == 0
    assert len(fake_model.calls) == 2


def test_cli_station_names_reach_the_decoder(fake_model, tmp_path):
    stations = tmp_path / "stations.csv"
    stations.write_text("community,station,aliases\n怡馨家园,怡馨站,怡馨\n", encoding="utf-8")
    path = stereo_call(tmp_path / "call.wav")
    assert main(["transcribe", str(path), "--out", str(tmp_path / "out"),
                 "--stations", str(stations)]) == 0
    assert fake_model.calls[0]["hotwords"].startswith("怡馨家园、怡馨")


def test_cli_folder_without_recordings_is_an_error(fake_model, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["transcribe", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 1
    assert "error: no recordings in" in capsys.readouterr().err


def test_cli_missing_model_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QA_AUDIT_CACHE", str(tmp_path / "cache"))
    path = stereo_call(tmp_path / "call.wav")
    code = main(["transcribe", str(path), "--out", str(tmp_path / "out"),
                 "--model", str(tmp_path / "no-model")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("error: model directory") and "does not exist" in err
    assert len(err.splitlines()) == 1


def test_cli_rejects_an_unknown_channel(tmp_path, capsys):
    assert main(["transcribe", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--agent-channel", "middle"]) == 2


def test_cli_help_names_every_option(capsys):
    assert main(["transcribe", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--out", "--model", "--agent-channel", "--stations", "--device", "--no-cache"):
        assert option in text


# -- the real model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Transcriber:
    return default_transcriber(TranscribeOptions(device="cpu"),
                               cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.mark.slow
def test_real_model_transcribes_a_stereo_telephone_call(real, tmp_path):
    path = stereo_call(tmp_path / "20261110_082210_301_repair_201.wav")
    transcript = real.transcribe(path)
    agent, resident = transcript.by_role("agent"), transcript.by_role("customer")
    assert agent and resident
    assert all(within(u, AGENT_SPAN, slack=0.6) for u in agent)
    assert all(within(u, RESIDENT_SPAN, slack=0.6) for u in resident)
    starts = [u.start for u in transcript.utterances]
    assert starts == sorted(starts)
    agent_text = "".join(u.text for u in agent)
    resident_text = "".join(u.text for u in resident)
    assert "识别" in agent_text or "模型" in agent_text
    assert "跑步" in resident_text and "健康" in resident_text
    # Simplified Chinese: OpenCC finds nothing left to convert.
    from qa_audit.normalize import to_simplified
    assert to_simplified(agent_text + resident_text) == agent_text + resident_text
    assert all(0 < u.confidence <= 1 for u in transcript.utterances)
    assert len(transcript.provenance["model"]["sha256"]) == 64


@pytest.mark.slow
def test_real_model_on_a_mono_call_infers_roles_and_doubts_them(real, tmp_path):
    mix = placed(13.0, (AGENT_SPAN[0], clip(AGENT_CLIP)), (RESIDENT_SPAN[0], clip(RESIDENT_CLIP)))
    transcript = real.transcribe(write_audio(tmp_path / "mono.mp3", [mix], codec="libmp3lame"))
    assert transcript.role_source == "inferred"
    assert transcript.role_confidence < 0.8  # no script words: a person decides
    text = "".join(u.text for u in transcript.utterances)
    # Both parties are in the text: Whisper tends to stop after the first one's turn in
    # a window (plain faster-whisper with VAD drops the second clip here entirely).
    assert "欢迎" in text and "最重要" in text


@pytest.mark.slow
def test_real_cli_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QA_AUDIT_CACHE", str(tmp_path / "cache"))
    recordings = tmp_path / "day"
    recordings.mkdir()
    stereo_call(recordings / "20261110_082210_301_repair_201.wav")
    write_audio(recordings / "20261110_093015_305_repair_202.wav",
                [np.zeros(RATE * 3, np.float32)] * 2)
    out = tmp_path / "out"
    assert main(["transcribe", str(recordings), "--out", str(out), "--device", "cpu"]) == 0
    call = Transcript.model_validate_json(
        (out / "20261110_082210_301_repair_201.json").read_text(encoding="utf-8"))
    assert {u.role for u in call.utterances} == {"agent", "customer"}
    silent = Transcript.model_validate_json(
        (out / "20261110_093015_305_repair_202.json").read_text(encoding="utf-8"))
    assert silent.utterances == []
    assert "silent" in capsys.readouterr().err


def test_the_decoder_prompt_written_back_is_no_words_of_the_call():
    """Sample 403: where the resident said her phone, Whisper wrote its own prompt
    「以下是普通话的句子。」. Such a piece is dropped (and the stretch decoded again without
    the prompt); a real sentence that shares a word with the prompt is kept."""
    from qa_audit.transcribe import TranscribeOptions, _echoes

    prompt = TranscribeOptions().initial_prompt
    assert _echoes("以下是普通话的句子。", prompt)
    assert _echoes("以下是普通话的句子", prompt) and _echoes("普通话的句子。", prompt)
    assert not _echoes("我说的是普通话。", prompt)
    assert not _echoes("一五九三三八二零六四七", prompt)
    assert not _echoes("以下是普通话的句子，我家暖气不热，客厅十六度。", prompt)
