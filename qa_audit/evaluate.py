"""Agreement between the machine's verdicts and a shift lead's labels.

A label file (the devset's format) lists the items whose verdict is not `pass` (a value may
be "pass|na" when either is fair), the items not judged (`loose`), the finding codes that
must be reported (codes absent from it must not be), and the follow-up answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_audit.records import CallAudit

# Finding codes a label speaks for; others (e.g. a site's own codes) are not judged.
JUDGED_FINDINGS = frozenset({
    "wrong_station", "wrong_phone", "wrong_name", "wrong_address", "slow_answer",
    "agent_hung_up", "invalid_promise", "impolite", "nonstandard_phrase", "missing_ticket",
    "repairman_charged", "repair_overdue"})


@dataclass
class Label:
    call_id: str
    items: dict[str, str]
    loose: set[str]
    findings: set[str]
    answers: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> Label:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(call_id=data["call_id"], items=dict(data.get("items", {})),
                   loose=set(data.get("loose", [])), findings=set(data.get("findings", [])),
                   answers=dict(data.get("answers", {})))

    def expected(self, item_id: str) -> set[str]:
        return set(self.items.get(item_id, "pass").split("|"))


@dataclass
class Agreement:
    items_total: int = 0
    items_agree: int = 0
    planted_total: int = 0
    planted_caught: int = 0
    findings_missed: list[str] = field(default_factory=list)
    findings_false: list[str] = field(default_factory=list)
    answers_total: int = 0
    answers_right: int = 0
    fails_without_evidence: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    reviews: int = 0

    @property
    def item_rate(self) -> float:
        return self.items_agree / self.items_total if self.items_total else 1.0

    @property
    def planted_rate(self) -> float:
        return self.planted_caught / self.planted_total if self.planted_total else 1.0

    def summary(self) -> str:
        return (f"items agree {self.items_agree}/{self.items_total} ({self.item_rate:.1%}); "
                f"reviews {self.reviews}; planted caught {self.planted_caught}/"
                f"{self.planted_total}; findings missed {len(self.findings_missed)}, false "
                f"{len(self.findings_false)}; answers {self.answers_right}/{self.answers_total}; "
                f"fails without evidence {len(self.fails_without_evidence)}")


def compare(audits: Iterable[CallAudit], labels: dict[str, Label], *,
            skip_items: Iterable[str] = (), judge_findings: Iterable[str] = JUDGED_FINDINGS,
            review_counts_as_catch: bool = False) -> Agreement:
    """Compare audits with labels. `skip_items`: items not judged in this comparison (e.g. the
    ticket items when no tickets were given). A `review` never agrees with a label, except
    that it counts as catching a planted failure when `review_counts_as_catch`."""
    agg = Agreement()
    skip = set(skip_items)
    judged = set(judge_findings)
    for audit in audits:
        label = labels.get(audit.call_id)
        if label is None:
            continue
        for item in audit.items:
            if item.id in skip or item.id in label.loose:
                continue
            expected = label.expected(item.id)
            agg.items_total += 1
            agg.reviews += item.status == "review"
            if item.status in expected:
                agg.items_agree += 1
            else:
                agg.disagreements.append(
                    f"{audit.call_id} {item.id}: machine {item.status}, label "
                    f"{'|'.join(sorted(expected))} — {item.reason}")
            if expected == {"fail"}:
                agg.planted_total += 1
                if item.status == "fail" or (review_counts_as_catch and item.status == "review"):
                    agg.planted_caught += 1
            if item.status == "fail" and not item.evidence:
                agg.fails_without_evidence.append(f"{audit.call_id} {item.id}")
        found = {f.code for f in audit.findings} & judged
        expected_findings = label.findings & judged
        for code in expected_findings - found:
            agg.findings_missed.append(f"{audit.call_id} {code}")
        for code in found - expected_findings:
            agg.findings_false.append(f"{audit.call_id} {code}")
        agg.planted_total += len(expected_findings)
        agg.planted_caught += len(expected_findings & found)
        for key, value in label.answers.items():
            agg.answers_total += 1
            if audit.answers.get(key) == value:
                agg.answers_right += 1
            else:
                agg.disagreements.append(f"{audit.call_id} answer {key}: machine "
                                         f"{audit.answers.get(key)!r}, label {value!r}")
        for key in set(audit.answers) - set(label.answers):
            agg.answers_total += 1
            agg.disagreements.append(f"{audit.call_id} answer {key}: machine "
                                     f"{audit.answers[key]!r}, label has none")
    return agg
