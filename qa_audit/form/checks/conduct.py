"""A site's own phrases and the agent's conduct.

`phrase`: an item a site adds to its form without code, passed when the speaker says one of
its phrases (first, last or anywhere). `conduct`: spot-check criterion 服务忌语 and 无效承诺:
the agent never uses a service taboo (a whole rude reply, or a rude phrase inside one) and
never promises what the line cannot (a time the repairman will come); each is a fine on the
turn that says it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qa_audit.dialogue import clauses
from qa_audit.form.facts import CallContext
from qa_audit.form.findings import finding
from qa_audit.form.registry import register, register_finding
from qa_audit.form.verdict import Verdict
from qa_audit.matching import best_phrase, phrase_score
from qa_audit.normalize import normalize

if TYPE_CHECKING:
    from qa_audit.phrasebook import FormItem
    from qa_audit.records import Finding


@register("phrase", label="自定义用语")
def check_phrase(ctx: CallContext, item: FormItem) -> Verdict:
    """A site's own item: one of `phrases` said by `speaker`, first, last or anywhere."""
    pool = [t for t in ctx.turns if t.role == item.speaker]
    if item.where == "first":
        pool = pool[:1]
    elif item.where == "last":
        pool = pool[-1:]
    best_turn, best = None, 0.0
    for t in pool:
        s = best_phrase(item.phrases, t.text).score
        if s > best:
            best_turn, best = t, s
    status = ctx.grade(best)
    evidence = [best_turn] if best_turn else pool[-1:]
    reasons = {"pass": f"说了「{item.label or item.id}」", "fail": f"没有说「{item.label or item.id}」",
               "review": f"可能说了「{item.label or item.id}」，请人工确认"}
    return Verdict(status, reasons[status], evidence, best)


@register_finding("conduct", label="服务忌语与无效承诺", findings=("impolite", "invalid_promise"))
def conduct_findings(ctx: CallContext) -> list[Finding]:
    """Each agent turn that uses a phrase of the conduct list's service taboos (服务忌语) or
    makes a promise the line cannot keep (无效承诺)."""
    pb = ctx.phrasebook
    out: list[Finding] = []
    impolite, promise = pb.conduct.impolite, pb.conduct.invalid_promise
    whole = {normalize(p) for p in impolite.whole_utterance_only}
    for t in ctx.agent():
        n = normalize(t.text)
        hit = None
        for phrase in impolite.phrases:
            np_ = normalize(phrase)
            if np_ in whole:
                if any(normalize(c) == np_ for c in clauses(t.text)):
                    hit = phrase
            elif len(np_) >= 3 and phrase_score(phrase, t.text) >= 90:
                hit = phrase
            if hit:
                break
        if hit is None:
            shape = next((m for p in impolite.patterns if (m := re.search(p, n))), None)
            hit = shape.group(0) if shape else None
        if hit:
            out.append(finding(pb, "impolite", f"服务忌语「{hit}」", [t]))
        pattern = next((p for p in promise.patterns if re.search(p, n)), None)
        if pattern:
            out.append(finding(pb, "invalid_promise", f"无效承诺：「{t.text}」", [t]))
    return out
