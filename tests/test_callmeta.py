"""Call facts from file names and calls.csv."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import DEVSET_DATA, needs_devset

from qa_audit.callmeta import (
    DEFAULT_PATTERN,
    filename_problem,
    load_calls,
    meta_from_filename,
    require_pattern,
    resolve_meta,
)
from qa_audit.errors import InputError

DEVSET_CALLS = DEVSET_DATA / "calls.csv"


@pytest.mark.parametrize("name", [
    "20261110_082210_301_repair_201.wav",
    "20261110_082210_301_repair_201.mp3",
    "20261110_082210_301_repair_201.json",
    "20261110_082210_301_repair_201",
    "recordings/2026-11/20261110_082210_301_repair_201.WAV",
])
def test_default_pattern_reads_the_name_whatever_the_ending(name):
    meta = meta_from_filename(name)
    assert meta.call_id == "20261110_082210_301_repair_201"
    assert meta.agent_id == "301"
    assert meta.call_type == "repair"
    assert meta.started_at == datetime(2026, 11, 10, 8, 22, 10)
    assert meta.seq == "201"
    assert filename_problem(name) is None


@pytest.mark.parametrize("word, call_type", [("报修", "repair"), ("回访", "followup"),
                                             ("followup", "followup"), ("Repair", "repair")])
def test_call_type_in_either_language(word, call_type):
    assert meta_from_filename(f"20261111_100012_301_{word}_208.wav").call_type == call_type


@pytest.mark.parametrize("name, reason", [
    ("录音001.wav", "does not fit the file-name pattern"),
    ("20261111_100012_301_visit_208.wav", "call type 'visit' is not one of"),
    ("20261311_100012_301_repair_208.wav", "is not a date-time"),
])
def test_a_name_that_does_not_fit_gives_just_the_call_id_and_a_reason(name, reason):
    meta = meta_from_filename(name)
    assert meta.call_id == Path(name).stem
    assert (meta.agent_id, meta.call_type, meta.started_at) == (None, None, None)
    assert reason in filename_problem(name)


def test_custom_pattern():
    pattern = "{agent_id}-{day:%Y%m%d}-{clock:%H%M}-{call_type}.mp3"
    meta = meta_from_filename("307-20261110-0822-回访.wav", pattern)
    assert (meta.agent_id, meta.call_type) == ("307", "followup")
    assert meta.started_at == datetime(2026, 11, 10, 8, 22)


def test_a_bad_pattern_is_an_input_error():
    assert require_pattern(DEFAULT_PATTERN) == DEFAULT_PATTERN
    with pytest.raises(InputError, match="repeated field"):
        require_pattern("{agent_id}_{agent_id}.wav")


@needs_devset
def test_devset_calls_all_load():
    calls = load_calls(DEVSET_CALLS)
    assert len(calls) == 10 and calls.problems == []
    slow = calls["20261110_214533_309_repair_207"]
    assert slow.ring_seconds == 40 and slow.hangup_by == "customer"
    followup = calls["20261111_100012_301_followup_208"]
    assert followup.ticket_id == "T1110201" and followup.call_type == "followup"
    # formats.md: the recording path is relative to the CSV's folder.
    assert Path(followup.recording).is_file()


CHINESE_CALLS = (
    "录音编号,录音文件,工号,通话类型,开始时间,振铃时长,挂机方,工单号\n"
    "c1,a/c1.wav,307,报修,2026/11/10 08:22:10,12秒,坐席,\n"
    "c2,a/c2.wav,307,回访,46336.5,0,用户,T9\n"
    "c3,a/c3.wav,308,repair,2026-11-10 25:00,x,话务员,\n"
    ",a/c4.wav,309,repair,2026-11-10 10:00,3,customer,\n"
    "c1,a/c1b.wav,310,repair,2026-11-10 11:00,3,customer,\n"
    "c5,a/c5.wav,311,咨询,2026-11-10 12:00,3,对方,\n"
)


def test_chinese_values_and_bad_rows_in_a_gbk_calls_file(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(CHINESE_CALLS.encode("gbk"))
    calls = load_calls(path)
    assert sorted(calls) == ["c1", "c2", "c3", "c5"]
    c1, c2, c3 = calls["c1"], calls["c2"], calls["c3"]
    assert (c1.call_type, c1.hangup_by, c1.ring_seconds) == ("repair", "agent", 12)
    assert c1.started_at == datetime(2026, 11, 10, 8, 22, 10)
    assert c1.recording == str(tmp_path / "a" / "c1.wav")  # the first of the two c1 rows
    assert (c2.call_type, c2.hangup_by, c2.ticket_id) == ("followup", "customer", "T9")
    assert c2.started_at == datetime(2026, 11, 10, 12, 0)
    # A bad cell is left empty; the rest of the row still loads.
    assert (c3.started_at, c3.ring_seconds, c3.hangup_by) == (None, None, "agent")
    problems = "\n".join(calls.problems)
    assert f"{path} row 4, column started_at (开始时间)" in problems
    assert "row 4, column ring_seconds (振铃时长)" in problems
    assert "row 5, column call_id (录音编号): empty; row skipped" in problems
    assert "row 6, column call_id (录音编号): c1 repeats row 2" in problems
    assert "row 7, column call_type (通话类型): '咨询' is not one of" in problems
    assert "row 7, column hangup_by (挂机方): '对方'" in problems
    assert len(calls.problems) == 6


def test_calls_from_xlsx_with_excel_dates(tmp_path):
    path = tmp_path / "calls.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["录音编号", "工号", "开始时间", "振铃时长"])
    book.active.append(["c1", 307, datetime(2026, 11, 10, 8, 22, 10), 20])
    book.save(path)
    meta = load_calls(path)["c1"]
    assert (meta.agent_id, meta.ring_seconds) == ("307", 20)
    assert meta.started_at == datetime(2026, 11, 10, 8, 22, 10)


def test_calls_csv_wins_and_the_name_fills_gaps(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("call_id,agent_id,ring_seconds,hangup_by\n"
                    "20261110_082210_301_repair_201,399,20,agent\n", encoding="utf-8")
    meta = resolve_meta("20261110_082210_301_repair_201.json", load_calls(path))
    assert meta.agent_id == "399"  # calls.csv over the name
    assert (meta.ring_seconds, meta.hangup_by) == (20, "agent")
    assert meta.call_type == "repair"  # from the name
    assert meta.started_at == datetime(2026, 11, 10, 8, 22, 10)


def test_resolve_meta_without_calls_or_row_uses_the_name(tmp_path):
    assert resolve_meta("20261110_082210_301_repair_201").agent_id == "301"
    path = tmp_path / "calls.csv"
    path.write_text("call_id,agent_id\nother,1\n", encoding="utf-8")
    assert resolve_meta("20261110_082210_301_repair_201", load_calls(path)).agent_id == "301"


def test_a_call_found_by_its_recording_when_ids_differ(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("call_id,recording,ring_seconds\n"
                    "C0001,audio/20261110_082210_301_repair_201.wav,30\n", encoding="utf-8")
    meta = resolve_meta("20261110_082210_301_repair_201", load_calls(path))
    assert (meta.call_id, meta.ring_seconds, meta.agent_id) == ("C0001", 30, "301")


def test_calls_file_without_call_id_column(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("工号,开始时间\n307,2026-11-10\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column call_id"):
        load_calls(path)
