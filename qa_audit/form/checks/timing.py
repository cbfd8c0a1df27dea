"""When people speak, from a recording's times (qa_audit.timing): dead air (冷场), talk-over
(抢话) and fast speech (语速过快).

Spot-check criterion (as NICE, Genesys and Contact Lens score it beside the words): a
resident is not left in silence mid-call (10 s, a hold the agent announced excepted), the
agent does not start while the resident is still speaking (1.5 s of overlap, stereo only:
one stream's times say nothing of overlap), and does not rattle the script off faster than a
caller can follow (a 4 s run over 400 characters a minute). Each is a finding with its
times; the fine is fines.yaml's, 0 unless the site sets one. Typed transcripts are not timed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa_audit.form.facts import CallContext
from qa_audit.form.registry import register_finding
from qa_audit.timing import dead_air_findings, fast_speech_findings, talk_over_findings

if TYPE_CHECKING:
    from qa_audit.records import Finding


@register_finding("timing.dead_air", label="冷场", findings=("dead_air",), needs={"audio"})
def check_dead_air(ctx: CallContext) -> list[Finding]:
    return dead_air_findings(ctx.transcript, ctx.phrasebook)


@register_finding("timing.talk_over", label="抢话", findings=("talk_over",),
                  needs={"audio", "stereo"})
def check_talk_over(ctx: CallContext) -> list[Finding]:
    return talk_over_findings(ctx.transcript, ctx.phrasebook)


@register_finding("timing.fast_speech", label="语速过快", findings=("fast_speech",),
                  needs={"audio"})
def check_fast_speech(ctx: CallContext) -> list[Finding]:
    return fast_speech_findings(ctx.transcript, ctx.phrasebook)
