"""Every bad input gets one line that says what, where and what to do; never a traceback,
never a message wrapped when stderr is not a terminal."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from faultkit import (bad_recordings, own_cache, real_transcripts,  # noqa: F401
                      white_noise, write_wav)

from qa_audit.cli.main import main
from qa_audit.phrasebook import default_dir
from qa_audit.store import Store


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def _phrasebook(tmp_path: Path, name: str, text: str) -> Path:
    user = tmp_path / "pb"
    (user / name).parent.mkdir(parents=True, exist_ok=True)
    (user / name).write_text(text, encoding="utf-8")
    return user


def _score(tmp_path: Path, *extra: str) -> int:
    day = tmp_path / "day"
    if not day.exists():
        real_transcripts(day, agents=("318",))
    return main(["score", str(day), *extra])


BROKEN_YAML = [
    # (file, text, line, words)
    ("repair.yaml", 'kind: repair\nversion: "1\nopening: 您好\n', 2, "quote opened on this line"),
    ("conduct.yaml", "impolite:\n  label: 服务忌语\n  phrases: [你烦不烦, 快点说\n", 3,
     "[ opened on this line is never closed"),
    ("fines.yaml", "repeat_free_count: 3\n\trepeat_extra_yuan: 50\n", 2, "indent with spaces"),
    ("forms/repair.yaml", "id: repair\nlabel: 报修: 测评\n", 2, "put a text holding ': ' in quotes"),
    ("forms/repair.yaml", "id: repair\nitems:\n  - id: a\n    points: 5\n   check: opening\n", 5,
     "indentation does not fit"),
]


@pytest.mark.parametrize(("name", "text", "line", "words"), BROKEN_YAML)
def test_a_yaml_slip_names_the_file_the_broken_line_and_what_to_do(tmp_path, capsys, name, text,
                                                                   line, words):
    assert _score(tmp_path, "--phrasebook", str(_phrasebook(tmp_path, name, text))) == 1
    err = _err(capsys).strip()
    assert err.count("\n") == 0
    assert err.startswith(f"error: {tmp_path / 'pb' / name}: line {line}: ")
    assert words in err
    assert "mapping values" not in err and "<block end>" not in err  # no parser jargon


def test_a_bad_form_item_is_named_by_its_id_and_line(tmp_path, capsys):
    form = (default_dir() / "forms" / "repair.yaml").read_text(encoding="utf-8")
    form = form.replace("{id: phone,            label: 电话,         points: 1,",
                        "{id: phone,            label: 电话,         points: -1,")
    assert "points: -1" in form
    line = next(n for n, text in enumerate(form.splitlines(), 1) if "points: -1" in text)
    assert _score(tmp_path, "--phrasebook",
                  str(_phrasebook(tmp_path, "forms/repair.yaml", form))) == 1
    err = _err(capsys)
    assert f"line {line}: item phone: field points: Input should be greater than 0" in err
    assert "items.3" not in err


@pytest.mark.parametrize(("content", "words"), [
    (b"", "empty file (0 bytes)"),
    (os.urandom(4000), "not a readable recording"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not a readable recording"),
])
def test_corrupt_and_empty_recordings_are_named_and_the_batch_goes_on(tmp_path, capsys, content,
                                                                      words):
    day = tmp_path / "day"
    real_transcripts(day, agents=("318",))
    (day / "20261104_095000_318_repair_950.wav").write_bytes(content)
    assert main(["audit", str(day), "--db", str(tmp_path / "a.sqlite")]) == 1
    err = _err(capsys)
    line = next(x for x in err.splitlines() if "20261104_095000_318_repair_950.wav" in x)
    assert line.startswith("error: ") and words in line
    assert "call(s) done" in err and "1 file(s) failed" in err


def test_a_damaged_store_and_another_programs_database_are_one_line(tmp_path, capsys):
    day = tmp_path / "day"
    real_transcripts(day, agents=("318",))
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    assert main(["audit", str(day), "--db", str(junk)]) == 1
    assert "is not a qa-audit results database or is damaged" in _err(capsys)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.close()
    assert main(["audit", str(day), "--db", str(other)]) == 1
    assert "another program's SQLite database" in _err(capsys)
    for command in (["queue"], ["tally", "--month", "2026-11", "--out", str(tmp_path / "t.xlsx")],
                    ["review", "--agent", "318", "--out", str(tmp_path / "r")]):
        assert main([*command, "--db", str(junk)]) == 1
        assert _err(capsys).startswith("error: ")


def test_a_store_from_a_newer_qa_audit_is_refused_in_one_line(tmp_path, capsys):
    day = tmp_path / "day"
    real_transcripts(day, agents=("318",))
    newer = tmp_path / "newer.sqlite"
    with Store(newer):
        pass
    con = sqlite3.connect(newer)
    con.execute("INSERT INTO migrations (name, applied_at) VALUES ('from_the_future', 'x')")
    con.commit()
    con.close()
    assert main(["audit", str(day), "--db", str(newer)]) == 1
    err = _err(capsys)
    assert "written by a newer qa-audit" in err and "'from_the_future'" in err
    assert "upgrade qa-audit" in err
    version = tmp_path / "v99.sqlite"
    with Store(version):
        pass
    con = sqlite3.connect(version)
    con.execute("PRAGMA user_version = 99")
    con.close()
    assert main(["queue", "--db", str(version)]) == 1
    assert "newer qa-audit (schema 99" in _err(capsys)


def test_no_line_on_stderr_is_wrapped_when_it_is_not_a_terminal(tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-for-recordings-" * 3) / "day"
    bad_recordings(deep)
    env = {**os.environ, "QA_AUDIT_CACHE": str(tmp_path / "cache"), "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-m", "qa_audit.cli.main", "audit", str(deep),
                           "--db", str(tmp_path / "w.sqlite")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    unusable = [line for line in lines if line.startswith("unusable: ")]
    assert len(unusable) == 4
    assert all(line.endswith("(check the recording system; a lead may delete it)")
               for line in unusable)
    assert any(len(line) > 80 for line in lines)
    assert "Traceback" not in proc.stderr


def test_transcribe_warnings_are_one_line_each_when_piped(tmp_path):
    deep = tmp_path / ("another-rather-long-folder-name-" * 4) / "day"
    write_wav(deep / "20261104_090000_318_repair_901.wav", [white_noise(0.3, 0.1)])
    env = {**os.environ, "QA_AUDIT_CACHE": str(tmp_path / "cache"), "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-m", "qa_audit.cli.main", "transcribe", str(deep),
                           "--out", str(tmp_path / "t")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    warning = next(line for line in proc.stderr.splitlines() if line.startswith("warning: "))
    assert str(deep) in warning and warning.endswith("empty transcript")


def test_a_store_cut_off_half_way_is_one_line(tmp_path, capsys):
    day = tmp_path / "day"
    real_transcripts(day, agents=("318", "326"))
    db = tmp_path / "cut.sqlite"
    assert main(["audit", str(day), "--db", str(db)]) == 0
    size = db.stat().st_size
    with db.open("r+b") as fh:
        fh.truncate(size // 2)
    _err(capsys)
    for command in (["audit", str(day)], ["queue"],
                    ["tally", "--month", "2026-11", "--out", str(tmp_path / "t.xlsx")]):
        assert main([*command, "--db", str(db)]) == 1
        err = _err(capsys).strip().splitlines()
        assert err[-1].startswith("error: ") and str(db) in err[-1], err


def test_a_model_that_cannot_load_ends_the_run_in_one_line_not_one_per_call(tmp_path, capsys,
                                                                           monkeypatch):
    import shutil

    from faultkit import STEREO_SAMPLE

    from qa_audit import asr_model
    from qa_audit.errors import ModelError

    def broken(name, cache_dir=None):
        raise ModelError(f"cannot load model {name!r}: broken on purpose; try another --model")

    monkeypatch.setattr(asr_model, "resolve_model", broken)
    day = tmp_path / "day"
    day.mkdir()
    for seq in (1, 2):
        shutil.copy(STEREO_SAMPLE, day / f"20261117_10051{seq}_305_repair_40{seq}.wav")
    assert main(["audit", str(day), "--db", str(tmp_path / "m.sqlite")]) == 1
    err = _err(capsys).strip().splitlines()
    assert err == ["error: cannot load model 'embedded': broken on purpose; try another --model"]
    with Store(tmp_path / "m.sqlite") as store:
        assert store._query("SELECT count(*) FROM claims")[0][0] == 0  # given back
