"""A day's audit against plain transcription: how long the whole audit of N recordings takes
beside plain faster-whisper's transcription of the same files, in one run.

    python scripts/bench_day.py [--set DIR ...] [--limit N] [--device cpu]

For every recording of each set (default: samples/ and, when it lies beside the repository,
the shared devset), one after the other with their order alternating from file to file (a
busy machine hurts both alike):
- plain: faster-whisper as its README shows it, with the same embedded model (VAD on,
  beam 5, a stereo file as its two channels), transcription only;
- qa-audit: the whole audit of the call as `qa-audit audit` does it — transcribe (with an
  empty transcript cache), score against the phrasebook and the dispatch data, listen again
  where the recognizer left doubt, store it in a SQLite file.
Printed side by side: recordings, hours of audio, wall time, real-time factor (wall seconds
per second of audio), calls an hour, and qa-audit's time as a share of plain's; then where
qa-audit's time goes (transcription, scoring and listening, storing). Issue 14's bar is a
whole audit at most 0.8x plain's transcription time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from bench_transcribe import Plain  # noqa: E402

from qa_audit.audio import probe  # noqa: E402
from qa_audit.callmeta import AUDIO_SUFFIXES  # noqa: E402
from qa_audit.phrasebook import load_phrasebook  # noqa: E402
from qa_audit.pipeline import audit_transcript, load_dispatch  # noqa: E402
from qa_audit.store import Store  # noqa: E402
from qa_audit.transcribe import TranscribeOptions, default_transcriber, usable_cores  # noqa: E402

DEVSET = ROOT.parent / "shared" / "devset"


@dataclass
class Clock:
    wall: float = 0.0
    transcribe: float = 0.0
    audit: float = 0.0
    store: float = 0.0


def _set_files(root: Path) -> tuple[list[Path], dict[str, Path | None]]:
    audio = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    found = {name: next(root.rglob(f"{name}.csv"), None)
             for name in ("calls", "tickets", "stations")}
    return audio, found


def _row(name: str, calls: int, audio_s: float, wall: float, base: float | None) -> str:
    share = f"{wall / base:.2f}x" if base else "—"
    return (f"{name:9} {calls:5d} {audio_s / 3600:7.3f} {wall:9.1f} {wall / audio_s:6.3f} "
            f"{3600 * calls / wall:10.0f} {share:>9}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="sets", type=Path, action="append")
    parser.add_argument("--limit", type=int, help="at most N recordings in all")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    sets = args.sets or [ROOT / "samples"] + ([DEVSET] if DEVSET.is_dir() else [])
    pb = load_phrasebook()
    work = []
    for root in sets:
        audio, files = _set_files(root)
        data = load_dispatch(**files)
        transcriber = default_transcriber(
            TranscribeOptions(device=args.device), phrasebook=pb,
            stations=data.stations.stations if data.stations else None,
            cache_dir=Path(tempfile.mkdtemp(prefix="bench-day-")),
            share_model_with=work[0][2] if work else None)
        work += [(path, data, transcriber) for path in audio]
    if args.limit:
        work = work[: args.limit]
    if not work:
        sys.exit("error: no recordings in " + ", ".join(map(str, sets)))
    threads = usable_cores()
    first = work[0][2]
    plain = Plain(str(first.model_source.path), first.device, first.options.compute_type,
                  threads)
    for _, _, transcriber in work:  # loading is not auditing: before the clocks start
        _ = transcriber.model, transcriber.lexicon, transcriber.hotwords
    audio_s = sum(probe(path).duration or 0.0 for path, _, _ in work)
    ours, base = Clock(), 0.0
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "day.sqlite") as store:
        for n, (path, data, transcriber) in enumerate(work):
            def plain_call() -> float:
                start = time.perf_counter()
                plain.transcribe(path)
                return time.perf_counter() - start

            def our_call() -> None:
                start = time.perf_counter()
                transcript = transcriber.transcribe(path)
                heard = time.perf_counter()
                result = audit_transcript(transcript, data, pb, transcriber=transcriber)
                scored = time.perf_counter()
                store.save_audit(result, transcript=transcript)
                done = time.perf_counter()
                ours.transcribe += heard - start
                ours.audit += scored - heard
                ours.store += done - scored
                ours.wall += done - start

            if n % 2:
                our_call()
                base += plain_call()
            else:
                base += plain_call()
                our_call()
            print(f"{path.name}: done", file=sys.stderr, flush=True)
    print(f"\n{len(work)} recordings, {audio_s / 60:.1f} min of audio, {threads} model threads, "
          f"device {args.device}")
    print(f"{'':9} {'calls':>5} {'hours':>7} {'wall s':>9} {'RTF':>6} {'calls/h':>10} "
          f"{'of plain':>9}")
    print(_row("plain", len(work), audio_s, base, None))
    print(_row("qa-audit", len(work), audio_s, ours.wall, base))
    print(f"qa-audit's time: transcription {ours.transcribe:.1f} s "
          f"({ours.transcribe / base:.2f}x plain), scoring and listening again "
          f"{ours.audit:.1f} s, storing {ours.store:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
