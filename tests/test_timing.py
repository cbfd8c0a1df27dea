"""Timing checks: dead air, talk-over and fast speech as findings with their times, on
transcripts made from recordings; response times in each call's audit."""

from __future__ import annotations

import pytest
from conftest import REPO, meta

from qa_audit.records import Transcript, Utterance
from qa_audit.form.engine import score_call
from qa_audit.timing import response_times, timing_findings


def _recorded(*turns: tuple[str, float, float, str], role_source: str = "channel") -> Transcript:
    """A transcript as the transcriber writes it: (a|c, start, end, text)."""
    return Transcript(
        call_id="20261110_082210_301_repair_950", role_source=role_source, audio="call.wav",
        role_confidence=1.0 if role_source == "channel" else 0.9,
        utterances=[Utterance(role="agent" if who == "a" else "customer", start=start, end=end,
                              text=text, confidence=0.9) for who, start, end, text in turns])


GREETING = ("a", 0.5, 5.5, "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？")


def _codes(pb, transcript):
    return [(f.code, f.evidence[0].start) for f in timing_findings(transcript, pb)]


def test_a_long_silence_mid_call_is_dead_air_with_its_times(pb):
    t = _recorded(GREETING, ("c", 6.0, 9.0, "我家暖气不热。"), ("a", 21.5, 23.0, "您的地址是？"))
    found = timing_findings(t, pb)
    assert [f.code for f in found] == ["dead_air"]
    assert "12.5秒" in found[0].detail and "0:09.0" in found[0].detail
    assert found[0].fine_yuan == 0  # counted, not fined, unless the site sets a fine


def test_a_hold_the_agent_announced_is_not_dead_air(pb):
    t = _recorded(GREETING, ("c", 6.0, 9.0, "帮我查查工单。"), ("a", 9.5, 11.0, "好的，请稍等。"),
                  ("a", 25.0, 27.0, "让您久等了。"))
    assert _codes(pb, t) == []


def test_the_agent_starting_over_the_resident_is_talk_over_on_stereo_only(pb):
    turns = (GREETING, ("c", 6.0, 11.0, "我家暖气不热，一点都不热，摸着冰凉。"),
             ("a", 9.0, 12.5, "好的好的您别急，地址是哪里？"))
    assert _codes(pb, _recorded(*turns)) == [("talk_over", 6.0)]
    assert _codes(pb, _recorded(*turns, role_source="inferred")) == []
    short = (GREETING, ("c", 6.0, 11.0, "我家暖气不热，一点都不热。"), ("a", 10.0, 12.0, "嗯，好。"))
    assert _codes(pb, _recorded(*short)) == []  # an overlap of one second is a backchannel


def test_an_agent_run_far_faster_than_normal_is_fast_speech(pb):
    fast = ("a", 0.5, 5.0,
            "您好大龙供暖报修三零一号为您服务请问您有什么问题您好大龙供暖报修三零一号")
    assert _codes(pb, _recorded(fast, ("c", 6.0, 8.0, "暖气不热。"))) == [("fast_speech", 0.5)]
    assert _codes(pb, _recorded(GREETING, ("c", 6.0, 8.0, "暖气不热。"))) == []


def test_typed_transcripts_are_not_timed(pb):
    t = _recorded(GREETING, ("c", 6.0, 9.0, "我家暖气不热。"), ("a", 21.5, 23.0, "您的地址是？"),
                  role_source="given")
    assert timing_findings(t, pb) == []
    audit = score_call(t, meta(), pb)
    assert audit.response_times is None and "dead_air" not in {f.code for f in audit.findings}


def test_response_times_are_in_the_audit(pb):
    t = _recorded(GREETING, ("c", 6.0, 9.0, "我家暖气不热。"), ("a", 9.8, 11.0, "地址是？"),
                  ("c", 11.5, 13.0, "西辛小区。"), ("a", 15.0, 16.0, "好的。"))
    times = response_times(t)
    assert (times.count, times.median_s, times.longest_s) == (2, 1.4, 2.0)
    assert score_call(t, meta(), pb).response_times == times


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dead_air", "talk_over", "fast_speech"])
def test_faults_planted_in_a_real_recording_are_found_at_their_times(pb, tmp_path, kind):
    """Real call audio with the fault planted (padded, moved, sped up), transcribed by the
    embedded model: the finding comes at the planted time, and the untouched call has none."""
    from timing_faults import plant_dead_air, plant_fast_speech, plant_talk_over, write_wav

    from qa_audit.audio import load_recording
    from qa_audit.transcribe import default_transcriber

    source = {"dead_air": "20261116_094030_301_repair_402.wav",
              "talk_over": "20261117_100512_305_repair_403.wav",
              "fast_speech": "20261121_104022_322_followup_409.wav"}[kind]
    plant = {"dead_air": plant_dead_air, "talk_over": plant_talk_over,
             "fast_speech": plant_fast_speech}[kind]
    path = REPO / "samples" / "recordings" / source
    transcriber = default_transcriber(phrasebook=pb)
    original = transcriber.transcribe(path)
    assert timing_findings(original, pb) == []
    planted = plant(load_recording(path), original)
    found = timing_findings(transcriber.transcribe(
        write_wav(tmp_path / f"{kind}.wav", planted.streams)), pb)
    assert [f.code for f in found] == [kind]
    evidence = found[0].evidence
    assert evidence[0].start <= planted.end + 1.0 and evidence[-1].end >= planted.start - 1.0
