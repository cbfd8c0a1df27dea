"""How well the timing checks find dead air, talk-over and fast speech in recordings.

    python scripts/eval_timing.py [--per-kind 4] [--keep DIR]

Plants each fault (tests/timing_faults.py: real call audio padded with silence, an agent's
answer moved into the resident's last words, an agent's run of speech sped up at the same
pitch) in `--per-kind` recordings of the samples and the shared devset, transcribes the new
recordings with the embedded model, and prints per planted fault whether a finding of its
kind came at its time, then every timing finding on the untouched recordings (there should
be none).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from timing_faults import (plant_dead_air, plant_fast_speech, plant_talk_over,  # noqa: E402
                           write_wav)

from qa_audit.audio import load_recording  # noqa: E402
from qa_audit.callmeta import AUDIO_SUFFIXES  # noqa: E402
from qa_audit.phrasebook import load_phrasebook  # noqa: E402
from qa_audit.timing import timing_findings  # noqa: E402
from qa_audit.transcribe import default_transcriber  # noqa: E402

SETS = [ROOT / "samples" / "recordings", ROOT.parent / "shared" / "devset" / "audio"]
PLANTERS = {"dead_air": plant_dead_air, "talk_over": plant_talk_over,
            "fast_speech": plant_fast_speech}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=4)
    ap.add_argument("--keep", type=Path, help="keep the planted recordings in this folder")
    ap.add_argument("--kind", dest="kinds", action="append", choices=sorted(PLANTERS),
                    help="plant only this kind (repeatable; default: all)")
    args = ap.parse_args()
    pb = load_phrasebook()
    transcriber = default_transcriber(phrasebook=pb)
    originals = [p for root in SETS if root.is_dir() for p in sorted(root.iterdir())
                 if p.suffix.lower() in AUDIO_SUFFIXES]
    out_dir = args.keep or Path(tempfile.mkdtemp(prefix="timing-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    print("untouched recordings:")
    false_on_clean = 0
    transcripts = {}
    for path in originals:
        transcript = transcriber.transcribe(path)
        transcripts[path] = transcript
        found = timing_findings(transcript, pb)
        false_on_clean += len(found)
        for f in found:
            print(f"  FALSE {path.stem}: {f.code} {f.detail}")
    print(f"  {len(originals)} recordings, {false_on_clean} timing findings")

    found_total = planted_total = false_total = 0
    for kind, plant in PLANTERS.items():
        if args.kinds and kind not in args.kinds:
            continue
        done = 0
        for path in originals:
            if done == args.per_kind:
                break
            try:
                planted = plant(load_recording(path), transcripts[path])
            except ValueError:
                continue  # this recording has no place for this fault
            new = write_wav(out_dir / f"{path.stem}__{kind}.wav", planted.streams)
            transcript = transcriber.transcribe(new)
            findings = timing_findings(transcript, pb)
            hit = [f for f in findings if f.code == kind and any(
                e.start <= planted.end + 1.0 and e.end >= planted.start - 1.0
                for e in f.evidence)]
            others = [f for f in findings if f not in hit]
            done += 1
            planted_total += 1
            found_total += bool(hit)
            false_total += len(others)
            print(f"{kind:11} {path.stem}: planted {planted.start:.1f}-{planted.end:.1f} s -> "
                  + (f"FOUND {hit[0].detail}" if hit else "missed")
                  + "".join(f"; ALSO {f.code} {f.detail}" for f in others), flush=True)
    print(f"\nplanted found {found_total}/{planted_total}; other timing findings on planted "
          f"recordings {false_total}; on untouched recordings {false_on_clean}")


if __name__ == "__main__":
    main()
