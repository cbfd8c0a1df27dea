"""Reading the dispatch system's exports (call records, tickets, station directory).

Exports come as CSV in UTF-8 (with or without BOM) or GB18030/GBK, or as XLSX, with
English or Chinese headers (formats.md). `read_table` turns any of them into rows of
text cells keyed by the contract's English column names, each row carrying the number a
user sees in Excel, so a message can point at "row 7, column 受理时间".

Every cell stays text: phone numbers keep their leading zeros and never become floats.
Parsing values (dates, numbers) is the caller's job; `parse_datetime` and
`parse_number` are here so that all readers accept the same spellings.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import charset_normalizer
import pandas as pd
import yaml

from qa_audit.errors import InputError, PhrasebookError

KINDS = ("calls", "tickets", "stations")

# The columns without which a file of that kind means nothing (formats.md).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "calls": ("call_id",),
    "tickets": ("ticket_id",),
    "stations": ("community", "station"),
}

# Exports often start with a title line ("工单导出 2026-11-10") above the header.
HEADER_SEARCH_ROWS = 10

_PACKAGED_COLUMNS = "columns.yaml"
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (OLE2)
_UNIT_SUFFIX = re.compile(r"\([^()]*\)$")  # 振铃时长(秒) -> 振铃时长
_HEADER_NOISE = re.compile(r"[\s_\-\ufeff\u200b]+")
# An id or phone that went through a float somewhere: 13012345678.0
_FLOAT_ARTIFACT = re.compile(r"^(\d{5,})\.0+$")


def header_key(header: str) -> str:
    """How headers are compared: width, case, spaces, underscores and a unit suffix ignored."""
    key = unicodedata.normalize("NFKC", str(header)).strip().casefold()
    key = _UNIT_SUFFIX.sub("", key)
    return _HEADER_NOISE.sub("", key)


@dataclass(frozen=True)
class ColumnMap:
    """Accepted header spellings per kind: kind -> English name -> spellings."""

    spellings: dict[str, dict[str, list[str]]]
    sources: tuple[str, ...] = ()

    @cached_property
    def _lookup(self) -> dict[str, dict[str, str]]:
        return {kind: {header_key(name): english
                       for english, names in columns.items() for name in [english, *names]}
                for kind, columns in self.spellings.items()}

    def english_for(self, kind: str, header: str) -> str | None:
        return self._lookup.get(kind, {}).get(header_key(header))

    def known(self, kind: str) -> list[str]:
        return list(self.spellings.get(kind, {}))


def default_columns_path() -> Path:
    """The packaged columns.yaml, beside the forms in the default phrasebook."""
    from qa_audit.phrasebook import default_dir

    return default_dir() / _PACKAGED_COLUMNS


def _spellings_from(path: Path, error: type[Exception]) -> dict[str, dict[str, list[str]]]:
    from qa_audit.phrasebook import yaml_problem

    try:
        text = path.read_text(encoding="utf-8-sig")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise error(f"{path}: cannot read the column spellings ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        raise error(yaml_problem(path, text, exc)) from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of kinds ({', '.join(KINDS)}) "
                    "to columns and their spellings")
    result: dict[str, dict[str, list[str]]] = {}
    for kind, columns in data.items():
        if kind not in KINDS:
            raise error(f"{path}: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
        if not isinstance(columns, dict):
            raise error(f"{path}: {kind} must map English column names to header spellings")
        result[kind] = {}
        for english, names in columns.items():
            if isinstance(names, str):
                names = [names]
            if not isinstance(names, list) or not all(isinstance(n, (str, int)) for n in names):
                raise error(f"{path}: {kind}.{english} must be a header name or a list of them")
            result[kind][str(english)] = [str(n) for n in names]
    return result


def _check_unambiguous(spellings: dict[str, dict[str, list[str]]], where: str,
                       error: type[Exception]) -> None:
    for kind, columns in spellings.items():
        owner: dict[str, str] = {}
        for english, names in columns.items():
            for name in [english, *names]:
                other = owner.setdefault(header_key(name), english)
                if other != english:
                    raise error(f"{where}: {kind} header {name!r} is given for both "
                                f"{other} and {english}; keep it under one")


def load_column_map(user_file: Path | None = None) -> ColumnMap:
    """The packaged spellings, plus a user's file (`--columns`) that adds or overrides some.

    A spelling in the user's file moves to the column the user names, so a site whose
    "电话" means the station's phone can point it elsewhere.
    """
    packaged = default_columns_path()
    spellings = _spellings_from(packaged, PhrasebookError)
    _check_unambiguous(spellings, str(packaged), PhrasebookError)
    sources = [str(packaged)]
    if user_file is not None:
        user = _spellings_from(Path(user_file), InputError)
        _check_unambiguous(user, str(user_file), InputError)
        for kind, columns in user.items():
            merged = spellings.setdefault(kind, {})
            for english, names in columns.items():
                moved = {header_key(n) for n in [english, *names]}
                for other in merged:
                    merged[other] = [n for n in merged[other] if header_key(n) not in moved]
                merged.setdefault(english, [])
                merged[english] = merged[english] + [n for n in names if n not in merged[english]]
        sources.append(str(user_file))
    return ColumnMap(spellings, tuple(sources))


@dataclass
class Row:
    number: int  # as a user counts it in Excel: the first line of the file is row 1
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass
class Table:
    path: Path
    kind: str
    headers: list[str]  # as found in the file
    columns: list[str]  # English names for known headers, the header itself for extras
    rows: list[Row]
    encoding: str | None = None  # None for XLSX
    header_of: dict[str, str] = field(default_factory=dict)  # English name -> header found
    problems: list[str] = field(default_factory=list)  # rows read, but not cleanly

    def where(self, row: Row, column: str) -> str:
        """'tickets.csv row 7, column created_at (受理时间)' for messages."""
        header = self.header_of.get(column, column)
        shown = column if header == column else f"{column} ({header})"
        return f"{self.path} row {row.number}, column {shown}"


# --- decoding ---------------------------------------------------------------------------

def decode_text(data: bytes, path: Path) -> tuple[str, str]:
    """The text of a CSV export and the encoding it was in.

    UTF-8 first: GBK text is almost never valid UTF-8, while UTF-8 often decodes as
    (wrong) GB18030. GB18030 covers GBK and GB2312, so one try serves all three.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:4096]:
        raise InputError(f"{path}: not a CSV or XLSX file (binary content); "
                         "export the data as CSV or XLSX")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    guess = charset_normalizer.from_bytes(data).best()
    if guess is None:
        raise InputError(f"{path}: cannot tell the text encoding; save it as UTF-8 or GBK CSV")
    return str(guess), guess.encoding


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max((",", "\t", ";"), key=first.count) if first else ","


def _csv_records(path: Path, data: bytes) -> tuple[list[list[str]], str]:
    text, encoding = decode_text(data, path)
    if not text.strip():
        raise InputError(f"{path}: the file is empty; expected a header line and rows")
    sep = _delimiter(text)
    # As many columns as the widest line could have: pandas would otherwise take the
    # first line's width, and a title line above the header would break the file.
    width = max(line.count(sep) for line in text.splitlines()) + 1
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=range(width),
                            dtype=str, na_filter=False, keep_default_na=False,
                            skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        detail = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise InputError(f"{path}: not a well-formed CSV ({detail}); a comma inside an "
                         "unquoted cell? quote that cell or export again") from exc
    records = [[_clean_text(v) for v in row] for row in frame.itertuples(index=False)]
    return [_trim(r) for r in records], encoding


def _trim(record: list[str]) -> list[str]:
    while record and not record[-1]:
        record = record[:-1]
    return record


def _clean_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip()
    match = _FLOAT_ARTIFACT.match(text)
    return match.group(1) if match else text


def excel_cell_text(value: Any) -> str:
    """An Excel cell as the text a user sees: 13012345678.0 -> '13012345678'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):  # a duration cell (e.g. ring time as 0:00:12)
        return str(value.total_seconds())
    return str(value).strip()


def _xlsx_sheets(path: Path, data: bytes) -> list[tuple[str, list[list[str]]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # From the bytes: openpyxl refuses a workbook by its name when it is called .csv.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot open it as an Excel workbook ({exc}); "
                         "save it again as .xlsx or CSV") from exc
    try:
        return [(sheet.title, [[excel_cell_text(v) for v in row]
                               for row in sheet.iter_rows(values_only=True)])
                for sheet in book.worksheets]
    finally:
        book.close()


# --- header mapping ---------------------------------------------------------------------

def _find_header(records: list[list[str]], kind: str, columns: ColumnMap) -> int | None:
    required = set(REQUIRED_COLUMNS[kind])
    for index, record in enumerate(records[:HEADER_SEARCH_ROWS]):
        found = {columns.english_for(kind, cell) for cell in record if cell}
        if required <= found:
            return index
    return None


def _missing_columns_error(path: Path, kind: str, records: list[list[str]],
                           columns: ColumnMap) -> InputError:
    # Show the line that looks most like a header (below any title line).
    candidates = [r for r in records[:HEADER_SEARCH_ROWS] if any(r)]
    first = max(candidates, default=[],
                key=lambda r: sum(columns.english_for(kind, c) is not None for c in r if c))
    found = [c for c in first if c]
    present = {columns.english_for(kind, c) for c in found}
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in present]
    spelled = "; ".join(
        f"{c} (one of: {', '.join(columns.spellings.get(kind, {}).get(c, [])[:4])})"
        for c in missing)
    return InputError(f"{path}: missing column {spelled}; headers found: "
                      f"{', '.join(found) or 'none'}; add the column or map your header "
                      "to it with --columns my_columns.yaml")


def _table_from_records(path: Path, kind: str, records: list[list[str]], columns: ColumnMap,
                        encoding: str | None) -> Table | None:
    header_index = _find_header(records, kind, columns)
    if header_index is None:
        return None
    headers = [h.replace("\ufeff", "").strip() for h in records[header_index]]
    names: list[str] = []
    header_of: dict[str, str] = {}
    for position, header in enumerate(headers):
        english = columns.english_for(kind, header) if header else None
        if english is not None and english not in header_of:
            header_of[english] = header
            names.append(english)
            continue
        # An extra column (or a second spelling of a known one): kept under its own name.
        name = header or f"column {position + 1}"
        names.append(name if name not in names else f"{name} (column {position + 1})")
    table = Table(path=path, kind=kind, headers=headers, columns=names, rows=[],
                  encoding=encoding, header_of=header_of)
    for index in range(header_index + 1, len(records)):
        record = records[index]
        if not any(record):
            continue  # a blank line carries nothing
        cells = {name: (record[i] if i < len(record) else "") for i, name in enumerate(names)}
        if len(record) > len(names):  # never drop what a row holds past the header
            for i in range(len(names), len(record)):
                cells[f"column {i + 1}"] = record[i]
            table.problems.append(
                f"{path} row {index + 1}: {len(record)} cells but {len(names)} headers (a comma "
                f"inside an unquoted cell?); the cells past the header are kept as "
                f"column {len(names) + 1}..{len(record)}; check the row's values")
        table.rows.append(Row(number=index + 1, cells=cells))
    return table


def read_table(path: str | Path, *, kind: str, columns: ColumnMap | None = None) -> Table:
    """One export as rows of text cells keyed by the contract's English column names.

    Raises InputError (one line: file, what is wrong, what to do) for a missing,
    empty, binary or unreadable file, or one without the kind's required columns.
    """
    path = Path(path)
    if kind not in KINDS:
        raise ValueError(f"unknown table kind {kind!r}; expected one of {', '.join(KINDS)}")
    columns = columns or load_column_map()
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from exc
    if not data.strip():
        raise InputError(f"{path}: the file is empty; expected a header line and rows")
    if data.startswith(_XLS_MAGIC):
        raise InputError(f"{path}: an old .xls workbook; save it as .xlsx or CSV")
    if data.startswith(_XLSX_MAGIC):  # by content: a workbook named .csv still reads
        sheets = _xlsx_sheets(path, data)
        for _title, records in sheets:
            table = _table_from_records(path, kind, records, columns, None)
            if table is not None:
                return table
        raise _missing_columns_error(path, kind, sheets[0][1] if sheets else [], columns)
    records, encoding = _csv_records(path, data)
    table = _table_from_records(path, kind, records, columns, encoding)
    if table is None:
        raise _missing_columns_error(path, kind, records, columns)
    return table


# --- values -----------------------------------------------------------------------------

_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01, after Excel's leap-year bug
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[ T_]?(\d{2})(\d{2})(\d{2})?)?$")


def parse_datetime(text: str) -> datetime | None:
    """A date-time as exports write it; None for an empty cell.

    Accepts ISO (2026-11-10T08:22:10), 2026/11/10 8:22, 2026.11.10, 2026年11月10日 8时22分,
    20261110 082210 and Excel serial numbers (46336.35). Raises ValueError otherwise.
    """
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    try:
        parsed = _parse_datetime(text)
    except ValueError:  # also month 13 and the like
        parsed = None
    if parsed is None:
        raise ValueError(f"cannot read {text!r} as a date-time; write it like 2026-11-10 08:22")
    return parsed


def _parse_datetime(text: str) -> datetime | None:
    if re.fullmatch(r"\d{4,5}(\.\d+)?", text):
        serial = float(text)
        if 20000 <= serial < 80000:  # 1954..2119: a date, not a year or a count
            return _EXCEL_EPOCH + timedelta(days=serial)
    compact = _COMPACT.match(text)
    if compact:
        year, month, day, hour, minute, second = (int(p) if p else 0 for p in compact.groups())
        return datetime(year, month, day, hour, minute, second)
    cleaned = (text.replace("年", "-").replace("月", "-").replace("日", " ")
               .replace("时", ":").replace("分", ":").replace("秒", ""))
    cleaned = re.sub(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", cleaned)
    cleaned = cleaned.rstrip(":").strip()
    cleaned = re.sub(r"(?:Z|[+-]\d{2}:?\d{2})$", "", cleaned)  # local time is meant
    match = _DATE_TIME.match(cleaned)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                    int(second or 0), micro)


def parse_number(text: str) -> float | None:
    """A count or duration: '12', '12.5', '12秒', '12s', '0:00:12'; None for an empty cell."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    clock = re.fullmatch(r"(\d+):(\d{1,2})(?::(\d{1,2}))?", text)
    if clock:
        a, b, c = (int(g) if g else None for g in clock.groups())
        return float(a * 3600 + b * 60 + c) if c is not None else float(a * 60 + b)
    plain = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:秒|s|sec|secs|seconds)?", text, re.IGNORECASE)
    if not plain:
        raise ValueError(f"cannot read {text!r} as a number of seconds")
    return float(plain.group(1))
