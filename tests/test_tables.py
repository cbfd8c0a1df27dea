"""Reading exports as they really come: GBK or UTF-8 (BOM), CSV or XLSX, Chinese headers."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest

from qa_audit.errors import InputError
from qa_audit.tables import load_column_map, parse_datetime, parse_number, read_table

# The contract's columns and their Chinese headers (formats.md).
CONTRACT = {
    "calls": {"call_id": "录音编号", "recording": "录音文件", "agent_id": "工号",
              "call_type": "通话类型", "started_at": "开始时间", "ring_seconds": "振铃时长",
              "hangup_by": "挂机方", "ticket_id": "工单号"},
    "tickets": {"ticket_id": "工单号", "call_id": "录音编号", "created_at": "受理时间",
                "agent_id": "工号", "seat": "机位", "recorder": "记载人",
                "caller_name": "报修人", "caller_phone": "联系电话", "address": "住址",
                "category": "报修类别", "description": "报修内容", "station": "维修站",
                "dispatched_at": "派单时间", "repaired_at": "维修完成时间",
                "followed_up_at": "回访时间"},
    "stations": {"community": "小区", "station": "维修站", "aliases": "别名"},
}

GBK_TICKETS = ("工单号,联系电话,住址,受理时间,机位\r\n"
               "T1,013012345678,宏城花园11号楼2单元503,2026/11/10 8:22,02\r\n"
               "T2,15122223333,五里仓小区4号楼,2026-11-10T09:33:15,07\r\n")


@pytest.mark.parametrize("kind", sorted(CONTRACT))
@pytest.mark.parametrize("language", ["english", "chinese"])
def test_every_contract_header_maps_to_its_english_name(tmp_path, kind, language):
    headers = list(CONTRACT[kind]) if language == "english" else list(CONTRACT[kind].values())
    path = tmp_path / f"{kind}.csv"
    path.write_text(",".join(headers) + "\n" + ",".join("x" for _ in headers) + "\n",
                    encoding="utf-8")
    table = read_table(path, kind=kind)
    assert table.columns == list(CONTRACT[kind])


def test_gbk_csv_with_chinese_headers_keeps_leading_zeros(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_bytes(GBK_TICKETS.encode("gbk"))
    table = read_table(path, kind="tickets")
    assert table.encoding == "gb18030"
    first = table.rows[0]
    assert first.get("caller_phone") == "013012345678"
    assert first.get("seat") == "02"
    assert first.get("address") == "宏城花园11号楼2单元503"
    assert [r.number for r in table.rows] == [2, 3]


def test_a_phone_that_went_through_a_float_loses_the_dot_zero(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("工单号,联系电话,振铃\nT1,13012345678.0,5.0\n", encoding="utf-8")
    row = read_table(path, kind="tickets").rows[0]
    assert (row.get("caller_phone"), row.get("振铃")) == ("13012345678", "5.0")


def test_utf8_with_bom_header_is_recognized(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_bytes(GBK_TICKETS.encode("utf-8-sig"))
    table = read_table(path, kind="tickets")
    assert table.headers[0] == "工单号"
    assert table.rows[1].get("ticket_id") == "T2"


def test_excel_unicode_text_export_is_read(tmp_path):
    # Excel's "Unicode text" save: UTF-16 with BOM, tab-separated.
    path = tmp_path / "stations.txt"
    path.write_bytes("小区\t维修站\t别名\n北关新村\t宏城站\t北关\n".encode("utf-16"))
    table = read_table(path, kind="stations")
    assert table.rows[0].cells == {"community": "北关新村", "station": "宏城站",
                                   "aliases": "北关"}


def _write_xlsx(path, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_xlsx_numbers_and_dates_come_back_as_the_text_a_user_sees(tmp_path):
    path = tmp_path / "tickets.xlsx"
    _write_xlsx(path, [
        ["工单导出 2026-11-10"],  # a title line above the header, as exports have
        ["工单号", "联系电话", "受理时间", "振铃", "工号"],
        ["T1", 13012345678.0, datetime(2026, 11, 10, 8, 22), 5.5, 307],
        ["T2", "0531-8888888", "2026/11/10 9:01", None, "0307"],
    ])
    table = read_table(path, kind="tickets")
    assert table.encoding is None
    first, second = table.rows
    assert first.number == 3 and second.number == 4
    assert first.get("caller_phone") == "13012345678"
    assert first.get("created_at") == "2026-11-10 08:22:00"
    assert first.get("振铃") == "5.5"  # an extra column, kept under its own header
    assert first.get("agent_id") == "307"
    assert second.get("agent_id") == "0307"
    assert second.get("振铃") == ""


def test_a_workbook_saved_with_a_csv_name_is_still_read(tmp_path):
    path = tmp_path / "stations.csv"
    _write_xlsx(path, [["小区", "维修站"], ["北关新村", "宏城站"]])
    assert read_table(path, kind="stations").rows[0].get("station") == "宏城站"


def test_the_sheet_with_the_header_is_found(tmp_path):
    path = tmp_path / "stations.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["说明：本表由调度系统导出"])
    book.create_sheet("站点").append(["小区", "维修站"])
    book["站点"].append(["北关新村", "宏城站"])
    book.save(path)
    assert read_table(path, kind="stations").rows[0].get("community") == "北关新村"


def test_missing_required_column_names_file_column_and_headers_found(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("编号,电话\nT1,130\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_table(path, kind="tickets")
    message = str(err.value)
    assert str(path) in message
    assert "ticket_id" in message and "工单号" in message
    assert "headers found: 编号, 电话" in message
    assert "\n" not in message


def test_extra_columns_are_kept_and_blank_lines_keep_row_numbers(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text("小区,维修站,片区\n北关新村,宏城站,北\n\n宏城花园,宏城站,东\n",
                    encoding="utf-8")
    table = read_table(path, kind="stations")
    assert table.columns == ["community", "station", "片区"]
    assert [(r.number, r.get("片区")) for r in table.rows] == [(2, "北"), (4, "东")]


def test_short_rows_are_filled_with_empty_cells(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text("community,station,aliases\n北关新村,宏城站\n", encoding="utf-8")
    assert read_table(path, kind="stations").rows[0].get("aliases") == ""


def test_a_row_longer_than_the_header_loads_and_is_reported(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text("community,station\n北关新村,宏城站\n宏城花园,宏城站,多余\n", encoding="utf-8")
    table = read_table(path, kind="stations")
    assert [r.get("community") for r in table.rows] == ["北关新村", "宏城花园"]
    assert table.rows[1].get("column 3") == "多余"
    assert table.problems == [f"{path} row 3: 3 cells but 2 headers (a comma inside an unquoted "
                              "cell?); the cells past the header are kept as column 3..3; "
                              "check the row's values"]


def test_a_repeated_header_keeps_both_columns(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text("小区,维修站,备注,备注\n北关新村,宏城站,甲,乙\n", encoding="utf-8")
    row = read_table(path, kind="stations").rows[0]
    assert (row.get("备注"), row.get("备注 (column 4)")) == ("甲", "乙")


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"\xef\xbb\xbf  \r\n", "empty"),
    (bytes(range(256)) * 4, "binary"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
    (b"PK\x03\x04 not really a workbook", "Excel workbook"),
])
def test_unreadable_files_give_one_line(tmp_path, content, expected):
    path = tmp_path / "tickets.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_table(path, kind="tickets")
    assert expected in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.csv", kind="calls")


def test_header_only_file_has_no_rows(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("call_id,agent_id\n", encoding="utf-8")
    assert read_table(path, kind="calls").rows == []


def test_user_columns_add_and_move_spellings(tmp_path):
    user = tmp_path / "my_columns.yaml"
    user.write_text("tickets:\n  caller_phone: [手机号码]\n  station_phone: [电话]\n",
                    encoding="utf-8")
    columns = load_column_map(user)
    path = tmp_path / "tickets.csv"
    path.write_text("工单号,手机号码,电话\nT1,13012345678,0531-1234567\n", encoding="utf-8")
    row = read_table(path, kind="tickets", columns=columns).rows[0]
    assert row.get("caller_phone") == "13012345678"
    assert row.get("station_phone") == "0531-1234567"
    # Without the user's file, 电话 means the caller's phone.
    plain = read_table(path, kind="tickets").rows[0]
    assert plain.get("caller_phone") == "0531-1234567"


@pytest.mark.parametrize("text, expected", [
    ("stations: [a, b]\n", "stations must map"),
    ("trucks:\n  x: [y]\n", "unknown kind 'trucks'"),
    ("calls: {call_id: [编号], ticket_id: [编号]}\n", "given for both"),
    ("calls: [\n", "line 1: the file ends inside an open ["),
])
def test_bad_user_columns_file_is_named(tmp_path, text, expected):
    user = tmp_path / "my_columns.yaml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_column_map(user)
    assert expected in str(err.value) and str(user) in str(err.value)


def test_headers_match_across_width_case_and_units(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(" Call_ID ,振铃时长（秒）,ＡＧＥＮＴ_ＩＤ\nc1,5,307\n", encoding="utf-8")
    assert read_table(path, kind="calls").columns == ["call_id", "ring_seconds", "agent_id"]


@pytest.mark.parametrize("text, expected", [
    ("2026-11-10T08:22:10", datetime(2026, 11, 10, 8, 22, 10)),
    ("2026-11-10 08:22:10.5", datetime(2026, 11, 10, 8, 22, 10, 500000)),
    ("2026/11/10 8:22", datetime(2026, 11, 10, 8, 22)),
    ("2026/11/10 08:22:10", datetime(2026, 11, 10, 8, 22, 10)),
    ("2026.11.10", datetime(2026, 11, 10)),
    ("2026年11月10日 8时22分", datetime(2026, 11, 10, 8, 22)),
    ("20261110 082210", datetime(2026, 11, 10, 8, 22, 10)),
    ("46336.5", datetime(2026, 11, 10, 12, 0)),  # an Excel serial date
    ("  ", None),
])
def test_parse_datetime(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["2026-13-40", "昨天", "2026", "10/11/2026 8:00"])
def test_parse_datetime_rejects_with_the_value(text):
    with pytest.raises(ValueError, match="cannot read"):
        parse_datetime(text)


@pytest.mark.parametrize("text, expected", [
    ("12", 12.0), ("12.5", 12.5), ("12秒", 12.0), ("0:00:12", 12.0), ("1:05", 65.0), ("", None),
])
def test_parse_number(text, expected):
    assert parse_number(text) == expected


def test_missing_column_message_shows_the_header_below_a_title(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text("维修站点一览\n名称,维修站\n北关新村,宏城站\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing column community .*found: 名称, 维修站;"):
        read_table(path, kind="stations")


def test_csv_title_line_and_a_cell_over_two_lines_keep_excel_row_numbers(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_bytes(("工单导出（2026-11-10）\r\n工单号,报修内容,维修站\r\n"
                      'T1,"客厅暖气片\r\n阀门滴水",宏城站\r\nT2,不热,五里仓站\r\n').encode("gbk"))
    table = read_table(path, kind="tickets")
    assert [(r.number, r.get("ticket_id")) for r in table.rows] == [(3, "T1"), (4, "T2")]
    assert table.rows[0].get("description") == "客厅暖气片\r\n阀门滴水"
    assert table.problems == []
