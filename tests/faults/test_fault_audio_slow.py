"""The issue's batch on real recordings, with the real speech model: sample calls mixed with
silent, noise-only, 0.3 s and hiss-only recordings, and one with a dead resident line."""

from __future__ import annotations

import json
import shutil

import pytest
from faultkit import SAMPLES, dead_channel_copy, hiss, silent, white_noise, write_wav
from openpyxl import load_workbook

from qa_audit.cli.main import main

REAL = ["20261117_100512_305_repair_403.wav", "20261121_101015_305_followup_408.wav"]
BAD = {
    "20261117_110000_305_repair_971.wav": lambda: [silent(60)],
    "20261117_111000_305_repair_972.wav": lambda: [white_noise(30)],
    "20261117_112000_305_repair_973.wav": lambda: [white_noise(0.3, 0.1)],
    "20261117_113000_305_repair_974.wav": lambda: [hiss(30)],
}
DEAD = "20261117_120000_305_repair_975.wav"


def _agents(path) -> dict:
    ws = load_workbook(path)["坐席 agents"]
    rows = list(ws.iter_rows(values_only=True))
    return {str(r[0]): dict(zip(rows[0], r)) for r in rows[1:]}


@pytest.mark.slow
def test_real_calls_are_audited_bad_ones_named_and_their_agent_loses_nothing(tmp_path, capsys,
                                                                             monkeypatch):
    monkeypatch.setenv("QA_AUDIT_CACHE", str(tmp_path / "cache"))
    clean, mixed = tmp_path / "clean", tmp_path / "mixed"
    for folder in (clean, mixed):
        folder.mkdir()
        for name in REAL:
            shutil.copy(SAMPLES / "recordings" / name, folder / name)
    for name, make in BAD.items():
        write_wav(mixed / name, make())
    dead_channel_copy(mixed / DEAD, dead=1)
    assert main(["audit", str(clean), "--db", str(tmp_path / "c.sqlite")]) == 0
    capsys.readouterr()
    out = tmp_path / "m.jsonl"
    assert main(["audit", str(mixed), "--db", str(tmp_path / "m.sqlite"), "--out",
                 str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for name in BAD:
        assert f"unusable: {name[:-4]}" in err
    assert f"flagged: {DEAD[:-4]}" in err
    results = {r["call_id"]: r for r in map(json.loads, out.read_text("utf-8").splitlines())}
    for name in REAL:
        assert results[name[:-4]]["status"] == "audited" and results[name[:-4]]["items"]
    for name in BAD:
        assert results[name[:-4]]["status"] == "unusable" and not results[name[:-4]]["findings"]
    dead = results[DEAD[:-4]]
    assert dead["recording_quality"]["dead_role"] == "customer"
    assert not [i for i in dead["items"] if i["status"] == "fail" and i["id"].startswith(
        "readback")]
    for name in ("c", "m"):
        assert main(["tally", "--month", "2026-11", "--db", str(tmp_path / f"{name}.sqlite"),
                     "--out", str(tmp_path / f"{name}.xlsx")]) == 0
    c, m = _agents(tmp_path / "c.xlsx")["305"], _agents(tmp_path / "m.xlsx")["305"]
    assert m["录音异常 unusable recordings"] == 4
    # The dead-line call's own items are review (kept points), so the comparison holds for
    # fines; points lost may differ only by what the dead-line call lost on its live side.
    assert m["罚款合计 fines total"] == c["罚款合计 fines total"] + sum(
        f["fine_yuan"] for f in dead["findings"])
    assert m["月累计扣分值 points lost"] == c["月累计扣分值 points lost"] + (
        dead["max_score"] - dead["score"])
