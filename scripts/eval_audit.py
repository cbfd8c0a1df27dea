"""Agreement of the audit engine with a shift lead's labels, on a labelled set of calls.

    python scripts/eval_audit.py tests/data/heldout            # transcripts in clean/ and asr/
    python scripts/eval_audit.py ../shared/devset --transcripts labels --data data

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
    ap.add_argument("--asr-folders", nargs="*", default=["asr"],
                    help="folders whose transcripts stand for recognizer output (stereo roles)")
    args = ap.parse_args()

    root: Path = args.set
    data_dir = root / args.data
    pb = load_phrasebook()
    csv = {name: data_dir / f"{name}.csv" for name in ("calls", "tickets", "stations")}
    data = load_dispatch(**{k: (v if v.exists() and not (args.no_tickets and k != "calls")
                                else None) for k, v in csv.items()})
    labels = {lab.call_id: lab for lab in map(Label.read, sorted((root / "labels").glob("*.json")))}
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
