"""Recordings with no call in them are named, never scored against the agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultkit import (BAD, DEV, STEREO_SAMPLE, bad_recordings, dead_channel_copy, hiss, own_cache,
                      real_transcripts, silent, white_noise, write_wav)  # noqa: F401
from openpyxl import load_workbook

from qa_audit.audio import load_recording
from qa_audit.cli.main import main
from qa_audit.phrasebook import load_phrasebook
from qa_audit.pipeline import DispatchData, audit_transcript
from qa_audit.recording_check import MIN_DURATION_S, MIN_SPEECH_S, assess
from qa_audit.records import RecordingQuality
from qa_audit.store import Store
from qa_audit.transcripts import read_transcript


@pytest.mark.parametrize(("make", "code", "words"), [
    (lambda: [silent(60)], "silent", "无声"),
    (lambda: [white_noise(30)], "no_speech", "只有噪声"),
    (lambda: [hiss(30)], "no_speech", "只有底噪"),
    (lambda: [white_noise(0.3, 0.1)], "too_short", "录音过短"),
    (lambda: [silent(40), silent(40)], "silent", "无声"),
    (lambda: [hiss(40, 1), white_noise(40, 0.2, 2)], "no_speech", "只有噪声"),
])
def test_recordings_without_a_call_are_unusable_with_the_measured_reason(tmp_path, make, code,
                                                                          words):
    quality = assess(load_recording(write_wav(tmp_path / "x.wav", make())))
    assert quality.verdict == "unusable" and quality.reason_code == code
    assert words in quality.reason
    RecordingQuality.model_validate_json(quality.model_dump_json())  # JSON has no -inf


@pytest.mark.parametrize("dead", [0, 1])
def test_one_dead_side_of_a_real_stereo_call_is_named_by_its_role(tmp_path, dead):
    quality = assess(load_recording(dead_channel_copy(tmp_path / "d.wav", dead)))
    assert quality.verdict == "dead_channel"
    assert quality.dead_role == ("agent" if dead == 0 else "customer")
    alive = quality.channels[1 - dead]
    assert alive.speech_s > 5 and quality.channels[dead].speech_s < MIN_SPEECH_S


def test_real_calls_are_usable(tmp_path):
    quality = assess(load_recording(STEREO_SAMPLE))
    assert quality.verdict == "ok" and quality.duration > MIN_DURATION_S
    assert min(c.speech_s for c in quality.channels) > 5


def _agent_rows(book: Path) -> dict[str, dict]:
    ws = load_workbook(book)["坐席 agents"]
    rows = list(ws.iter_rows(values_only=True))
    return {str(r[0]): dict(zip(rows[0], r)) for r in rows[1:]}


def test_a_mixed_batch_audits_the_real_calls_names_the_bad_ones_and_fines_no_one(tmp_path,
                                                                                 capsys):
    """The issue's batch: real calls with silent, noise-only, 0.3 s and hiss-only ones."""
    mixed, clean = tmp_path / "mixed", tmp_path / "clean"
    real = real_transcripts(mixed)
    real_transcripts(clean)
    bad = bad_recordings(mixed)
    out = tmp_path / "r.jsonl"
    assert main(["audit", str(mixed), "--db", str(tmp_path / "m.sqlite"), "--out",
                 str(out)]) == 1
    err = capsys.readouterr().err
    for path in bad:
        assert f"unusable: {path.stem}" in err
    assert "4 recording(s) unusable" in err and "Traceback" not in err
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(real) + len(bad)
    unusable = [r for r in lines if r["status"] == "unusable"]
    assert sorted(r["call_id"] for r in unusable) == sorted(p.stem for p in bad)
    assert all(r["items"] == [] and r["findings"] == [] for r in unusable)
    assert all(r["recording_quality"]["reason"] for r in unusable)
    with Store(tmp_path / "m.sqlite") as store:
        assert len(store.unusable_calls(agent="318")) == 4
        assert store.unusable_counts("2026-11") == {"318": 4}
    # The month's workbook: the agent of the bad ones loses nothing for them.
    assert main(["audit", str(clean), "--db", str(tmp_path / "c.sqlite")]) == 0
    for name in ("m", "c"):
        assert main(["tally", "--month", "2026-11", "--db", str(tmp_path / f"{name}.sqlite"),
                     "--out", str(tmp_path / f"{name}.xlsx")]) == 0
    mixed_rows, clean_rows = _agent_rows(tmp_path / "m.xlsx"), _agent_rows(tmp_path / "c.xlsx")
    unusable_col = "录音异常 unusable recordings"
    assert mixed_rows["318"][unusable_col] == 4 and clean_rows["318"][unusable_col] == 0
    for col in ("抽查通话 calls audited", "月累计扣分值 points lost", "罚款合计 fines total",
                "问题数 findings", "不合格项 failed items", "得分率% score rate"):
        assert mixed_rows["318"][col] == clean_rows["318"][col], col


def test_the_leads_queue_shows_the_unusable_recordings(tmp_path, capsys):
    bad_recordings(tmp_path / "day")
    db = tmp_path / "q.sqlite"
    assert main(["audit", str(tmp_path / "day"), "--db", str(db)]) == 1
    capsys.readouterr()
    assert main(["queue", "--db", str(db), "--date", "2026-11-04"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("录音异常") == len(BAD)
    assert "4 unusable recording(s)" in captured.err
    call = next(iter(BAD))[:-4]
    assert main(["decide", call, "greeting", "fail", "--by", "王班长", "--db", str(db)]) == 1
    assert "the recording is unusable" in capsys.readouterr().err


def _call(tmp_path: Path, dead_role: str):
    transcript = read_transcript(DEV / "clean" / "20261104_190240_318_repair_408.json")
    keep = "customer" if dead_role == "agent" else "agent"
    transcript = transcript.model_copy(update={
        "utterances": [u for u in transcript.utterances if u.role == keep],
        "recording_quality": RecordingQuality(
            verdict="dead_channel", reason_code="dead_channel", reason="dead", duration=50,
            speech_s=20, dead_role=dead_role)})
    return transcript


@pytest.mark.parametrize("dead_role", ["agent", "customer"])
def test_what_depends_on_a_dead_side_is_review_and_fines_nothing(tmp_path, dead_role):
    pb = load_phrasebook()
    audit = audit_transcript(_call(tmp_path, dead_role), DispatchData(), pb)
    assert audit.dead_channel and audit.status == "audited"
    assert not [i.id for i in audit.items if i.status == "fail"]
    assert not [f for f in audit.findings if f.item]
    opened = [i for i in audit.items if i.status == "review"]
    assert opened and all("录音异常" in i.reason for i in opened if "声道" in i.reason)
    assert audit.score == sum(i.points for i in audit.items)
