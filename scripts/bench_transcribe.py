"""Transcription accuracy and speed: qa-audit's transcriber beside plain faster-whisper.

    python scripts/bench_transcribe.py [--set DIR ...] [--model embedded] [--limit N]

For every recording in each set (a folder holding audio files and, anywhere below it, a
reference JSON with the same stem and formats.md's `utterances`; default: the shared
devset), both transcribe the same file with the same model, one after the other (their
order alternates from file to file, so a busy machine hurts both alike):
- plain: faster-whisper as documented: VAD on, beam 5, stereo split into its two channels
  (left = agent), a mono file as one text;
- qa-audit: `Transcriber` with its defaults (or `--option name=value` overrides).
Printed: character error rate (CER) per role and over all text, wall and CPU seconds per
second of audio (real-time factor), qa-audit's time as a share of plain's, and the time of
a second qa-audit pass over the same files (the transcript cache).

CER: hypothesis and reference both go through qa_audit.normalize.normalize (simplified,
no punctuation, numbers as digits), the texts of one role are concatenated in time order,
and the Levenshtein distance is divided by the reference length. qa-audit's roles on mono
calls are its own inference, so a wrongly attributed utterance counts as errors in both
roles. Plain has no roles on a mono file: there only its all-text CER is counted (its
per-role columns leave those calls out, and say so).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from qa_audit.audio import load_recording
from qa_audit.normalize import normalize, to_simplified
from qa_audit.transcribe import (
    AUDIO_SUFFIXES,
    TranscribeOptions,
    Transcriber,
    default_transcriber,
    usable_cores,
)

DEVSET = Path(__file__).resolve().parents[2] / "shared" / "devset"
ROLES = ("agent", "customer")


@dataclass
class Score:
    """Edit distance and reference length, summed over calls."""

    edits: int = 0
    length: int = 0

    def add(self, hypothesis: str, reference: str) -> float:
        hyp, ref = normalize(hypothesis), normalize(reference)
        distance = Levenshtein.distance(hyp, ref)
        self.edits += distance
        self.length += len(ref)
        return distance / max(len(ref), 1)

    @property
    def cer(self) -> float:
        return self.edits / max(self.length, 1)


@dataclass
class System:
    name: str
    roles: dict[str, Score] = field(default_factory=lambda: {r: Score() for r in ROLES})
    all_text: Score = field(default_factory=Score)
    wall: float = 0.0
    cpu: float = 0.0
    audio: float = 0.0
    role_calls: int = 0  # calls counted in the per-role columns


def find_calls(sets: list[Path]) -> list[tuple[Path, dict]]:
    return [(audio, reference) for _, audio, reference in find_calls_by_set(sets)]


def find_calls_by_set(sets: list[Path]) -> list[tuple[Path, Path, dict]]:
    """(set, recording, reference) for every recording with a reference, set by set."""
    calls = []
    for root in sets:
        references = {}
        for path in root.rglob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8-sig"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("utterances"), list):
                references[path.stem] = data
        for audio in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
            if audio.stem in references:
                calls.append((root, audio, references[audio.stem]))
    return calls


def reference_text(reference: dict, role: str | None) -> str:
    return "".join(u["text"] for u in sorted(reference["utterances"], key=lambda u: u["start"])
                   if role is None or u["role"] == role)


class Plain:
    """faster-whisper as its README shows it, split by channel where there are two."""

    def __init__(self, model_path: str, device: str, compute_type: str, threads: int) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(model_path, device=device, compute_type=compute_type,
                                  cpu_threads=threads)

    def transcribe(self, audio: Path) -> dict[str | None, str]:
        import av
        from faster_whisper import decode_audio

        with av.open(str(audio)) as container:
            channels = container.streams.audio[0].channels
        if channels == 2:
            left, right = decode_audio(str(audio), split_stereo=True)
            return {"agent": self._text(left), "customer": self._text(right)}
        return {None: self._text(decode_audio(str(audio)))}

    def _text(self, samples) -> str:
        segments, _ = self.model.transcribe(samples, language="zh", beam_size=5,
                                            vad_filter=True)
        return "".join(s.text for s in segments)


def timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def parse_options(pairs: list[str]) -> dict:
    fields = {f.name: f for f in dataclasses.fields(TranscribeOptions)}
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in fields:
            sys.exit(f"error: unknown option {name!r}; known: {', '.join(fields)}")
        if value.lower() in ("true", "false", "none", "null"):
            # True/False as Python writes them too: "False" must not become a true string.
            out[name] = {"true": True, "false": False}.get(value.lower())
            continue
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value  # a plain string (a prompt, a model name)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="sets", type=Path, action="append",
                        help="folder with recordings and reference JSONs (repeatable; "
                             f"default {DEVSET})")
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--stations", type=Path, help="station directory for the vocabulary "
                        "(default: a stations.csv inside the set, if any)")
    parser.add_argument("--limit", type=int, help="only the first N calls")
    parser.add_argument("--only", help="only calls whose file name matches this regex")
    parser.add_argument("--option", action="append", default=[],
                        help="TranscribeOptions override, name=value (repeatable)")
    parser.add_argument("--no-plain", action="store_true", help="skip plain (tuning runs)")
    parser.add_argument("--no-rerun", action="store_true", help="skip the cached second pass")
    parser.add_argument("--verbose", action="store_true", help="print the texts")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    sets = args.sets or [DEVSET]
    calls = find_calls_by_set(sets)
    if args.only:
        calls = [c for c in calls if re.search(args.only, c[1].name)]
    if args.limit:
        calls = calls[: args.limit]
    if not calls:
        sys.exit("error: no recordings with reference transcripts found in "
                 + ", ".join(map(str, sets)))
    cache = Path(tempfile.mkdtemp(prefix="bench-transcribe-"))
    options = TranscribeOptions(model=args.model, device=args.device,
                                **parse_options(args.option))
    # Each set with its own station directory (its communities are in its vocabulary),
    # all with one model.
    per_set: dict[Path, Transcriber] = {}
    for root in sets:
        stations = args.stations or next(root.rglob("stations.csv"), None)
        per_set[root] = default_transcriber(options, stations=stations, cache_dir=cache,
                                            share_model_with=next(iter(per_set.values()),
                                                                  None))
    ours = per_set[sets[0]]
    # Both models are loaded before any clock starts: loading is not transcribing.
    threads = options.cpu_threads or usable_cores()
    plain = None if args.no_plain else Plain(str(ours.model_source.path), ours.device,
                                             options.compute_type, threads)
    for transcriber in per_set.values():  # loading, not transcribing: before the clocks
        _ = transcriber.model, transcriber.lexicon, transcriber.hotwords

    # Figures per set (a set is one kind of audio: it must meet the targets on its own),
    # and over all sets.
    by_set = {root: {"qa-audit": System("qa-audit"), "plain": System("plain")} for root in sets}
    rows = []
    print(f"{len(calls)} calls; model {ours.model_source.name} ({ours.model_source.sha256[:12]}) "
          f"on {ours.device}, {threads} threads; options {options.decoding()}", file=sys.stderr)
    for index, (root, audio, reference) in enumerate(calls):
        duration = load_recording(audio).duration
        order = ["plain", "qa-audit"] if index % 2 == 0 else ["qa-audit", "plain"]
        row = {"set": str(root), "call": audio.name, "seconds": round(duration, 1)}
        for name in order:
            if name == "plain" and plain is None:
                continue
            system = by_set[root][name]
            if name == "qa-audit":
                transcript, wall, cpu = timed(per_set[root].transcribe, audio)
                texts = {r: "".join(u.text for u in transcript.utterances if u.role == r)
                         for r in ROLES}
                row["roles"] = f"{transcript.role_source} {transcript.role_confidence:.2f}"
            else:
                texts, wall, cpu = timed(plain.transcribe, audio)
            system.wall += wall
            system.cpu += cpu
            system.audio += duration
            if None in texts:  # plain on a mono file: all text only
                row[f"{name} all"] = system.all_text.add(texts[None],
                                                         reference_text(reference, None))
            else:
                system.role_calls += 1
                for role in ROLES:
                    row[f"{name} {role}"] = system.roles[role].add(
                        texts[role], reference_text(reference, role))
                row[f"{name} all"] = _all_text(system, name, texts, reference,
                                               transcript if name == "qa-audit" else None)
            row[f"{name} rtf"] = wall / duration
            if args.verbose:
                for role in (ROLES if None not in texts else (None,)):
                    print(f"  {name:8} {role or 'all':8} {to_simplified(texts[role])}",
                          file=sys.stderr)
        rows.append(row)
        print(_row_line(row), file=sys.stderr, flush=True)

    rerun = None
    if not args.no_rerun:
        # Same files, same transcriber, warm cache: nothing should be transcribed again.
        _, rerun_wall, _ = timed(lambda: [per_set[r].transcribe(a) for r, a, _ in calls])
        rerun = rerun_wall

    total = {name: _sum([s[name] for s in by_set.values()]) for name in ("qa-audit", "plain")}
    parts = [(f"{root} ({sum(r['set'] == str(root) for r in rows)} calls)", systems,
              [r for r in rows if r["set"] == str(root)]) for root, systems in by_set.items()]
    if len(sets) > 1:
        parts.append((f"all sets ({len(rows)} calls)", total, rows))
    for title, systems, set_rows in parts:
        if set_rows:
            print(f"\n== {title}\n{_report(systems, set_rows, plain is not None)}")
    if rerun is not None:
        ours = total["qa-audit"]
        print(f"\nsecond qa-audit pass (cache): {rerun:.2f} s vs {ours.wall:.1f} s first = "
              f"{ours.wall / max(rerun, 1e-9):.0f}x faster")
    if args.json:
        args.json.write_text(json.dumps({
            "options": options.decoding(), "rows": rows, "rerun_wall": rerun,
            "sets": {str(root): _figures(systems) for root, systems in by_set.items()},
            "systems": _figures(total)}, indent=1), encoding="utf-8")
    return 0


def _figures(systems: dict[str, System]) -> dict:
    return {n: {"cer": {r: s.roles[r].cer for r in ROLES}, "cer_all": s.all_text.cer,
                "wall": s.wall, "cpu": s.cpu, "audio": s.audio, "role_calls": s.role_calls}
            for n, s in systems.items()}


def _sum(systems: list[System]) -> System:
    total = System(systems[0].name)
    for system in systems:
        for role in ROLES:
            total.roles[role].edits += system.roles[role].edits
            total.roles[role].length += system.roles[role].length
        total.all_text.edits += system.all_text.edits
        total.all_text.length += system.all_text.length
        total.wall += system.wall
        total.cpu += system.cpu
        total.audio += system.audio
        total.role_calls += system.role_calls
    return total


def _all_text(system: System, name: str, texts: dict, reference: dict, transcript) -> float:
    """Role-free CER of one call: on a channel split, each channel against its side's
    reference (interleaving two texts would only add order errors); on one stream
    (qa-audit's mono and dual-mono), the whole text in time order."""
    if transcript is not None and transcript.role_source == "inferred":
        return system.all_text.add("".join(u.text for u in transcript.utterances),
                                   reference_text(reference, None))
    before = system.all_text.edits
    length = 0
    for role in ROLES:
        system.all_text.add(texts[role], reference_text(reference, role))
        length += len(normalize(reference_text(reference, role)))
    return (system.all_text.edits - before) / max(length, 1)


def _row_line(row: dict) -> str:
    parts = [f"{row['call'][:40]:40} {row['seconds']:5.1f}s"]
    for name in ("plain", "qa-audit"):
        if f"{name} all" in row:
            roles = " ".join(f"{row[f'{name} {r}']:.2f}" if f"{name} {r}" in row else "  -  "
                             for r in ROLES)
            parts.append(f"{name}: {roles} all {row[f'{name} all']:.2f} "
                         f"rtf {row[f'{name} rtf']:.2f}")
    if "roles" in row:
        parts.append(row["roles"])
    return " | ".join(parts)


def _report(systems: dict[str, System], rows: list[dict], with_plain: bool) -> str:
    header = (f"{'':10} {'CER agent':>10} {'CER cust.':>10} {'CER all':>8} "
              f"{'RTF wall':>9} {'RTF cpu':>8} {'calls w/ roles':>15}")
    lines = [header]
    for name in (("plain",) if with_plain else ()) + ("qa-audit",):
        s = systems[name]
        lines.append(f"{name:10} {s.roles['agent'].cer:10.1%} {s.roles['customer'].cer:10.1%} "
                     f"{s.all_text.cer:8.1%} {s.wall / s.audio:9.3f} {s.cpu / s.audio:8.3f} "
                     f"{s.role_calls:>9}/{len(rows)}")
    ours = systems["qa-audit"]
    if with_plain:
        plain = systems["plain"]
        lines.append(f"qa-audit wall time = {ours.wall / plain.wall:.2f} x plain "
                     f"(cpu {ours.cpu / plain.cpu:.2f} x)")
        if plain.role_calls < len(rows):
            lines.append(f"plain per-role CER: the {plain.role_calls} stereo calls only (no "
                         f"roles on mono files; a dual-mono file counts each channel as "
                         f"one role, as plain splits it); its all-text CER covers all calls")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
