"""`qa-audit score` as a person runs it: good runs, bad input, and what comes out."""

import json
from pathlib import Path

import pytest
from conftest import SHARED, call

from qa_audit.cli.main import main

DEVCALLS = Path(__file__).parent / "data" / "devcalls"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def good_call(tmp_path: Path, name: str = "20261110_082210_301_repair_001.json") -> Path:
    t = call(("a", "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？"),
             ("c", "我家暖气不热。"), ("a", "好的，再见。"), call_id=Path(name).stem)
    return write(tmp_path / name, t.model_dump_json())


def test_results_follow_the_contract(tmp_path: Path, capsys) -> None:
    out = tmp_path / "results.jsonl"
    rc = main(["score", str(good_call(tmp_path)), "--out", str(out)])
    assert rc == 0
    [line] = out.read_text(encoding="utf-8").splitlines()
    result = json.loads(line)
    assert result["call_id"] == "20261110_082210_301_repair_001"
    assert result["agent_id"] == "301" and result["call_type"] == "repair"
    assert result["form"] == "repair"
    assert {"score", "max_score", "items", "findings"} <= result.keys()
    closing = next(i for i in result["items"] if i["id"] == "closing")
    assert closing["status"] == "fail" and closing["evidence"][0]["text"] == "好的，再见。"
    assert {"id", "status", "points", "max_points", "evidence", "reason"} <= closing.keys()
    shown = capsys.readouterr().out
    assert "20261110_082210_301_repair_001" in shown and "closing" in shown


def test_json_lines_on_stdout(tmp_path: Path, capsys) -> None:
    assert main(["score", str(good_call(tmp_path)), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[0])["call_id"] == "20261110_082210_301_repair_001"


@pytest.mark.parametrize(("content", "expected"), [
    ('{"call_id": "x", "utterances": [', "malformed JSON at line 1"),
    ('{"call_id": "x", "utterances": [{"role": "speaker1", "start": 0, "end": 1, "text": "喂"}]}',
     "field utterances.0.role: Input should be 'agent' or 'customer' (got 'speaker1')"),
    ('{"call_id": "x", "utterances": []}', "the call has no utterances (empty call)"),
    ('{"call_id": "x", "utterances": [{"role": "agent", "start": 5, "end": 1, "text": "喂"}]}',
     "end 1.0 is before start 5.0"),
    ('[1, 2]', "expected one JSON object"),
])
def test_a_bad_transcript_gets_one_line_and_the_batch_goes_on(tmp_path: Path, capsys, content,
                                                              expected) -> None:
    bad = write(tmp_path / "bad.json", content)
    out = tmp_path / "r.jsonl"
    rc = main(["score", str(bad), str(good_call(tmp_path)), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and str(bad) in error_lines[0] and expected in error_lines[0]
    assert "1 call(s) done" in err and "1 file(s) failed" in err
    # The good call is still scored and written.
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_missing_input(tmp_path: Path, capsys) -> None:
    rc = main(["score", str(tmp_path / "nope.json")])
    assert rc == 1
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope.json'}: no such file or folder"


def test_gbk_tickets_with_chinese_headers(tmp_path: Path, capsys) -> None:
    transcript = good_call(tmp_path)
    tickets = write(tmp_path / "工单.csv",
                    "工单号,录音编号,报修人,联系电话,住址,报修类别,维修站,机位,记载人\n"
                    "T1,20261110_082210_301_repair_001,杨帆,130-1234-5678,宏城花园11号楼2单元503,不热,宏城站,02,301\n",
                    encoding="gbk")
    out = tmp_path / "r.jsonl"
    assert main(["score", str(transcript), "--tickets", str(tickets), "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["ticket_id"] == "T1"
    assert next(i for i in result["items"] if i["id"] == "problem")["status"] == "pass"


@pytest.mark.skipif(not (SHARED / "devset").is_dir(), reason="needs ../shared/devset")
def test_devset_scored_with_its_dispatch_data(tmp_path: Path) -> None:
    data = SHARED / "devset" / "data"
    out = tmp_path / "r.jsonl"
    rc = main(["score", str(SHARED / "devset" / "labels"), "--calls", str(data / "calls.csv"),
               "--tickets", str(data / "tickets.csv"), "--stations", str(data / "stations.csv"),
               "--out", str(out)])
    assert rc == 0
    results = {r["call_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    codes = {cid: sorted(f["code"] for f in r["findings"]) for cid, r in results.items()}
    assert codes["20261110_110205_322_repair_204"] == ["wrong_station"]
    assert codes["20261111_140540_322_repair_210"] == ["wrong_phone"]
    assert codes["20261110_214533_309_repair_207"] == ["invalid_promise", "slow_answer"]
    assert codes["20261110_082210_301_repair_201"] == []
