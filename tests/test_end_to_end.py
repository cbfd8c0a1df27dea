"""The four workflows on sample recordings, with the real embedded model: a shift lead audits
the day, decides a `review` item, an agent appeals a fail and the lead accepts it, the office
tallies the month, and the agent's review page holds only that agent's calls, masked."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from qa_audit.cli.main import main
from qa_audit.store import Store

SAMPLES = Path(__file__).parent.parent / "samples"
# Two calls of agent 318 (one with a wrong station planted), one follow-up of agent 305.
CALLS = ["20261116_081205_318_repair_401", "20261120_164503_318_repair_406",
         "20261121_101015_305_followup_408"]


def _sample_day(tmp_path: Path) -> Path:
    day = tmp_path / "day"
    (day / "recordings").mkdir(parents=True)
    with open(SAMPLES / "calls.csv", encoding="utf-8") as src:
        rows = [r for r in csv.DictReader(src) if r["call_id"] in CALLS]
    for row in rows:
        shutil.copy(SAMPLES / row["recording"], day / row["recording"])
    with open(day / "calls.csv", "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for name in ("tickets.csv", "stations.csv"):
        shutil.copy(SAMPLES / name, day / name)
    return day


def _json(capsys, argv: list[str]) -> list[dict]:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _agent_row(book, agent: str) -> dict:
    rows = list(book["坐席 agents"].iter_rows(values_only=True))
    return next(dict(zip(rows[0], r)) for r in rows[1:] if str(r[0]) == agent)


@pytest.mark.slow
def test_audit_decide_appeal_tally_and_review_page(tmp_path: Path, capsys) -> None:
    day = _sample_day(tmp_path)
    db = tmp_path / "qa.sqlite"
    results = tmp_path / "results.jsonl"
    rc = main(["audit", str(day / "recordings"), "--calls", str(day / "calls.csv"),
               "--tickets", str(day / "tickets.csv"), "--stations", str(day / "stations.csv"),
               "--db", str(db), "--out", str(results)])
    assert rc == 0
    audited = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert sorted(a["call_id"] for a in audited) == CALLS
    summary = capsys.readouterr().out
    assert "318" in summary and "305" in summary

    # The shift lead works through the queue: a decided item leaves it, both verdicts kept.
    queue = _json(capsys, ["queue", "--db", str(db), "--json"])
    assert queue, "the recognizer's doubts should leave something for a person"
    first = queue[0]
    assert main(["decide", first["call_id"], first["item"], "fail", "--by", "李组长",
                 "--note", "听了录音", "--db", str(db)]) == 0
    left = _json(capsys, ["queue", "--db", str(db), "--json"])
    assert (first["call_id"], first["item"]) not in {(q["call_id"], q["item"]) for q in left}
    with Store(db) as store:
        decision = store.decisions(first["call_id"])[-1]
    assert decision.status == "fail" and decision.machine_status == "review"

    # The agent appeals a failed item; the lead accepts; the month's tally gives it back.
    failed = next((a["call_id"], i) for a in audited if a["agent_id"] == "318"
                  for i in a["items"] if i["status"] == "fail")
    call_id, item = failed
    assert main(["tally", "--month", "2026-11", "--db", str(db),
                 "--out", str(tmp_path / "before.xlsx")]) == 0
    before = _agent_row(load_workbook(tmp_path / "before.xlsx"), "318")
    assert main(["appeal", call_id, item["id"], "--reason", "我跟读了，录音里有",
                 "--db", str(db)]) == 0
    appeals = _json(capsys, ["appeals", "--open", "--db", str(db), "--json"])
    assert [(a["call_id"], a["item"]) for a in appeals] == [(call_id, item["id"])]
    assert main(["appeals", "resolve", str(appeals[0]["id"]), "accept", "--by", "李组长",
                 "--db", str(db)]) == 0
    assert main(["tally", "--month", "2026-11", "--db", str(db),
                 "--out", str(tmp_path / "after.xlsx")]) == 0
    after = _agent_row(load_workbook(tmp_path / "after.xlsx"), "318")
    assert after["抽查通话 calls audited"] == 2
    assert after["月累计扣分值 points lost"] == before["月累计扣分值 points lost"] - item["max_points"]
    assert after["申诉通过 accepted"] == 1

    # Agent 318's page: their calls only, no resident's phone number in the clear.
    page_dir = tmp_path / "page318"
    assert main(["review", "--agent", "318", "--db", str(db), "--out", str(page_dir),
                 "--audio-dir", str(day)]) == 0
    html = (page_dir / "index.html").read_text(encoding="utf-8")
    assert "20261116_081205_318_repair_401" in html
    assert "followup_408" not in html
    with open(day / "tickets.csv", encoding="utf-8") as src:
        phones = {re.sub(r"\D", "", r["caller_phone"]) for r in csv.DictReader(src)}
    assert not any(p and p in re.sub(r"[\s-]", "", html) for p in phones)
