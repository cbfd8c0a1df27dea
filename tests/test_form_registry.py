"""The check registry: each check declared once, and the form package free of import circles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from qa_audit import listen
from qa_audit.form.registry import (all_checks, finding_checks, finding_of, get_check,
                                    registered_checks)
from qa_audit.phrasebook import allowed_checks

PACKAGE = REPO / "qa_audit"


@pytest.mark.parametrize("script", ["repair", "followup"])
def test_forms_are_validated_against_the_registry(script):
    assert allowed_checks(script) == registered_checks(script)
    assert registered_checks(script)[0] == "opening"  # in the form's order


def test_every_form_item_names_a_registered_check(pb):
    for form in pb.forms.values():
        for item in form.items:
            assert form.script in get_check(item.check).scripts, item.check


def test_a_check_declares_its_label_finding_and_criterion(pb):
    for check in all_checks():
        assert check.label, check.name
        for code in check.findings:
            assert code in pb.fines, (check.name, code)
        assert "criterion" in check.criterion.lower(), check.name


def test_findings_of_checks():
    assert {c.name: finding_of(c.name) for c in all_checks() if finding_of(c.name)} == {
        "opening": "nonstandard_phrase", "ticket.name": "wrong_name",
        "ticket.phone": "wrong_phone", "ticket.address": "wrong_address",
        "ticket.station": "wrong_station"}
    assert [c.name for c in finding_checks()] == [
        "conduct", "timing.dead_air", "timing.talk_over", "timing.fast_speech"]
    assert get_check("timing.talk_over").needs == {"transcript", "audio", "stereo"}


def test_listening_weighs_the_facts_the_registry_names():
    assert listen._FACT_OF == {"ticket.phone": "phone", "ticket.name": "name",
                               "ticket.address": "address"}
    assert listen._READBACK_OF == {"readback.phone": "ticket.phone",
                                   "readback.name": "ticket.name",
                                   "readback.address": "ticket.address"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> tuple[set[str], list[int]]:
    """The qa_audit modules a module imports when loaded (not those only for type checking),
    and the lines of imports inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    deps: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.If, ast.Try)):
            for n in ast.walk(node):
                if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("qa_audit"):
                    deps |= {n.module, *(f"{n.module}.{a.name}" for a in n.names)}
                elif isinstance(n, ast.Import):
                    deps |= {a.name for a in n.names if a.name.startswith("qa_audit")}
    functions = [f for f in ast.walk(tree)
                 if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inner = [n.lineno for f in functions for n in ast.walk(f)
             if isinstance(n, (ast.Import, ast.ImportFrom))]
    return deps, inner


def test_no_import_circle_through_the_form():
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: _imports(p)[0] & modules.keys() for m, p in modules.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo += graph[m]
        return False

    ours = [m for m in modules if m.startswith("qa_audit.form") or m in (
        "qa_audit.phrasebook", "qa_audit.timing", "qa_audit.dialogue", "qa_audit.listen")]
    assert [m for m in ours if reaches(m, m)] == []
    inside = {m: _imports(modules[m])[1] for m in ours if m.startswith("qa_audit.form")}
    assert {m: lines for m, lines in inside.items() if lines} == {}
    # The phrasebook may import the registry to validate forms against it.
    assert [m for m in ours if m.startswith("qa_audit.form") and reaches(m, "qa_audit.phrasebook")
            ] == []


def test_each_form_module_imports_first_in_a_fresh_interpreter():
    names = sorted(_module(p) for p in (PACKAGE / "form").rglob("*.py"))
    script = ("import importlib, sys\n"
              f"for name in {names!r}:\n"
              "    for m in [m for m in sys.modules if m.startswith('qa_audit')]:\n"
              "        del sys.modules[m]\n"
              "    importlib.import_module(name)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
