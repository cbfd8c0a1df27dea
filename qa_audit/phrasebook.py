"""The phrasebook and the forms: data files in `phrasebook/`, validated on load.

The default files ship with the package (`qa_audit.default_phrasebook`, i.e. the repository's
`phrasebook/` folder). A user folder (`--phrasebook DIR` or $QA_AUDIT_PHRASEBOOK) overrides
them file by file, and its `forms/*.yaml` add or replace forms by id, so a site edits its
script or adds a form without touching code. A broken file is reported in one line: file,
field, what is allowed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qa_audit.errors import PhrasebookError
from qa_audit.form.registry import registered_checks


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Phrases = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class Part(_Strict):
    id: str
    label: str = ""
    required: bool = True
    phrases: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    agent_id: bool = False  # this part is the agent's spoken id


class ScriptPhrase(_Strict):
    standard: str
    parts: Annotated[list[Part], Field(min_length=1)]


class Question(_Strict):
    label: str = ""
    phrases: Phrases
    volunteered: list[str] = Field(default_factory=list)


class Facts(_Strict):
    address_markers: Phrases
    problem_words: Phrases
    problem_kinds: dict[str, Phrases]
    address_format: str
    spelled_surnames: dict[str, str] = Field(default_factory=dict)

    @field_validator("address_format")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(f"not a valid regular expression ({err})") from None
        return pattern


class Enquiry(_Strict):
    resident_says: Phrases
    topics: Phrases
    # The agent explains that what the resident took for a fault is none (停暖 after the
    # season): a cold radiator mentioned in such a call is no repair report.
    not_a_fault: list[str] = Field(default_factory=list)
    closing_not_required: list[str] = Field(default_factory=list)


class RepairScript(_Strict):
    kind: Literal["repair"]
    version: str
    opening: ScriptPhrase
    questions: dict[Literal["location", "severity", "address", "name", "phone"], Question]
    facts: Facts
    enquiry: Enquiry
    closing: ScriptPhrase


class FollowupScript(_Strict):
    kind: Literal["followup"]
    version: str
    opening: ScriptPhrase
    not_convenient: Phrases
    questions: dict[Literal["resolved", "attitude", "charged", "rating", "suggestions", "payment"],
                    Question]
    answers: dict[Literal["resolved", "attitude", "charged"], dict[str, Phrases]]
    closing: ScriptPhrase


class HolidaySpan(_Strict):
    holiday: str
    from_: date = Field(alias="from")
    to: date


class Holidays(_Strict):
    salutations: dict[str, str]
    years: dict[int, list[HolidaySpan]]


class ConductList(_Strict):
    label: str
    phrases: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    whole_utterance_only: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as err:
                raise ValueError(f"pattern {p!r} is not a valid regular expression ({err})")
        return patterns


class Conduct(_Strict):
    impolite: ConductList
    invalid_promise: ConductList


class FineRule(_Strict):
    yuan: float = Field(ge=0)
    label: str = ""
    serious: bool = False


class Fines(_Strict):
    repeat_free_count: int = Field(ge=0)
    repeat_extra_yuan: float = Field(ge=0)
    codes: dict[str, FineRule]


class Thresholds(_Strict):
    pass_: float = Field(alias="pass", ge=0, le=100)
    fail: float = Field(ge=0, le=100)


class Timing(_Strict):
    """Thresholds of the checks on when people speak (qa_audit.timing); matching.yaml says
    why each default is what it is."""

    dead_air_s: float = Field(default=10.0, gt=0)
    hold_phrases: list[str] = Field(default_factory=lambda: ["请稍等", "您稍等", "稍等一下"])
    talk_over_s: float = Field(default=1.5, gt=0)
    fast_speech_min_s: float = Field(default=4.0, gt=0)
    fast_speech_chars_per_minute: float = Field(default=400.0, gt=0)


class Matching(_Strict):
    thresholds: Thresholds
    min_role_confidence: float = Field(ge=0, le=1)
    min_asr_confidence: float = Field(ge=0, le=1)
    min_fine_confidence: float = Field(default=0.7, ge=0, le=1)
    timing: Timing = Field(default_factory=Timing)


class FormItem(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str = ""
    points: float = Field(gt=0)
    check: str
    # For `check: phrase`: an item a site adds without code.
    phrases: list[str] = Field(default_factory=list)
    speaker: Literal["agent", "customer"] = "agent"
    where: Literal["first", "last", "any"] = "any"


class Form(_Strict):
    id: str
    label: str = ""
    call_type: Literal["repair", "followup"]
    script: Literal["repair", "followup"]
    version: str
    items: Annotated[list[FormItem], Field(min_length=1)]

    @property
    def max_score(self) -> float:
        return sum(i.points for i in self.items)


def allowed_checks(script: str) -> list[str]:
    """The `check` values a form item may name, for a form on this script: the checks
    registered for it (qa_audit.form.registry), in the form's order."""
    return registered_checks(script)


def _item_line(file: Path, item_id: str) -> str:
    """'line N: ' where a form item's id is written, so a person finds it at once."""
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    written = re.compile(rf"""(^|[{{,\s-])id:\s*['"]?{re.escape(item_id)}['"]?\s*([,}}]|$)""")
    number = next((n for n, line in enumerate(lines, 1) if written.search(line)), None)
    return f"line {number}: " if number else ""


def _where(file: Path, loc: Sequence[object], data: Any) -> str:
    """A field's place: a form item by its id (and line) rather than by its index."""
    if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int) and isinstance(data, dict):
        items = data.get("items")
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        item_id = item.get("id") if isinstance(item, dict) else None
        if item_id:
            rest = ".".join(str(p) for p in loc[2:])
            return (f"{_item_line(file, str(item_id))}item {item_id}"
                    + (f": field {rest}" if rest else ""))
        return f"item #{loc[1] + 1} of items" + (
            f": field {'.'.join(str(p) for p in loc[2:])}" if loc[2:] else "")
    return "field " + (".".join(str(p) for p in loc) or "(top level)")


def _format_validation(file: Path, err: ValidationError, data: Any = None) -> str:
    first = err.errors()[0]
    got = first.get("input")
    got_text = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    more = f"; {err.error_count() - 1} more problem(s) in the file" if err.error_count() > 1 else ""
    return f"{file}: {_where(file, first['loc'], data)}: {first['msg']}{got_text}{more}"


# PyYAML's words for the common slips, in a site editor's words, with what to do; and whether
# the broken line is where the construct began (an unclosed quote is found at the file's end).
_YAML_SLIPS: list[tuple[str, str, bool]] = [
    ("while scanning a quoted scalar",
     "a quote opened on this line is never closed; close it", True),
    ("while parsing a flow sequence",
     "a [ opened on this line is never closed; close it with ]", True),
    ("while parsing a flow mapping",
     "a { opened on this line is never closed; close it with }", True),
    ("cannot start any token",
     "a tab or a character YAML does not take; indent with spaces, quote the text", False),
    ("mapping values are not allowed here",
     "a second ':' or a wrong indent; put a text holding ': ' in quotes, or line the key up "
     "with the ones above", False),
    ("expected <block end>",
     "the indentation does not fit the lines above; line it up with them (spaces only)", False),
    ("did not find expected key",
     "the indentation does not fit the lines above; line it up with them (spaces only)", False),
    ("could not find expected ':'",
     "a key without its ':'; write `key: value`", False),
]


def yaml_problem(file: Path, text: str, err: yaml.YAMLError) -> str:
    """One line: the file, the line that is broken (as written), what is wrong, what to do."""
    problem = str(getattr(err, "problem", None) or str(err).splitlines()[0])
    context = str(getattr(err, "context", None) or "")
    mark = getattr(err, "problem_mark", None)
    advice = problem
    for words, plain, at_start in _YAML_SLIPS:
        if words in context or words in problem:
            advice = plain
            if at_start and getattr(err, "context_mark", None) is not None:
                mark = err.context_mark  # type: ignore[attr-defined]
            break
    if mark is None:
        return f"{file}: not valid YAML ({advice})"
    lines = text.splitlines()
    if mark.line >= len(lines) or not lines[mark.line].strip():
        # Found at the end of the file: the slip is on the last line written.
        written = [n for n, line in enumerate(lines[:mark.line + 1]) if line.strip()]
        if written:
            mark = type("Mark", (), {"line": written[-1]})()
        if "stream end" in problem or "end of stream" in problem:
            advice = "the file ends inside an open [ , { or quote; close it"
    shown = lines[mark.line].strip() if mark.line < len(lines) else ""
    shown = shown if len(shown) <= 60 else shown[:57] + "…"
    return (f"{file}: line {mark.line + 1}: {advice}" + (f": `{shown}`" if shown else "")
            + " (YAML syntax error)")


def _read_yaml(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PhrasebookError(f"{file}: not UTF-8 text; save the file as UTF-8") from None
    except OSError as err:
        raise PhrasebookError(f"{file}: cannot read ({err.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise PhrasebookError(yaml_problem(file, text, err)) from None
    if not isinstance(data, dict):
        raise PhrasebookError(f"{file}: expected a mapping of fields at the top, got "
                              f"{type(data).__name__}")
    return data


def _load_model(file: Path, model: type[BaseModel]) -> Any:
    data = _read_yaml(file)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise PhrasebookError(_format_validation(file, err, data)) from None


def default_dir() -> Path:
    return Path(str(resources.files("qa_audit.default_phrasebook")))


class Phrasebook:
    """All of the phrasebook: scripts, forms, holidays, conduct lists, fines, thresholds."""

    def __init__(self, *, scripts: dict[str, RepairScript | FollowupScript], forms: dict[str, Form],
                 holidays: Holidays, conduct: Conduct, fine_rules: Fines, matching: Matching,
                 sources: list[Path]):
        self.scripts = scripts
        self.forms = forms
        self.holidays = holidays
        self.conduct = conduct
        self.fine_rules = fine_rules
        self.matching = matching
        self.sources = sources

    @property
    def repair(self) -> RepairScript:
        return self.scripts["repair"]  # type: ignore[return-value]

    @property
    def followup(self) -> FollowupScript:
        return self.scripts["followup"]  # type: ignore[return-value]

    @property
    def fines(self) -> dict[str, float]:
        return {code: rule.yuan for code, rule in self.fine_rules.codes.items()}

    def fine(self, code: str) -> float:
        rule = self.fine_rules.codes.get(code)
        return rule.yuan if rule else 0.0

    def is_serious(self, code: str) -> bool:
        rule = self.fine_rules.codes.get(code)
        return bool(rule and rule.serious)

    def form_for(self, call_type: str) -> Form:
        for form in self.forms.values():
            if form.call_type == call_type:
                return form
        raise PhrasebookError(f"no form for call type {call_type!r}; forms: "
                              f"{', '.join(sorted(self.forms)) or 'none'}")

    def holiday_on(self, day: date) -> tuple[str, str] | None:
        """(holiday id, salutation) when `day` is in a holiday period, else None."""
        for span in self.holidays.years.get(day.year, []):
            if span.from_ <= day <= span.to:
                return span.holiday, self.holidays.salutations[span.holiday]
        return None

    def agent_phrases(self) -> list[str]:
        """The standard sentences and questions an agent says (for telling speakers apart)."""
        out: list[str] = []
        for script in self.scripts.values():
            out += [script.opening.standard.replace("{agent_id}", ""), script.closing.standard]
            for q in script.questions.values():
                out += q.phrases
        out += list(self.holidays.salutations.values())
        return list(dict.fromkeys(out))

    def vocabulary(self) -> list[str]:
        """Domain words for the speech decoder's prompt and hotwords."""
        words: list[str] = []
        for script in self.scripts.values():
            for section in (script.opening, script.closing):
                for part in section.parts:
                    words += part.phrases[:1]
        words += list(self.holidays.salutations.values())
        words += self.repair.facts.problem_words
        words += ["报修", "回访", "维修站", "暖气片", "号楼", "单元"]
        return list(dict.fromkeys(w for w in words if len(w) >= 2))

    @cached_property
    def version(self) -> str:
        """Versions of the script and forms plus a hash of the files' content (provenance)."""
        digest = hashlib.sha256()
        for src in sorted(self.sources):
            digest.update(src.name.encode())
            digest.update(src.read_bytes())
        versions = ",".join(f"{k}={s.version}" for k, s in sorted(self.scripts.items()))
        return f"{versions};sha256={digest.hexdigest()[:12]}"


def _pick(name: str, user_dir: Path | None, base: Path) -> Path:
    if user_dir is not None and (user_dir / name).is_file():
        return user_dir / name
    return base / name


def load_phrasebook(path: Path | None = None) -> Phrasebook:
    """Load and validate the phrasebook; `path` (or $QA_AUDIT_PHRASEBOOK) overrides defaults."""
    base = default_dir()
    if path is None and os.environ.get("QA_AUDIT_PHRASEBOOK"):
        path = Path(os.environ["QA_AUDIT_PHRASEBOOK"])
    if path is not None and not path.is_dir():
        raise PhrasebookError(f"{path}: phrasebook folder not found; give a folder holding "
                              "repair.yaml, followup.yaml, forms/ … (any of them)")
    sources: list[Path] = []

    def load(name: str, model: type[BaseModel]) -> Any:
        file = _pick(name, path, base)
        sources.append(file)
        return _load_model(file, model)

    scripts: dict[str, RepairScript | FollowupScript] = {
        "repair": load("repair.yaml", RepairScript),
        "followup": load("followup.yaml", FollowupScript),
    }
    holidays: Holidays = load("holidays.yaml", Holidays)
    for year, spans in holidays.years.items():
        for i, span in enumerate(spans):
            if span.holiday not in holidays.salutations:
                raise PhrasebookError(
                    f"{_pick('holidays.yaml', path, base)}: field years.{year}.{i}.holiday: "
                    f"{span.holiday!r} has no salutation; allowed: "
                    f"{', '.join(holidays.salutations)}")
    conduct: Conduct = load("conduct.yaml", Conduct)
    fines: Fines = load("fines.yaml", Fines)
    matching: Matching = load("matching.yaml", Matching)

    form_files = {f.name: f for f in sorted((base / "forms").glob("*.yaml"))}
    if path is not None and (path / "forms").is_dir():
        form_files.update({f.name: f for f in sorted((path / "forms").glob("*.yaml"))})
    forms: dict[str, Form] = {}
    for file in form_files.values():
        sources.append(file)
        form: Form = _load_model(file, Form)
        allowed = allowed_checks(form.script)
        for item in form.items:
            where = f"{_item_line(file, item.id)}item {item.id}"
            if item.check not in allowed:
                raise PhrasebookError(f"{file}: {where}: field check: {item.check!r} is not a "
                                      f"check; allowed: {', '.join(allowed)}")
            if item.check == "phrase" and not item.phrases:
                raise PhrasebookError(f"{file}: {where}: field phrases: a `phrase` check needs "
                                      "at least one phrase")
        ids = [i.id for i in form.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise PhrasebookError(f"{file}: field items: item id(s) {', '.join(dupes)} appear "
                                  "more than once; each id must be unique")
        forms[form.id] = form
    return Phrasebook(scripts=scripts, forms=forms, holidays=holidays, conduct=conduct,
                      fine_rules=fines, matching=matching, sources=sources)
