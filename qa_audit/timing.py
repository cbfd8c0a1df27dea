"""When people speak: dead air (冷场), talk-over (抢话), fast speech (语速过快) and the agent's
response times, from the times of a call transcribed from its recording.

The anchors (NICE, Genesys, Contact Lens) score these beside the words: a resident left in
silence, an agent who starts before the resident has finished, an agent who rattles the
script off faster than a caller can follow. Each is a finding with the times it happened, so
a shift lead can play it; the fine is fines.yaml's (0 unless the site sets one). Thresholds
live in the phrasebook (matching.yaml `timing:`), with the measurements behind them.

Only transcripts made from a recording are timed: a typed transcript's times are whatever the
typist wrote.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa_audit.normalize import normalize
from qa_audit.records import Finding, ResponseTimes, Transcript, Utterance, evidence_of

if TYPE_CHECKING:
    from qa_audit.phrasebook import Phrasebook, Timing

TIMING_CODES = ("dead_air", "talk_over", "fast_speech")


def is_timed(transcript: Transcript) -> bool:
    """Whether the transcript's times are a recording's (made by the transcriber)."""
    return bool(transcript.audio) and transcript.role_source != "given"


def _in_order(transcript: Transcript) -> list[Utterance]:
    return sorted(transcript.utterances, key=lambda u: (u.start, u.end))


def dead_air(transcript: Transcript, rules: Timing) -> list[tuple[Utterance, Utterance, float]]:
    """Stretches mid-call where nobody speaks for `dead_air_s` or more: (the last words
    before, the first after, seconds). A hold the agent announced (请稍等) is not dead air."""
    found = []
    spoken = _in_order(transcript)
    last: Utterance | None = None
    for utterance in spoken:
        if last is not None:
            gap = utterance.start - last.end
            held = last.role == "agent" and any(
                normalize(p) in normalize(last.text) for p in rules.hold_phrases)
            if gap >= rules.dead_air_s and not held:
                found.append((last, utterance, gap))
        if last is None or utterance.end > last.end:
            last = utterance
    return found


def talk_over(transcript: Transcript, rules: Timing) -> list[tuple[Utterance, Utterance, float]]:
    """The agent starts while the resident is still speaking and both speak for `talk_over_s`
    or more: (the resident's words, the agent's, seconds of overlap). Stereo only: on one
    stream the recognizer cuts one voice at a time, and its times say nothing of overlap."""
    if transcript.role_source != "channel":
        return []
    found = []
    residents = transcript.by_role("customer")
    for agent in transcript.by_role("agent"):
        for resident in residents:
            if resident.start < agent.start < resident.end:
                overlap = min(agent.end, resident.end) - agent.start
                if overlap >= rules.talk_over_s:
                    found.append((resident, agent, overlap))
                break
    return found


def agent_stretches(transcript: Transcript, pause_s: float = 1.0) -> list[list[Utterance]]:
    """The agent's runs of speech: utterances with no resident words between them and
    pauses under `pause_s` (a recognizer cuts one breath of script at its commas)."""
    runs: list[list[Utterance]] = []
    for utterance in _in_order(transcript):
        if utterance.role != "agent":
            if runs and runs[-1]:
                runs.append([])
            continue
        if runs and runs[-1] and utterance.start - runs[-1][-1].end < pause_s:
            runs[-1].append(utterance)
        else:
            runs.append([utterance])
    return [run for run in runs if run]


def speech_rate(run: Sequence[Utterance]) -> float:
    """Characters a minute over a run of speech, its short pauses included (punctuation and
    spaces not counted)."""
    seconds = run[-1].end - run[0].start
    chars = sum(len(normalize(u.text)) for u in run)
    return 60.0 * chars / seconds if seconds > 0 else 0.0


def fast_speech(transcript: Transcript, rules: Timing) -> list[tuple[list[Utterance], float]]:
    """Agent runs of `fast_speech_min_s` or more said faster than
    `fast_speech_chars_per_minute`: (the run, characters a minute)."""
    return [(run, rate) for run in agent_stretches(transcript)
            if run[-1].end - run[0].start >= rules.fast_speech_min_s
            and (rate := speech_rate(run)) > rules.fast_speech_chars_per_minute]


def response_times(transcript: Transcript) -> ResponseTimes | None:
    """How long the agent took to answer each time the resident stopped: from the end of
    the resident's words to the agent's next words, where the agent spoke next (negative
    where the agent started before the resident finished)."""
    waits = []
    spoken = _in_order(transcript)
    for before, after in zip(spoken, spoken[1:]):
        if before.role == "customer" and after.role == "agent":
            waits.append(round(after.start - before.end, 2))
    if not waits:
        return None
    return ResponseTimes(count=len(waits), median_s=round(statistics.median(waits), 2),
                         longest_s=max(waits))


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _finding(phrasebook: Phrasebook, code: str, detail: str,
             said: Sequence[Utterance]) -> Finding:
    return Finding(code=code, fine_yuan=phrasebook.fine(code), detail=detail,
                   evidence=[evidence_of(u) for u in said], serious=phrasebook.is_serious(code))


def dead_air_findings(transcript: Transcript, phrasebook: Phrasebook) -> list[Finding]:
    return [_finding(phrasebook, "dead_air", f"冷场{gap:.1f}秒（{_clock(before.end)}–"
                     f"{_clock(after.start)}无人说话）", [before, after])
            for before, after, gap in dead_air(transcript, phrasebook.matching.timing)]


def talk_over_findings(transcript: Transcript, phrasebook: Phrasebook) -> list[Finding]:
    return [_finding(phrasebook, "talk_over", f"抢话：住户还在说，坐席在{_clock(agent.start)}开口，"
                     f"重叠{overlap:.1f}秒", [resident, agent])
            for resident, agent, overlap in talk_over(transcript, phrasebook.matching.timing)]


def fast_speech_findings(transcript: Transcript, phrasebook: Phrasebook) -> list[Finding]:
    rules = phrasebook.matching.timing
    return [_finding(phrasebook, "fast_speech", f"语速过快：{_clock(run[0].start)}起"
                     f"{run[-1].end - run[0].start:.1f}秒每分钟{rate:.0f}字"
                     f"（限{rules.fast_speech_chars_per_minute:.0f}）", run)
            for run, rate in fast_speech(transcript, rules)]


def timing_findings(transcript: Transcript, phrasebook: Phrasebook) -> list[Finding]:
    """Dead air, talk-over and fast speech as findings with the times they happened (the
    form's engine raises them through the timing checks, `qa_audit.form.checks.timing`)."""
    if not is_timed(transcript):
        return []
    return [*dead_air_findings(transcript, phrasebook), *talk_over_findings(transcript, phrasebook),
            *fast_speech_findings(transcript, phrasebook)]
