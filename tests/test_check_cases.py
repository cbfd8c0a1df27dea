"""Each check family's cases, from `tests/checks/<family>.yaml`, run by one test (the way
sqlfluff keeps a YAML of cases per rule).

A case is a mini-call and what the form says of it:

    - name: phone read back digit by digit
      call: |
        GREETING
        a: 请留一下联系电话？
        c: 13611223344
        a: 13611223344，对吗？
        CLOSING
      asr: false            # true: as a recognizer writes it (confidence 0.9, roles by channel)
      ticket: {caller_phone: "13611223344"}   # over conftest.ticket()'s complete ticket
      expect: {item: readback_phone, status: pass, reason: 跟读}

Lines are `a:` (agent) or `c:` (resident), or one of the script lines GREETING, CLOSING,
FOLLOWUP_OPENING, FOLLOWUP_CLOSING. A line may carry its times (`a@12.0-15.5: …`,
`GREETING@0.5-5.5`): a call with times is one transcribed from a recording (stereo unless
`role_source` says otherwise). Other keys: `call_type`, `meta` (over conftest.meta()),
`role_source`, `role_confidence`, `confidence`, `tickets_given`, `stations: samples` (the
sample station directory), `form_item` (an item added to the form, for `check: phrase`).
`expect` (one, or a list of several about the same call) holds `item`, `status` (or a list
of those allowed), `reason` (a fragment), `finding` (a code raised), `detail` (a fragment of
that finding's detail), `no_finding` (a code not raised), `answers` (the follow-up answers,
all of them) and `answer` (some of them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (CLOSING, FOLLOWUP_CLOSING, FOLLOWUP_OPENING, GREETING, REPO, call, meta,
                      ticket)

from qa_audit.dispatch import load_stations
from qa_audit.form.checks import FAMILIES
from qa_audit.form.engine import score_call
from qa_audit.form.registry import all_checks
from qa_audit.phrasebook import FormItem, Phrasebook
from qa_audit.records import CallAudit, Transcript, Utterance

CASES = Path(__file__).parent / "checks"
SCRIPT_LINES = {"GREETING": GREETING, "CLOSING": CLOSING, "FOLLOWUP_OPENING": FOLLOWUP_OPENING,
                "FOLLOWUP_CLOSING": FOLLOWUP_CLOSING}
_LINE = re.compile(r"^(?:(a|c)|([A-Z_]+))(?:@([\d.]+)-([\d.]+))?(?::\s*(.*))?$")
_KEYS = {"name", "call", "asr", "ticket", "expect", "call_type", "meta", "role_source",
         "role_confidence", "confidence", "tickets_given", "stations", "form_item"}
_EXPECT = {"item", "status", "reason", "finding", "detail", "no_finding", "answers",
           "answer"}


def load_cases() -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    ids, cases = [], []
    for path in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            ids.append(f"{path.stem}: {case['name']}")
            cases.append((path.stem, case))
    return ids, cases


IDS, ALL_CASES = load_cases()


def _lines(text: str) -> list[tuple[str, float | None, float | None, str]]:
    out = []
    for raw in text.strip().splitlines():
        m = _LINE.match(raw.strip())
        assert m, f"not a call line: {raw!r}"
        who, script, start, end, said = m.groups()
        if script:
            who, said = SCRIPT_LINES[script]
        out.append((who, float(start) if start else None, float(end) if end else None, said))
    return out


def transcript_of(case: dict[str, Any]) -> Transcript:
    lines = _lines(case["call"])
    asr = case.get("asr", False)
    confidence = case.get("confidence", 0.9 if asr else None)
    timed = [start is not None for _, start, _, _ in lines]
    if not any(timed):
        return call(*[(who, said) for who, _, _, said in lines], confidence=confidence,
                    role_source=case.get("role_source", "channel" if asr else "given"),
                    role_confidence=case.get("role_confidence", 1.0))
    assert all(timed), "give every line of a timed call its times"
    role_source = case.get("role_source", "channel")
    return Transcript(
        call_id="20261110_082210_301_repair_950", role_source=role_source, audio="call.wav",
        role_confidence=case.get("role_confidence", 1.0 if role_source == "channel" else 0.9),
        utterances=[Utterance(role="agent" if who == "a" else "customer", start=start,
                              end=end, text=said, confidence=confidence or 0.9)
                    for who, start, end, said in lines])


def _with_item(pb: Phrasebook, call_type: str, spec: dict[str, Any]) -> Phrasebook:
    form = pb.form_for(call_type)
    forms = {**pb.forms, form.id: form.model_copy(
        update={"items": [*form.items, FormItem.model_validate(spec)]})}
    return Phrasebook(scripts=pb.scripts, forms=forms, holidays=pb.holidays,
                      conduct=pb.conduct, fine_rules=pb.fine_rules, matching=pb.matching,
                      sources=pb.sources)


def audit_of(case: dict[str, Any], pb: Phrasebook) -> CallAudit:
    unknown = set(case) - _KEYS
    assert not unknown, f"unknown keys {unknown}"
    call_type = case.get("call_type", "repair")
    if "form_item" in case:
        pb = _with_item(pb, call_type, case["form_item"])
    given = case.get("ticket")
    return score_call(
        transcript_of(case), meta(call_type, **case.get("meta", {})), pb,
        ticket=ticket(**given) if given is not None else None,
        tickets_given=case.get("tickets_given"),
        stations=load_stations(REPO / "samples" / "stations.csv")
        if case.get("stations") == "samples" else None)


@pytest.mark.parametrize(("family", "case"), ALL_CASES, ids=IDS)
def test_check_case(pb, family: str, case: dict[str, Any]) -> None:
    audit = audit_of(case, pb)
    for expect in _expectations(case):
        _holds(audit, expect)


def _expectations(case: dict[str, Any]) -> list[dict[str, Any]]:
    expect = case["expect"]
    return expect if isinstance(expect, list) else [expect]


def _holds(audit: CallAudit, expect: dict[str, Any]) -> None:
    assert set(expect) <= _EXPECT, f"unknown expectations {set(expect) - _EXPECT}"
    if "item" in expect:
        item = next(i for i in audit.items if i.id == expect["item"])
        allowed = expect.get("status", item.status)
        assert item.status in (allowed if isinstance(allowed, list) else [allowed]), item.reason
        assert expect.get("reason", "") in item.reason, item.reason
    codes = [f.code for f in audit.findings]
    if "finding" in expect:
        assert expect["finding"] in codes, audit.findings
        found = [f for f in audit.findings if f.code == expect["finding"]]
        assert any(expect.get("detail", "") in f.detail for f in found), found
    if "no_finding" in expect:
        assert expect["no_finding"] not in codes, audit.findings
    if "answers" in expect:
        assert audit.answers == expect["answers"]
    if "answer" in expect:
        assert {k: audit.answers.get(k) for k in expect["answer"]} == expect["answer"]


def _checks_in(case: dict[str, Any], expect: dict[str, Any], pb: Phrasebook) -> str | None:
    item = expect.get("item")
    if item is None:
        return None
    if case.get("form_item", {}).get("id") == item:
        return case["form_item"]["check"]
    form = pb.form_for(case.get("call_type", "repair"))
    return next(i.check for i in form.items if i.id == item)


def test_every_family_and_check_has_cases(pb) -> None:
    assert sorted(p.stem for p in CASES.glob("*.yaml")) == sorted(FAMILIES)
    statuses: dict[str, set[str]] = {}
    for _, case in ALL_CASES:
        for expect in _expectations(case):
            check = _checks_in(case, expect, pb)
            status = expect.get("status", "")
            if check is not None:
                statuses.setdefault(check, set()).update(
                    status if isinstance(status, list) else [status])
            for key, seen in (("finding", "raised"), ("no_finding", "not raised")):
                if key in expect:
                    statuses.setdefault(f"finding:{expect[key]}", set()).add(seen)
    for check in all_checks():
        if check.kind == "item":
            assert {"pass", "fail"} <= statuses.get(check.name, set()), check.name
        else:
            for code in check.findings:
                assert statuses.get(f"finding:{code}") == {"raised", "not raised"}, code
