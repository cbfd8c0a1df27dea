"""Every check, declared once.

A check is registered by the module that implements it, with its name (what a form item's
`check` names), its label, the scripts whose forms may use it, the finding a failed item
raises, what it needs beyond the transcript and the fact of the call it is about:

    @register("readback.phone", label="跟读电话", scripts={"repair"}, fact="phone")
    def check_readback(ctx, item) -> Verdict: ...

Item checks fill in a form item; finding checks (`register_finding`) raise findings from the
whole call whatever the form (conduct, timing). The check families are the modules of
`qa_audit.form.checks`; each is imported on first use of the registry, the way sqlfluff
gathers its rules, so that adding a check is adding a module (and, to place it, its name in
that package's FAMILIES).

What a check may need: "transcript" (always), "ticket" (the dispatch ticket of the call),
"stations" (the station directory), "audio" (times from a recording, not typed), "stereo"
(one channel a speaker, so times of both voices at once).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from qa_audit.form.facts import CallContext
    from qa_audit.form.verdict import Verdict
    from qa_audit.phrasebook import FormItem
    from qa_audit.records import Finding

ItemCheck = Callable[["CallContext", "FormItem"], "Verdict"]
FindingCheck = Callable[["CallContext"], "list[Finding]"]
NEEDS = frozenset({"transcript", "ticket", "stations", "audio", "stereo"})
SCRIPTS = frozenset({"repair", "followup"})


@dataclass(frozen=True)
class Check:
    """One check as the registry knows it."""

    name: str
    label: str
    kind: Literal["item", "finding"]
    # An ItemCheck for an item check, a FindingCheck for a finding check.
    run: Callable[..., Any]
    scripts: frozenset[str] = SCRIPTS
    # The finding codes the check raises: for an item check, the one a failed item raises.
    findings: tuple[str, ...] = ()
    needs: frozenset[str] = frozenset({"transcript"})
    # The fact of the call the check is about (phone, name, address, problem), if one.
    fact: str | None = None

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def criterion(self) -> str:
        """The spot-check criterion the check implements, and why: its family's docstring,
        then its own."""
        docs = (inspect.getdoc(inspect.getmodule(self.run)), inspect.getdoc(self.run))
        return "\n\n".join(d for d in docs if d)


_CHECKS: dict[str, Check] = {}


def _declare(spec: Check) -> None:
    global _CHECKS
    if spec.name in _CHECKS:
        raise ValueError(f"check {spec.name!r} is registered twice")
    unknown = (spec.needs - NEEDS) | (spec.scripts - SCRIPTS)
    if unknown:
        raise ValueError(f"check {spec.name!r}: unknown needs or scripts {sorted(unknown)}")
    # Stacked decorators declare from the bottom up: the one above goes before, so the
    # registry lists checks in the order they are written.
    names = list(_CHECKS)
    same = [i for i, c in enumerate(_CHECKS.values()) if c.run is spec.run]
    names.insert(same[0] if same else len(names), spec.name)
    _CHECKS = {n: spec if n == spec.name else _CHECKS[n] for n in names}


def register(name: str, *, label: str, scripts: Iterable[str] = SCRIPTS,
             finding: str | None = None, needs: Iterable[str] = (),
             fact: str | None = None) -> Callable[[ItemCheck], ItemCheck]:
    """Declare the decorated function as the item check `name`."""
    def declare(fn: ItemCheck) -> ItemCheck:
        _declare(Check(name=name, label=label, kind="item", run=fn, scripts=frozenset(scripts),
                       findings=(finding,) if finding else (),
                       needs=frozenset({"transcript", *needs}), fact=fact))
        return fn
    return declare


def register_finding(name: str, *, label: str, findings: Iterable[str],
                     needs: Iterable[str] = ()) -> Callable[[FindingCheck], FindingCheck]:
    """Declare the decorated function as the finding check `name`: it runs on every call
    whose recording gives what it needs, and returns its findings."""
    def declare(fn: FindingCheck) -> FindingCheck:
        _declare(Check(name=name, label=label, kind="finding", run=fn,
                       findings=tuple(findings), needs=frozenset({"transcript", *needs})))
        return fn
    return declare


_loaded = False


def _checks() -> dict[str, Check]:
    """The registry, with every check family of `qa_audit.form.checks` imported: those its
    FAMILIES names in that order (the order of the form, and the order finding checks run
    in), then any other module of the package."""
    global _loaded
    if not _loaded:
        package = importlib.import_module("qa_audit.form.checks")
        found = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
        for module in [*package.FAMILIES, *(m for m in found if m not in package.FAMILIES)]:
            importlib.import_module(f"{package.__name__}.{module}")
        _loaded = True
    return _CHECKS


def all_checks() -> list[Check]:
    return list(_checks().values())


def get_check(name: str) -> Check:
    return _checks()[name]


def registered_checks(script_kind: str) -> list[str]:
    """The `check` values a form item may name, for a form on this script."""
    return [c.name for c in _checks().values() if c.kind == "item" and script_kind in c.scripts]


def finding_of(check: str) -> str | None:
    """The finding a failed item of this check raises, if any."""
    spec = _checks().get(check)
    return spec.findings[0] if spec is not None and spec.kind == "item" and spec.findings \
        else None


def finding_checks() -> list[Check]:
    return [c for c in _checks().values() if c.kind == "finding"]
