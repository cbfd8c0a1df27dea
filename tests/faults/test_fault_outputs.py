"""Outputs that cannot be written are one line at the start, exit 1, before any work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from faultkit import DEV, own_cache, real_transcripts  # noqa: F401

from qa_audit.cli.main import main

# /proc takes no new files, not even from root (for whom a chmod'ed folder is writable).
READ_ONLY = Path("/proc")


def _blocked(tmp_path: Path, how: str, name: str) -> Path:
    if how == "parent is a file":
        (tmp_path / "file").write_text("x")
        return tmp_path / "file" / "sub" / name
    if how == "read-only folder":
        if os.geteuid() != 0:
            folder = tmp_path / "ro"
            folder.mkdir()
            folder.chmod(0o555)
            return folder / name
        return READ_ONLY / "qa-audit-test" / name
    raise AssertionError(how)


HOWS = ["parent is a file", "read-only folder"]


@pytest.fixture()
def stored(tmp_path) -> Path:
    db = tmp_path / "s.sqlite"
    real_transcripts(tmp_path / "day", agents=("318",))
    assert main(["audit", str(tmp_path / "day"), "--db", str(db)]) == 0
    return db


def _one_line(capsys, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error: ")
    for word in words:
        assert word in last, (word, last)
    return last


@pytest.mark.parametrize("how", HOWS)
def test_audit_and_score_check_out_and_db_before_any_call(tmp_path, capsys, how):
    day = tmp_path / "day"
    real_transcripts(day, agents=("318",))
    out = _blocked(tmp_path, how, "r.jsonl")
    db = tmp_path / "a.sqlite"
    assert main(["audit", str(day), "--db", str(db), "--out", str(out)]) == 1
    _one_line(capsys, "--out", str(out))
    assert not db.exists()  # nothing was done
    assert main(["score", str(day), "--out", str(out)]) == 1
    _one_line(capsys, "--out", str(out))
    assert main(["audit", str(day), "--db", str(_blocked(tmp_path, how, "x.sqlite"))]) == 1
    _one_line(capsys, "--db")


def test_an_out_that_is_a_folder_is_one_line(tmp_path, capsys):
    day = tmp_path / "day"
    real_transcripts(day, agents=("318",))
    assert main(["score", str(day), "--out", str(tmp_path)]) == 1
    _one_line(capsys, "is a folder", "give a file name")
    assert main(["audit", str(day), "--db", str(tmp_path / "a.sqlite"), "--out",
                 str(tmp_path)]) == 1
    _one_line(capsys, "is a folder")


@pytest.mark.parametrize("how", HOWS)
def test_tally_and_review_check_their_outputs(stored, tmp_path, capsys, how):
    for suffix in (".xlsx", ".csv"):
        out = _blocked(tmp_path, how, f"t{suffix}")
        assert main(["tally", "--month", "2026-11", "--db", str(stored), "--out",
                     str(out)]) == 1
        _one_line(capsys, "--out")
    folder = _blocked(tmp_path, how, "review")
    assert main(["review", "--agent", "318", "--db", str(stored), "--out", str(folder)]) == 1
    _one_line(capsys, "--out")
    assert main(["transcribe", str(tmp_path), "--out", str(folder)]) == 1
    _one_line(capsys, "--out")


def test_review_out_that_is_a_file_is_one_line(stored, tmp_path, capsys):
    (tmp_path / "page").write_text("x")
    assert main(["review", "--agent", "318", "--db", str(stored), "--out",
                 str(tmp_path / "page")]) == 1
    _one_line(capsys, "is a file, not a folder")


def test_a_daily_run_skips_other_days_rows_whose_recordings_are_missing(tmp_path, capsys):
    """calls.csv of a month, recordings of one day: the other days are not looked at."""
    import csv

    with (DEV / "calls.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    day = "2026-11-04"
    folder = tmp_path / "rec"
    real_transcripts(folder, agents=("318", "326", "305", "309", "322", "301", "307"))
    for path in folder.glob("*.json"):
        if not path.name.startswith(day.replace("-", "")):
            path.unlink()
    calls = tmp_path / "calls.csv"
    with calls.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)  # every row points at audio/… which is not there
    db = tmp_path / "d.sqlite"
    assert main(["audit", str(folder), "--calls", str(calls), "--db", str(db), "--date",
                 day]) == 0
    err = capsys.readouterr().err
    assert "not found" not in err
    # Without --date, the month's missing recordings are reported (and the run exits 1).
    assert main(["audit", str(folder), "--calls", str(calls), "--db", str(db)]) == 1
    assert "not found" in capsys.readouterr().err
