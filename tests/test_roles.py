"""Telling the agent from the resident on a one-stream recording, and knowing how sure."""

from __future__ import annotations

import numpy as np
import pytest

from qa_audit.roles import Turn, agent_cue, assign_roles, voice_features, word_cues

RATE = 16000
AGENT_PHRASES = [
    "您好，大龙供暖报修，号为您服务，请问您有什么问题？",
    "请问您的具体地址？", "请问您的姓名？", "请留一下联系电话？",
    "好！维修人员会尽快跟您联系。感谢您的来电。再见！",
    "其他屋", "哪个房间", "您现在方便吗",
]
# A repair intake as (role, text); the resident's lines carry no script words.
CALL = [
    ("agent", "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？"),
    ("customer", "我家暖气片漏水了"),
    ("agent", "暖气片漏水是吧，是哪个房间的？"),
    ("customer", "客厅的阀门一直往下滴"),
    ("agent", "请问您的具体地址？"),
    ("customer", "宏城花园十一号楼二单元五零三"),
    ("agent", "宏城花园十一号楼二单元五零三，对吗？"),
    ("customer", "对"),
    ("agent", "请问您的姓名？"),
    ("customer", "杨帆"),
    ("agent", "杨帆。请留一下联系电话？"),
    ("customer", "一三零一二三四五六七八"),
    ("agent", "一三零一二三四五六七八。"),
    ("agent", "好！维修人员会尽快跟您联系。感谢您的来电。再见！"),
]


def speaker(seconds: float, f0: float, brightness: float, seed: int) -> np.ndarray:
    """A voiced sound with a speaker's pitch and timbre (spectral tilt), varying a little."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = f0 * (1 + 0.04 * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    harmonics = sum(np.sin(k * phase) * k ** -brightness for k in range(1, 30))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * rng.uniform(3, 5) * t))
    return (0.2 * harmonics * envelope).astype(np.float32)


def mono_call(voices: dict[str, tuple[float, float]], script=CALL, gap: float = 0.5):
    """One stream with each line spoken by its role's voice; the turns as the VAD cuts them."""
    parts, turns, t = [], [], 0.3
    parts.append(np.zeros(int(t * RATE), np.float32))
    for n, (role, text) in enumerate(script):
        seconds = max(0.4, 0.22 * len(text))
        f0, brightness = voices[role]
        parts += [speaker(seconds, f0, brightness, seed=n), np.zeros(int(gap * RATE), np.float32)]
        turns.append(Turn(start=t, end=t + seconds, text=text))
        t += seconds + gap
    return np.concatenate(parts), turns


TWO_VOICES = {"agent": (230.0, 1.0), "customer": (120.0, 1.8)}


def test_script_words_mark_the_agent_and_home_talk_the_resident():
    assert agent_cue("您好，大龙供暖报修，三零一号为您服务，请问您有什么问题", AGENT_PHRASES) == 1.0
    assert agent_cue("请问您的姓名", AGENT_PHRASES) == 1.0
    assert agent_cue("我家暖气不热", AGENT_PHRASES) < 0
    # A word from a script sentence is not the sentence: 方便 is the resident's answer.
    assert agent_cue("方便", AGENT_PHRASES) <= 0
    # Short script words are weak: the resident says 其他屋 too.
    assert 0 < agent_cue("其他屋还行", AGENT_PHRASES) < 0.5
    assert agent_cue("", AGENT_PHRASES) == 0


def test_a_read_back_marks_the_agent_and_the_line_before_the_resident():
    cues = word_cues(["宏城花园十一号楼二单元五零三", "宏城花园十一号楼二单元五零三，对吗"], [])
    assert cues[1] > 0 > cues[0]


def test_a_short_reply_to_a_question_is_the_residents():
    cues = word_cues(["请问您的姓名？", "杨帆"], AGENT_PHRASES)
    assert cues[0] == 1.0 and cues[1] < 0


def test_pitch_is_measured():
    low = voice_features(speaker(1.5, 120, 1.5, 0), 0, 1.5, RATE)
    high = voice_features(speaker(1.5, 240, 1.5, 0), 0, 1.5, RATE)
    assert low is not None and high is not None
    assert 2 ** low[0] == pytest.approx(120, rel=0.1)
    assert 2 ** high[0] == pytest.approx(240, rel=0.1)
    # Too short to measure a voice: no features rather than a wild guess.
    assert voice_features(speaker(0.05, 120, 1.5, 0), 0, 0.05, RATE) is None


def test_two_voices_and_the_script_give_every_turn_its_role_with_confidence():
    samples, turns = mono_call(TWO_VOICES)
    result = assign_roles(turns, samples, AGENT_PHRASES)
    assert result.roles == [role for role, _ in CALL]
    assert result.method == "voices+words"
    assert result.confidence >= 0.8


def test_the_roles_do_not_depend_on_which_voice_is_higher():
    swapped = {"agent": TWO_VOICES["customer"], "customer": TWO_VOICES["agent"]}
    samples, turns = mono_call(swapped)
    result = assign_roles(turns, samples, AGENT_PHRASES)
    assert result.roles == [role for role, _ in CALL]


def test_one_voice_for_both_parties_is_never_a_confident_guess():
    samples, turns = mono_call({"agent": (180.0, 1.4), "customer": (180.0, 1.4)})
    result = assign_roles(turns, samples, AGENT_PHRASES)
    assert result.confidence < 0.8
    assert result.note  # the user is told why


def test_voices_that_contradict_the_words_lower_the_confidence():
    # The words are shuffled against the voices: agent lines spoken by either voice.
    rng = np.random.default_rng(4)
    texts = [text for _, text in CALL]
    rng.shuffle(texts)
    samples, turns = mono_call(TWO_VOICES)
    shuffled = [Turn(t.start, t.end, text) for t, text in zip(turns, texts)]
    assert assign_roles(shuffled, samples, AGENT_PHRASES).confidence < 0.8


def test_without_audio_the_words_alone_decide_and_say_so():
    turns = [Turn(float(i), i + 0.8, text) for i, (_, text) in enumerate(CALL)]
    result = assign_roles(turns, None, AGENT_PHRASES)
    assert result.method == "words"
    assert result.confidence <= 0.5
    assert result.roles[0] == "agent" and result.roles[4] == "agent"
    assert result.roles[5] == "customer"


def test_no_turns_no_roles():
    result = assign_roles([], np.zeros(RATE, np.float32), AGENT_PHRASES)
    assert result.roles == [] and result.confidence == 1.0
