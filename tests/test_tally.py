"""The monthly tally, written as a real workbook (read back with openpyxl) and as CSVs."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers_audits import RESIDENTS, november, repair_call
from openpyxl import load_workbook
from openpyxl.chart import BarChart

from qa_audit.cli.main import main
from qa_audit.phrasebook import load_phrasebook
from qa_audit.records import CallMeta, Station
from qa_audit.store import Store
from qa_audit.tally import build_tally, write_tally


@pytest.fixture()
def db(tmp_path):
    calls = november()
    path = tmp_path / "results.sqlite"
    with Store(path) as store:
        for call in calls:
            store.save_audit(call.audit, transcript=call.transcript, meta=call.meta)
        store.save_tickets(c.ticket for c in calls if c.ticket)
        # A call from another month must not be counted.
        october = repair_call(99, "307", datetime(2026, 10, 30, 9, 0), RESIDENTS[0],
                              findings=["wrong_station"], ticket_station="西园站")
        store.save_audit(october.audit)
        store.record_sample([CallMeta(call_id=calls[0].audit.call_id, agent_id="307",
                                      started_at=calls[0].audit.started_at),
                             CallMeta(call_id="20261110_150000_307_repair_077", agent_id="307",
                                      started_at=datetime(2026, 11, 10, 15, 0))],
                            n=2, seed=5, period="day")
    return path, calls


def _rows(ws) -> dict[str, dict[str, object]]:
    """Sheet rows keyed by their first cell, each as {header: value}."""
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    return {str(row[0]): dict(zip(header, row)) for row in values[1:]}


def _tally(path: Path, out: Path, **kw):
    with Store(path) as store:
        result = build_tally(store, "2026-11", phrasebook=load_phrasebook(), **kw)
    return result, write_tally(result, out)


def test_workbook_per_agent_figures_and_chart(db, tmp_path):
    path, calls = db
    _, written = _tally(path, tmp_path / "tally.xlsx")
    book = load_workbook(written[0])
    assert {"坐席 agents", "扣分明细 points lost", "问题 findings", "罚款明细 fines",
            "回访 follow-ups", "维修站 stations", "日报表 daily"} <= set(book.sheetnames)
    agents = _rows(book["坐席 agents"])
    assert set(agents) == {"307", "308", "311"}
    a307 = agents["307"]
    # 307: greeting under review (5), read-back of the name (1), wrong station (5),
    # wrong phone (1), follow-up opening (3).
    assert a307["抽查通话 calls audited"] == 4
    assert a307["月累计扣分值 points lost"] == 15
    assert a307["待复核项 open reviews"] == 1
    assert a307["罚款合计 fines total"] == 30 + 20
    assert a307["抽查样本 sampled"] == 2 and a307["样本已审 sampled audited"] == 1
    assert agents["308"]["月累计扣分值 points lost"] == 0

    chart = book["坐席 agents"]._charts[0]
    assert isinstance(chart, BarChart)
    assert chart.series[0].val.numRef.f == "'坐席 agents'!$E$2:$E$4"
    assert chart.series[0].cat.numRef.f == "'坐席 agents'!$A$2:$A$4" or \
        chart.series[0].cat.strRef.f == "'坐席 agents'!$A$2:$A$4"

    points = _rows(book["扣分明细 points lost"])
    assert points["307"]["选对维修站（报修） station"] == 5
    assert points["307"]["用语第一句（回访） opening"] == 3
    assert points["307"]["合计 total"] == 15


def test_repeat_rule_adds_50_after_the_third_serious_violation(db, tmp_path):
    path, _ = db
    _, written = _tally(path, tmp_path / "tally.xlsx")
    book = load_workbook(written[0])
    agent = _rows(book["坐席 agents"])["311"]
    assert agent["严重违纪 serious"] == 4
    assert agent["罚款合计 fines total"] == 4 * 10 + 50
    assert agent["累犯加罚 repeat extra"] == 50
    lines = [r for r in book["罚款明细 fines"].iter_rows(min_row=2, values_only=True)
             if r[0] == "311"]
    assert [(r[6], r[7], r[8]) for r in lines] == [(10, 0, 10)] * 3 + [(10, 50, 60)]


def test_final_verdicts_count_decisions_and_accepted_appeals(db, tmp_path):
    path, calls = db
    with Store(path) as store:
        store.decide(calls[0].audit.call_id, "greeting", "pass", by="王领班")
        appeal = store.appeal(calls[1].audit.call_id, "station", reason="北关新村归西园站")
        store.resolve_appeal(appeal.id, "accept", by="王领班", note="站点划分已调整")
        rejected = store.appeal(calls[4].audit.call_id, "wrong_phone", reason="住户说错")
        store.resolve_appeal(rejected.id, "reject", by="王领班")
    _, written = _tally(path, tmp_path / "tally.xlsx")
    agents = _rows(load_workbook(written[0])["坐席 agents"])
    a307 = agents["307"]
    assert a307["月累计扣分值 points lost"] == 15 - 5 - 5
    assert a307["待复核项 open reviews"] == 0
    assert a307["罚款合计 fines total"] == 20  # the wrong-station fine went with the appeal
    assert a307["申诉 appeals"] == 2 and a307["申诉通过 accepted"] == 1


def test_follow_up_answers_per_agent(db, tmp_path):
    path, _ = db
    result, _ = _tally(path, tmp_path / "tally.xlsx")
    followups = {r[0]: r for r in result.sheet("followups").rows}
    columns = result.sheet("followups").columns
    row = dict(zip(columns, followups["308"]))
    assert row["回访量 follow-up calls"] == 2
    assert row["已解决 resolved"] == 1 and row["未解决 not resolved"] == 1
    assert row["满意 satisfied"] == 1 and row["一般 neutral"] == 1
    assert row["维修工收费 charged"] == 1
    assert row["平均打分 avg rating"] == 7.5
    no_rating = dict(zip(columns, followups["307"]))
    assert no_rating["打分数 rated"] == 0 and no_rating["平均打分 avg rating"] is None


def test_stations_and_daily_report(db, tmp_path):
    path, calls = db
    stations = [Station(community=r.community, station=r.station) for r in RESIDENTS]
    stations.append(Station(community="金宝小区", station="金宝站"))
    result, written = _tally(path, tmp_path / "tally.xlsx", stations=stations,
                             now=datetime(2026, 12, 5))
    book = load_workbook(written[0])
    by_station = _rows(book["维修站 stations"])
    assert by_station["西园站"]["派错站 dispatch errors (sent here)"] == 1
    assert by_station["裕祥站"]["工单信息错误 ticket errors"] == 1
    # 马坡站 took 6 h; 裕祥站 never repaired: both over 4 h.
    assert by_station["马坡站"]["超时维修 overdue (>4h)"] == 1
    assert by_station["裕祥站"]["超时维修 overdue (>4h)"] == 1
    assert by_station["裕祥站"]["未完成 not finished"] == 1
    assert by_station["义宾站"]["工单 tickets"] == 4

    daily = [dict(zip(result.sheet("daily").columns, r)) for r in result.sheet("daily").rows]
    first_day = [r for r in daily if r["日期 date"] == "2026-11-10"]
    # Every station of the directory has a row, even without tickets; then a station
    # that only the tickets name (西园站, the wrong one); then the day's total.
    assert [r["维修站 station"] for r in first_day] == [
        *dict.fromkeys(s.station for s in stations), "西园站", "总计"]
    total = first_day[-1]
    assert total["报修量（今日报修） repairs"] == 3
    assert total["要求测温 temperature check"] == 1 and total["报修漏水 leak"] == 1
    assert total["咨询量 enquiries"] is None  # no enquiry data in these tickets
    day12 = next(r for r in daily
                 if r["日期 date"] == "2026-11-12" and r["维修站 station"] == "总计")
    assert day12["累计报修 month repairs"] == 5 and day12["未完成 not finished"] == 1
    bold = [row[1].font.bold for row in book["日报表 daily"].iter_rows(min_row=2)
            if row[1].value == "总计"]
    assert bold and all(bold)


def test_csv_output_is_one_file_per_sheet(db, tmp_path, capsys):
    path, _ = db
    out = tmp_path / "out" / "tally.csv"
    rc = main(["tally", "--month", "2026-11", "--db", str(path), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    files = [Path(line) for line in captured.out.splitlines()]
    assert out.with_name("tally.agents.csv") in files and out.with_name("tally.daily.csv") in files
    raw = out.with_name("tally.agents.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese headers right
    with out.with_name("tally.agents.csv").open(encoding="utf-8-sig") as handle:
        rows = {r["工号 agent"]: r for r in csv.DictReader(handle)}
    assert rows["311"]["罚款合计 fines total"] == "90"


def test_cli_tally_xlsx_with_tickets_and_stations_files(db, tmp_path, capsys):
    path, calls = db
    tickets = tmp_path / "tickets.csv"
    with tickets.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["工单号", "录音编号", "受理时间", "维修站", "报修类别", "维修完成时间"])
        for call in calls:
            if call.ticket:
                t = call.ticket
                writer.writerow([t.ticket_id, t.call_id, t.created_at.isoformat(), t.station,
                                 t.category, t.repaired_at.isoformat() if t.repaired_at else ""])
        writer.writerow(["T-ASK", "", "2026-11-10T12:00:00", "宏城站", "咨询", ""])
    stations = tmp_path / "stations.csv"
    stations.write_text("community,station,aliases\n宏城花园,宏城站,宏城\n金宝小区,金宝站,\n",
                        encoding="utf-8")
    out = tmp_path / "tally.xlsx"
    rc = main(["tally", "--month", "2026-11", "--db", str(path), "--out", str(out),
               "--tickets", str(tickets), "--stations", str(stations)])
    assert rc == 0, capsys.readouterr().err
    daily = list(load_workbook(out)["日报表 daily"].iter_rows(values_only=True))
    header = daily[0]
    rows = [dict(zip(header, r)) for r in daily[1:]]
    first_day = [r for r in rows if r["日期 date"] == "2026-11-10"]
    hongcheng = next(r for r in first_day if r["维修站 station"] == "宏城站")
    assert hongcheng["咨询量 enquiries"] == 1 and hongcheng["报修量（今日报修） repairs"] == 1
    assert [r["维修站 station"] for r in first_day][:2] == ["宏城站", "金宝站"]


@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2026-13"], "not YYYY-MM"),
    (["--month", "11/2026"], "not YYYY-MM"),
    (["--month", "2026-12"], "no audits for 2026-12"),
    (["--month", "2026-11", "--out", "{tmp}/tally.pdf"], "must end in .xlsx"),
])
def test_cli_tally_bad_input(db, tmp_path, capsys, args, message):
    path, _ = db
    argv = [a.format(tmp=tmp_path) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "t.xlsx")]
    rc = main(["tally", "--db", str(path), *argv])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith("error: ") and message in err and "\n" not in err


def test_month_with_audits_listed_when_asked_for_an_empty_one(db, tmp_path, capsys):
    path, _ = db
    rc = main(["tally", "--db", str(path), "--month", "2027-01", "--out", str(tmp_path / "t.xlsx")])
    assert rc == 1
    assert "months with audits: 2026-10, 2026-11" in capsys.readouterr().err


def test_overdue_counts_only_after_four_hours(tmp_path):
    start = datetime(2026, 11, 20, 8, 0)
    calls = [repair_call(k, "301", start, RESIDENTS[0], repaired_after=after)
             for k, after in enumerate([timedelta(hours=3), timedelta(hours=4, minutes=30)])]
    with Store(tmp_path / "o.sqlite") as store:
        for call in calls:
            store.save_audit(call.audit)
        store.save_tickets(c.ticket for c in calls)
        result = build_tally(store, "2026-11")
    station = dict(zip(result.sheet("stations").columns, result.sheet("stations").rows[0]))
    # Intake to repair: 3 h 8 min and 4 h 38 min (the ticket is created 3 min into the call).
    assert station["超时维修 overdue (>4h)"] == 1


def test_a_rating_the_recognizer_did_not_make_out_is_counted_as_unheard_not_as_none(db, tmp_path):
    """A follow-up whose rating was asked but not made out (六分吧 heard as 分吧) shows in
    the month's figures as 未听清, in the SQL tally and in the reference alike."""
    from qa_audit.tally import build_tally_from_audits

    path, calls = db
    followup = next(c.audit for c in calls if c.audit.call_type == "followup"
                    and c.audit.agent_id == "308")
    unheard = followup.model_copy(update={
        "call_id": followup.call_id.replace("followup", "followup") + "_2",
        "answers": {k: v for k, v in followup.answers.items() if k != "rating"},
        "unheard": ["rating"]})
    with Store(path) as store:
        store.save_audit(unheard)
        reference = build_tally_from_audits(store, "2026-11")
    result, _ = _tally(path, tmp_path / "tally.xlsx")
    for tally in (result, reference):
        sheet = tally.sheet("followups")
        row = dict(zip(sheet.columns, next(r for r in sheet.rows if r[0] == "308")))
        assert row["打分未听清 rating unheard"] == 1
        assert row["打分数 rated"] == 2 and row["回访量 follow-up calls"] == 3
