"""`qa-audit audit`: a day's (or week's) recordings end to end, kept in the results store.

Transcribe (cached), score, check against the dispatch data, store each call in its own
transaction (and write its --out line), and print a summary per agent. A call already
audited from the same inputs and options is not done again, so a killed run resumes where
it stopped; runs started together on one store share the calls (qa_audit.run). Recordings
with no call in them are kept as unusable and named at the end (exit code 1).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from qa_audit.callmeta import DEFAULT_PATTERN, call_id_of, resolve_meta
from qa_audit.cli.review import DbOption
from qa_audit.cli.score import (AgentChannelOpt, CallsOpt, ColumnsOpt, ModelOpt, PatternOpt,
                                PhrasebookOpt, StationsOpt, TicketsOpt, jsonl_writer,
                                out_console, prepare, report_failures, say, warn, write_result)
from qa_audit.errors import InputError
from qa_audit.outputs import check_output_file
from qa_audit.phrasebook import Phrasebook
from qa_audit.pipeline import DispatchData, audit_transcript, collect_inputs
from qa_audit.records import CallAudit, CallMeta, Transcript
from qa_audit.run import StoreClaims, TranscriptSource, Work, run_calls
from qa_audit.sampling import PERIODS, sample_per_agent
from qa_audit.store import DEFAULT_DB_NAME, Store, parse_day


class Engine(str, Enum):
    """Where the calls are transcribed and scored."""

    local = "local"
    ray = "ray"


def _file_digest(path: Path) -> str:
    h = hashlib.sha1()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(path: Path, *, settings: str) -> str:
    """What an audit of this file depends on: its content and everything else given."""
    return hashlib.sha1(f"{_file_digest(path)}|{settings}".encode()).hexdigest()[:20]


def _settings(phrasebook_version: str, inputs: Sequence[Path | None], model: str,
              agent_channel: str, pattern: str) -> str:
    from qa_audit.listen import VERSION as listening

    parts = [phrasebook_version, model, agent_channel, pattern, f"listen{listening}"]
    parts += [_file_digest(p) if p else "-" for p in inputs]
    return "|".join(parts)


def recordings_of(inputs: Sequence[Path], data: DispatchData,
                  failures: list[tuple[Path, str]], *, day_from: date | None = None,
                  day_to: date | None = None) -> list[Path]:
    """The files to audit. With calls.csv, its rows say which calls: each row's recording,
    or else the recording or transcript of that call id in the folders given. Without it,
    every recording or transcript in the folders. Rows outside the days asked for are not
    looked at (a daily run against a month's export must not fail on another day's row)."""
    found = collect_inputs(inputs) if inputs else []
    if data.calls is None or not any(m.recording for m in data.calls.values()):
        return found
    by_call: dict[str, Path] = {}
    for path in found:
        by_call.setdefault(call_id_of(path.name), path)
    paths = []
    for meta in data.calls.values():
        if not _in_range(meta, day_from, day_to):
            continue
        recording = Path(meta.recording) if meta.recording else None
        if recording is not None and recording.is_file():
            paths.append(recording)
        elif meta.call_id in by_call:
            paths.append(by_call[meta.call_id])
        else:
            where = recording or meta.call_id
            failures.append((Path(str(where)), f"{where}: recording of call {meta.call_id} "
                             "(calls.csv) not found, nor its transcript in the folders given; "
                             "check the `recording` column"))
    return list(dict.fromkeys(paths))


def _in_range(meta: CallMeta, day_from: date | None, day_to: date | None) -> bool:
    if day_from is None and day_to is None:
        return True
    if meta.started_at is None:
        return False
    day = meta.started_at.date()
    return (day_from is None or day >= day_from) and (day_to is None or day <= day_to)


def parse_sample(value: str | None) -> int | None:
    """--sample 2 or --sample 2-per-agent."""
    if value is None:
        return None
    number = value.removesuffix("-per-agent")
    if not number.isdigit() or int(number) < 1:
        raise InputError(f"--sample {value!r}: give the number of calls per agent, e.g. "
                         "--sample 2-per-agent")
    return int(number)


def agent_summary(audits: Sequence[CallAudit]) -> Table:
    table = Table(title="坐席汇总 per agent")
    for col in ("agent", "calls", "avg score %", "points lost", "fines ¥", "need review",
                "unusable 录音异常"):
        table.add_column(col, justify="left" if col == "agent" else "right")
    by_agent: dict[str, list[CallAudit]] = defaultdict(list)
    for a in audits:
        by_agent[a.agent_id or "?"].append(a)
    for agent, all_calls in sorted(by_agent.items()):
        # An unusable recording is counted apart and held against no one.
        calls = [a for a in all_calls if not a.unusable]
        pct = [100 * a.score / a.max_score for a in calls if a.max_score]
        lost = sum(a.max_score - a.score for a in calls)
        reviews = sum(1 for a in calls for i in a.items if i.status == "review")
        table.add_row(agent, str(len(calls)), f"{sum(pct) / len(pct):.1f}" if pct else "-",
                      f"{lost:g}", f"{sum(a.fines_yuan for a in calls):g}", str(reviews),
                      str(len(all_calls) - len(calls)))
    return table


def audit(
    recordings: Annotated[list[Path], typer.Argument(
        help="Folder(s) of recordings (or transcripts) to audit.", show_default=False)],
    calls: CallsOpt = None,
    tickets: TicketsOpt = None,
    stations: StationsOpt = None,
    columns: ColumnsOpt = None,
    db: DbOption = Path(DEFAULT_DB_NAME),
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Also write the results as JSON Lines (formats.md).")] = None,
    on: Annotated[str | None, typer.Option("--date", help="Only calls of this day (YYYY-MM-DD).")]
    = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Only calls from this day on.")]
    = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Only calls up to this day.")] = None,
    sample: Annotated[str | None, typer.Option(
        "--sample", help="Spot-check sample: N calls per agent per period, e.g. 2-per-agent.")]
    = None,
    period: Annotated[str, typer.Option(
        "--period", help="Sampling period: day (shift leads) or week (department head).")]
    = "day",
    seed: Annotated[int, typer.Option("--seed", help="Seed that makes the sample reproducible.")]
    = 1,
    phrasebook_dir: PhrasebookOpt = None,
    name_pattern: PatternOpt = DEFAULT_PATTERN,
    model: ModelOpt = "embedded",
    agent_channel: AgentChannelOpt = "left",
    engine: Annotated[Engine, typer.Option(
        "--engine", help="Where calls are transcribed and scored: here, or on a Ray cluster "
        "(pip install 'qa-audit[ray]').")] = Engine.local,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="--engine ray: the cluster (host:6379, ray://host:10001 or "
        "auto); default a local Ray runtime, or $RAY_ADDRESS.")] = None,
    ray_workers: Annotated[int | None, typer.Option(
        "--ray-workers", min=1, help="--engine ray: model workers (default: one per "
        "--ray-cpus-per-worker CPUs of the cluster).")] = None,
    ray_cpus_per_worker: Annotated[int, typer.Option(
        "--ray-cpus-per-worker", min=1, help="--engine ray: CPUs (model threads) per worker.")]
    = 1,
    ray_send_audio: Annotated[bool, typer.Option(
        "--ray-send-audio", help="--engine ray: send the recordings' bytes to the workers "
        "(when they cannot see these paths on shared storage).")] = False,
) -> None:
    """Audit recordings end to end: transcribe, score, check tickets, store, summarize."""
    if engine == Engine.ray:
        from qa_audit.engines.ray_engine import require_ray

        require_ray()  # before any work: one line saying what to install
    per_agent = parse_sample(sample)
    if period not in PERIODS:
        raise InputError(f"--period {period!r}: use one of {', '.join(PERIODS)}")
    day_from = parse_day(on or date_from, "--date" if on else "--from")
    day_to = parse_day(on or date_to, "--date" if on else "--to")
    # Every output is checked before the first call is read, let alone transcribed.
    if out is not None:
        check_output_file(out)
    check_output_file(db, "--db", example=DEFAULT_DB_NAME)
    phrasebook, data = prepare(name_pattern, phrasebook_dir, calls, tickets, stations, columns)
    failures: list[tuple[Path, str]] = []
    paths = recordings_of(recordings, data, failures, day_from=day_from, day_to=day_to)
    metas = {p: resolve_meta(call_id_of(p.name), data.calls, name_pattern) for p in paths}
    paths = [p for p in paths if _in_range(metas[p], day_from, day_to)]
    if not paths and not failures:
        raise InputError("no calls to audit in the given folder(s) and dates; check the "
                         "folder, --calls and --date/--from/--to")
    settings = _settings(phrasebook.version, [calls, tickets, stations, columns], model,
                         agent_channel, name_pattern)
    results: list[CallAudit] = []
    with Store(db) as store, jsonl_writer(out) as fh:
        if per_agent:
            picked = sample_per_agent([metas[p] for p in paths], per_agent, seed, period)
            chosen = {m.call_id for m in picked}
            paths = [p for p in paths if metas[p].call_id in chosen]
            store.record_sample(picked, n=per_agent, seed=seed, period=period)  # type: ignore[arg-type]
            say(f"sample: {len(picked)} call(s), {per_agent} per agent per {period} (seed {seed})")
        if data.tickets is not None:
            store.save_tickets(data.tickets.tickets)
        work = [Work(path=p, call_id=metas[p].call_id,
                     fingerprint=fingerprint(p, settings=settings)) for p in paths]
        kept = sum(store.has_audit(w.call_id, fingerprint=w.fingerprint) for w in work)
        if kept:
            say(f"{kept} call(s) already audited with these inputs; kept")
        source = TranscriptSource(phrasebook=phrasebook, data=data, model=model,
                                  agent_channel=agent_channel, warn=warn)
        audit_one = partial(_audit_one, source=source, store=store, data=data,
                            phrasebook=phrasebook, name_pattern=name_pattern,
                            meta_of={w.call_id: metas[w.path] for w in work})

        def done(work_item: Work, result: CallAudit) -> None:
            results.append(result)
            write_result(fh, result)

        if engine == Engine.ray:
            audited = _audit_on_ray(
                work, done, store=store, meta_of={w.call_id: metas[w.path] for w in work},
                failures=failures, phrasebook=phrasebook, data=data, name_pattern=name_pattern,
                model=model, agent_channel=agent_channel,
                address=ray_address, workers=ray_workers, cpus_per_worker=ray_cpus_per_worker,
                send_audio=ray_send_audio)
        else:
            claims = StoreClaims(store)
            try:
                audited = run_calls(work, audit_one, done, failures, claims=claims)
            finally:
                claims.close()
    others = len(results) - audited - kept
    if others > 0:
        say(f"{audited} call(s) audited by this run, {others} by another run on the same store")
    order = {w.call_id: n for n, w in enumerate(work)}
    results.sort(key=lambda a: order.get(a.call_id, len(order)))
    console = out_console()
    console.print(agent_summary(results))
    say(f"results in {db}")
    report_failures(failures, done=len(results), out=out, audits=results)


def _audit_on_ray(work: Sequence[Work], done: Callable[[Work, CallAudit], None], *,
                  store: Store, meta_of: dict[str, CallMeta], failures: list[tuple[Path, str]],
                  phrasebook: Phrasebook, data: DispatchData, name_pattern: str, model: str,
                  agent_channel: str, address: str | None, workers: int | None,
                  cpus_per_worker: int, send_audio: bool) -> int:
    """The calls not yet audited with these inputs, transcribed and scored on Ray; each
    result is stored here as it arrives (so a killed run resumes), and every call of `work`
    goes to `done`. Ray schedules the calls itself: two Ray runs on one store do not share
    them through claims."""
    from qa_audit.engines import ray_engine

    todo = {w.call_id: w for w in work
            if not store.has_audit(w.call_id, fingerprint=w.fingerprint)}
    for w in work:
        if w.call_id not in todo and (kept := store.get_audit(w.call_id, final=False)):
            done(w, kept)
    audited = 0

    def stored(transcript: Transcript, result: CallAudit) -> None:
        nonlocal audited
        item = todo.get(transcript.call_id)
        if item is not None:
            result.provenance["fingerprint"] = item.fingerprint
            result.audio = result.audio or str(item.path.resolve())
        store.save_audit(result, transcript=transcript, meta=meta_of.get(transcript.call_id))
        audited += 1
        if item is not None:
            done(item, result)

    ray_engine.run([w.path for w in todo.values()], stored, phrasebook=phrasebook, data=data,
                   pattern=name_pattern, model=model, agent_channel=agent_channel,
                   failures=failures, options=ray_engine.RayOptions(
                       address=address, workers=workers, cpus_per_worker=cpus_per_worker,
                       send_audio=send_audio))
    return audited


def _audit_one(work: Work, *, source: TranscriptSource, store: Store, data: DispatchData,
               phrasebook: Phrasebook, name_pattern: str,
               meta_of: dict[str, CallMeta]) -> CallAudit:
    """One call: its transcript read or made, audited, and stored in one transaction."""
    transcript, transcriber = source.get(work.path)
    result = audit_transcript(transcript, data, phrasebook, pattern=name_pattern,
                              transcriber=transcriber)
    result.provenance["fingerprint"] = work.fingerprint
    result.audio = result.audio or str(work.path.resolve())
    meta = meta_of.get(transcript.call_id) or meta_of.get(work.call_id)
    store.save_audit(result, transcript=transcript, meta=meta)
    return result


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
