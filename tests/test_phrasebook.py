from datetime import date
from pathlib import Path

import pytest

from qa_audit.cli.main import main
from qa_audit.errors import PhrasebookError
from qa_audit.phrasebook import default_dir, load_phrasebook


def test_default_forms_have_the_seed_points(pb) -> None:
    assert pb.form_for("repair").max_score == 35
    assert pb.form_for("followup").max_score == 16
    assert [i.id for i in pb.form_for("followup").items] == [
        "opening", "asked_resolved", "asked_attitude", "asked_charged", "asked_rating",
        "asked_suggestions", "closing"]


def test_holiday_greeting_dates(pb) -> None:
    assert pb.holiday_on(date(2026, 10, 1)) == ("national_day", "国庆节快乐")
    assert pb.holiday_on(date(2027, 1, 1))[1] == "新年好"
    assert pb.holiday_on(date(2026, 11, 10)) is None


def _user_dir(tmp_path: Path, name: str, text: str) -> Path:
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return tmp_path


def test_a_year_notice_overrides_the_holiday_dates(tmp_path: Path) -> None:
    user = _user_dir(tmp_path, "holidays.yaml", """
salutations: {national_day: 国庆节快乐, new_year: 新年好}
years:
  2026:
    - {holiday: national_day, from: 2026-10-01, to: 2026-10-08}
""")
    pb = load_phrasebook(user)
    assert pb.holiday_on(date(2026, 10, 8)) == ("national_day", "国庆节快乐")
    assert pb.holiday_on(date(2026, 5, 1)) is None  # the user's file replaces the default


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("repair.yaml", "kind: repair\nversion: 1\nopening: [unclosed\n", "YAML syntax error"),
    ("fines.yaml", "repeat_free_count: 3\nrepeat_extra_yuan: 50\ncodes:\n  impolite: {yuan: -5}\n",
     "field codes.impolite.yuan: Input should be greater than or equal to 0"),
    ("forms/mine.yaml", "id: mine\ncall_type: repair\nscript: repair\nversion: '1'\nitems:\n"
     "  - {id: x, points: 1, check: telepathy}\n",
     "line 6: item x: field check: 'telepathy' is not a check; allowed: opening"),
    ("forms/mine.yaml", "id: mine\ncall_type: complaint\nscript: repair\nversion: '1'\nitems: []\n",
     "field call_type: Input should be 'repair' or 'followup'"),
    ("conduct.yaml", "impolite: {label: x, phrases: []}\ninvalid_promise: {label: y, patterns: ['(']}\n",
     "is not a valid regular expression"),
    ("matching.yaml", "- just a list\n", "expected a mapping of fields at the top"),
])
def test_broken_files_get_one_line_naming_file_and_field(tmp_path: Path, name: str, text: str,
                                                         expected: str) -> None:
    user = _user_dir(tmp_path, name, text)
    with pytest.raises(PhrasebookError) as err:
        load_phrasebook(user)
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / name) in message
    assert expected in message


def test_a_site_adds_an_item_without_code(tmp_path: Path) -> None:
    form = (default_dir() / "forms" / "repair.yaml").read_text(encoding="utf-8")
    form += "  - {id: ask_more, label: 还有其他问题吗, points: 2, check: phrase, phrases: [还有其他问题吗]}\n"
    user = _user_dir(tmp_path, "forms/repair.yaml", form)
    pb = load_phrasebook(user)
    assert pb.form_for("repair").max_score == 37


def test_broken_phrasebook_on_the_command_line(tmp_path: Path, capsys) -> None:
    user = _user_dir(tmp_path, "followup.yaml", "kind: followup\n")
    transcript = tmp_path / "t.json"
    transcript.write_text('{"call_id": "c1", "utterances": [{"role": "agent", "start": 0, '
                          '"end": 1, "text": "您好"}]}', encoding="utf-8")
    rc = main(["score", str(transcript), "--phrasebook", str(user)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith(f"error: {user / 'followup.yaml'}: field version: Field required")
    assert "Traceback" not in err
