"""Agreement of the audit engine with a shift lead's labels, on a labelled set of calls.

    python scripts/eval_audit.py tests/data/devcalls           # transcripts in clean/ and asr/
    python scripts/eval_audit.py ../shared/devset --transcripts labels --data data
    python scripts/eval_audit.py ../shared/devset --audio audio --data data   # from recordings
    python scripts/eval_audit.py samples --audio recordings                    # from recordings

The set's folder holds labels/<call_id>.json (the devset's label format), transcripts, and
optionally calls.csv / tickets.csv / stations.csv. Prints the agreement per transcript folder
and the disagreements.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qa_audit.evaluate import Label, compare
from qa_audit.phrasebook import load_phrasebook
from qa_audit.pipeline import audit_transcript, load_dispatch
from qa_audit.transcripts import read_transcript


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("set", type=Path)
    ap.add_argument("--transcripts", nargs="*", default=None,
                    help="transcript folders inside the set (default: clean asr, else labels)")
    ap.add_argument("--data", default=".", help="folder of the CSVs inside the set")
    ap.add_argument("--no-tickets", action="store_true", help="score without the dispatch data")
    ap.add_argument("--quiet", action="store_true", help="only the summary lines")
    ap.add_argument("--audio", help="folder of recordings inside the set: transcribe them "
                    "(embedded model, cached) and audit what the recognizer heard")
    ap.add_argument("--asr-folders", nargs="*", default=["asr"],
                    help="folders whose transcripts stand for recognizer output (stereo roles)")
    ap.add_argument("--no-listen", action="store_true",
                    help="with --audio: do not listen again to items left in review")
    args = ap.parse_args()

    root: Path = args.set
    data_dir = root / args.data
    pb = load_phrasebook()
    csv = {name: data_dir / f"{name}.csv" for name in ("calls", "tickets", "stations")}
    data = load_dispatch(**{k: (v if v.exists() and not (args.no_tickets and k != "calls")
                                else None) for k, v in csv.items()})
    labels = {lab.call_id: lab for lab in map(Label.read, sorted((root / "labels").glob("*.json")))}
    if args.audio:
        from qa_audit.transcribe import default_transcriber, transcribe_many

        transcriber = default_transcriber(
            phrasebook=pb, stations=data.stations.stations if data.stations else None)
        audio = sorted(p for p in (root / args.audio).iterdir() if p.is_file())
        transcripts, failures = transcribe_many(transcriber, audio)
        for path, message in failures:
            print("   failed:", path, message)
        audits = [audit_transcript(t, data, pb, transcriber=None if args.no_listen else transcriber)
                  for t in transcripts]
        agg = compare(audits, labels, review_counts_as_catch=False)
        dispatch = {"wrong_station", "wrong_phone", "wrong_name", "wrong_address"}
        false_dispatch = [f for f in agg.findings_false if f.split()[-1] in dispatch]
        print(f"audio: {len(audits)} calls; {agg.summary()}; false dispatch findings "
              f"{len(false_dispatch)}")
        if not args.quiet:
            for line in agg.disagreements + [f"missed: {x}" for x in agg.findings_missed] + [
                    f"false: {x}" for x in agg.findings_false]:
                print("  ", line)
        return
    folders = args.transcripts or [f for f in ("clean", "asr") if (root / f).is_dir()] or ["labels"]
    ticket_items = ["problem", "name", "phone", "address", "station", "seat", "recorder",
                    "address_format"] if args.no_tickets else []
    for folder in folders:
        transcripts = [read_transcript(f) for f in sorted((root / folder).glob("*.json"))]
        if folder in args.asr_folders:
            # What the transcriber writes for a stereo call: roles from channels, words
            # from a recognizer (so homophones in names are not the resident's spelling).
            transcripts = [t.model_copy(update={"role_source": "channel"}) for t in transcripts]
        audits = [audit_transcript(t, data, pb) for t in transcripts]
        agg = compare(audits, labels, skip_items=ticket_items)
        print(f"{folder}: {len(audits)} calls; {agg.summary()}")
        if not args.quiet:
            for line in agg.disagreements:
                print("  ", line)
            for line in agg.findings_missed:
                print("   missed finding:", line)
            for line in agg.findings_false:
                print("   false finding:", line)


if __name__ == "__main__":
    main()
