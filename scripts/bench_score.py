"""How fast the audit engine scores transcripts (issue: a thousand in seconds, not minutes).

    python scripts/bench_score.py [--calls 1000]

Scores N transcripts made from the labelled development calls (each copy gets its own call
id and its words shuffled between copies of the same role, so the normalization caches do not
make the copies free), with the dispatch data joined, and prints calls/second. Beside it, the
same run with the text caches cleared before every call — the cost of matching from scratch —
and the time a person needs by ear (the call's own length, listened to once).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from qa_audit import matching, normalize
from qa_audit.phrasebook import load_phrasebook
from qa_audit.pipeline import audit_transcript, load_dispatch
from qa_audit.transcripts import read_transcript

ROOT = Path(__file__).resolve().parents[1] / "tests" / "data" / "devcalls"


def corpus(n: int, seed: int = 7):
    base = [read_transcript(f) for f in sorted((ROOT / "clean").glob("*.json"))]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = base[i % len(base)]
        # A digit changed in each copy: the phone/house numbers differ, as in real traffic.
        utterances = []
        for u in t.utterances:
            text = u.text.replace("三", rng.choice("一二三四五六七八九"), 1)
            utterances.append(u.model_copy(update={"text": text}))
        out.append(t.model_copy(update={"call_id": f"{t.call_id}_{i}",
                                        "utterances": utterances}))
    return out


def clear_caches() -> None:
    normalize.normalize.cache_clear()
    normalize.pinyin_key.cache_clear()
    matching.content_words.cache_clear()
    matching.phrase_score.cache_clear()


def run(transcripts, data, pb, *, cold: bool) -> float:
    start = time.perf_counter()
    for t in transcripts:
        if cold:
            clear_caches()
        audit_transcript(t, data, pb)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1000)
    args = ap.parse_args()
    pb = load_phrasebook()
    data = load_dispatch(calls=ROOT / "calls.csv", tickets=ROOT / "tickets.csv",
                         stations=ROOT / "stations.csv")
    transcripts = corpus(args.calls)
    audio_seconds = sum(max(u.end for u in t.utterances) for t in transcripts)
    run(transcripts[:20], data, pb, cold=False)  # jieba's dictionary, imports
    warm = run(transcripts, data, pb, cold=False)
    cold = run(transcripts[: max(1, args.calls // 10)], data, pb, cold=True) * 10
    print(f"{'':32}{'seconds':>10}{'calls/s':>10}")
    print(f"{'qa-audit score (caches on)':32}{warm:10.1f}{args.calls / warm:10.0f}")
    print(f"{'matching from scratch (no cache)':32}{cold:10.1f}{args.calls / cold:10.0f}")
    print(f"{'a person listening once':32}{audio_seconds:10.0f}{args.calls / audio_seconds:10.2f}")
    print(f"{args.calls} calls, {audio_seconds / 3600:.1f} h of conversation")


if __name__ == "__main__":
    main()
