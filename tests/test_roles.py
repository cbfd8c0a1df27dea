"""Telling the agent from the resident on a one-stream recording, and knowing how sure."""

from __future__ import annotations

import numpy as np
import pytest

from qa_audit.roles import Turn, agent_cue, assign_roles, frame_features, word_cues

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


# Vowels as formant sets (Hz): a turn's sound moves through them, as speech does.
VOWELS = [(800, 1200, 2500), (300, 2300, 3000), (350, 800, 2300), (500, 1800, 2600)]


def shifted_voice(seconds: float, shift: float, seed: int, noise: float = 0.003) -> np.ndarray:
    """A voice with formants, its pitch and formants scaled by `shift` (what resampling a
    recording does), through a noisy line: two such voices differ only by that shift."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    pitch = 210.0 * shift * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    # The vowel changes every 120 ms: each harmonic's loudness follows the formants.
    vowel = np.array(VOWELS)[rng.integers(len(VOWELS), size=n // int(0.12 * RATE) + 1)]
    formants = vowel[np.arange(n) // int(0.12 * RATE)] * shift  # (n, 3)
    out = np.zeros(n)
    for k in range(1, 18):
        distance = (k * pitch[:, None] - formants) / (0.12 * formants)
        out += np.sin(k * phase) * np.sum(1.0 / (1.0 + distance ** 2), axis=1)
    envelope = 0.5 * (1 - np.cos(2 * np.pi * rng.uniform(3, 5) * t))
    out = 0.3 * out * envelope / max(np.abs(out).max(), 1e-9)
    return (out + noise * rng.standard_normal(n)).astype(np.float32)


def shifted_call(script, semitones: float, gaps=None, noise: float = 0.01):
    """One stream: the agent's voice, and the resident's, the same voice shifted."""
    shift = {"agent": 1.0, "customer": 2.0 ** (semitones / 12.0)}
    rng = np.random.default_rng(11)
    parts, turns, t = [np.zeros(int(0.3 * RATE), np.float32)], [], 0.3
    for n, (role, text) in enumerate(script):
        seconds = max(0.3, 0.22 * len(text))
        gap = gaps[n] if gaps is not None else 0.5
        parts += [shifted_voice(seconds, shift[role], seed=n, noise=noise),
                  noise * rng.standard_normal(int(gap * RATE)).astype(np.float32)]
        turns.append(Turn(start=t, end=t + seconds, text=text))
        t += seconds + gap
    return np.concatenate(parts), turns


def test_a_pitch_shifted_voice_is_told_apart_from_the_one_it_was_made_from():
    # A semitone: a little more than the pitch of one sentence moves about.
    samples, turns = shifted_call(CALL, semitones=-1.0)
    result = assign_roles(turns, samples, AGENT_PHRASES)
    assert result.roles == [role for role, _ in CALL]
    assert result.confidence >= 0.8


# The resident goes on after a short pause, with words that say nothing of who speaks;
# a name said by the resident and repeated by the agent; a short 好 of the agent's.
GOES_ON = [
    ("agent", "您好，大龙供暖报修，三零九号为您服务，请问您有什么问题？"),
    ("customer", "你好，我家暖气不太热，"),
    ("customer", "晚上冻得睡不着"),
    ("agent", "暖气不热。屋里大概多少度？"),
    ("customer", "也就十八度吧，白天还好点"),
    ("agent", "请问您的具体地址？"),
    ("customer", "裕龙小区十五号楼一单元五零二"),
    ("agent", "裕龙小区十五号楼一单元五零二。"),
    ("agent", "请问您的姓名？"),
    ("customer", "陈淑芬"),
    ("agent", "陈淑芬。"),
    ("agent", "请留一下联系电话？"),
    ("customer", "一八九三五七二六六零八"),
    ("agent", "一八九三五七二六六零八。"),
    ("agent", "好"),
    ("agent", "维修人员会尽快跟您联系。感谢您的来电。"),
]


def test_a_resident_going_on_after_a_short_pause_keeps_the_turn():
    gaps = [0.4 if after == before else 0.7
            for (before, _), (after, _) in zip(GOES_ON, [*GOES_ON[1:], ("agent", "")])]
    samples, turns = shifted_call(GOES_ON, semitones=-0.5, gaps=gaps)
    result = assign_roles(turns, samples, AGENT_PHRASES)
    assert result.roles == [role for role, _ in GOES_ON]
    assert result.confidence >= 0.8


def test_a_short_piece_still_has_a_voice():
    # 好 or 对 (a third of a second) is heard, if only weakly.
    frames = frame_features(shifted_voice(0.3, 1.0, seed=1), 0, 0.3, RATE)
    assert frames is not None and len(frames) >= 10
    assert frame_features(shifted_voice(0.05, 1.0, seed=1), 0, 0.05, RATE) is None


def test_the_same_voice_for_both_parties_is_not_taken_for_two():
    samples, turns = shifted_call(CALL, semitones=0.0)
    result = assign_roles(turns, samples, AGENT_PHRASES)
    assert result.confidence < 0.8 and result.note
