"""`qa-audit score`: fill in the spot-check form for transcripts (or recordings)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.table import Table

from qa_audit.callmeta import DEFAULT_PATTERN, call_id_of, require_pattern
from qa_audit.errors import AudioError, InputError, OutputError
from qa_audit.outputs import check_output_file
from qa_audit.phrasebook import Phrasebook, load_phrasebook
from qa_audit.pipeline import DispatchData, audit_transcript, collect_inputs, load_dispatch
from qa_audit.records import CallAudit
from qa_audit.run import TranscriptSource, Work, run_calls

STATUS_STYLE = {"pass": "green", "fail": "bold red", "review": "yellow", "na": "dim"}

# Options shared by the commands that read dispatch data.
CallsOpt = Annotated[Path | None, typer.Option(
    "--calls", help="Call records (calls.csv/.xlsx): agent, type, time, ring, hang-up, ticket.",
    dir_okay=False)]
TicketsOpt = Annotated[Path | None, typer.Option(
    "--tickets", help="Ticket export (CSV or XLSX, UTF-8 or GBK, English or Chinese headers).",
    dir_okay=False)]
StationsOpt = Annotated[Path | None, typer.Option(
    "--stations", help="Station directory: community -> repair station (stations.csv).",
    dir_okay=False)]
ColumnsOpt = Annotated[Path | None, typer.Option(
    "--columns", help="YAML file mapping your column headers to the contract's names.",
    dir_okay=False)]
PhrasebookOpt = Annotated[Path | None, typer.Option(
    "--phrasebook", help="Folder with your phrasebook/forms; overrides the defaults file by file.",
    file_okay=False)]
PatternOpt = Annotated[str, typer.Option(
    "--name-pattern", help="How recordings are named, when there is no calls.csv.")]
ModelOpt = Annotated[str, typer.Option(
    "--model", help="Speech model for recordings: 'embedded', a faster-whisper name, or a folder.")]
AgentChannelOpt = Annotated[str, typer.Option(
    "--agent-channel", help="Stereo recordings: the channel that carries the agent (left|right).")]


def out_console() -> Console:
    """The table's console; wide enough for whole call ids when the output is piped."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 200
    return console


def say(message: str) -> None:
    """One diagnostic line on stderr, never wrapped (scripts grep for it)."""
    typer.echo(message, err=True)


def warn(message: str) -> None:
    say(f"warning: {message}")


def show_problems(data: DispatchData) -> None:
    for problem in data.problems:
        warn(problem)


def prepare(name_pattern: str, phrasebook_dir: Path | None, calls: Path | None,
            tickets: Path | None, stations: Path | None,
            columns: Path | None) -> tuple[Phrasebook, DispatchData]:
    """What `score` and `audit` read before the first call: the phrasebook and the dispatch
    exports, with their bad rows shown as warnings."""
    require_pattern(name_pattern)
    phrasebook = load_phrasebook(phrasebook_dir)
    data = load_dispatch(calls=calls, tickets=tickets, stations=stations, columns=columns)
    show_problems(data)
    return phrasebook, data


def summary_table(audits: Sequence[CallAudit]) -> Table:
    table = Table(title="录音抽查测评 spot-check results", show_lines=False)
    table.add_column("call", no_wrap=True)
    for col, justify in ( ("agent", "left"), ("type", "left"),
                         ("score", "right"), ("failed items", "left"), ("review", "right"),
                         ("findings", "left"), ("fines ¥", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for a in audits:
        fails = ", ".join(i.id for i in a.items if i.status == "fail")
        reviews = sum(i.status == "review" for i in a.items)
        score = "[magenta]录音异常 unusable[/magenta]" if a.unusable else f"{a.score:g}/{a.max_score:g}"
        table.add_row(a.call_id, a.agent_id or "?", a.call_type,
                      score, f"[red]{fails}[/red]" if fails else "",
                      f"[yellow]{reviews}[/yellow]" if reviews else "0",
                      ", ".join(f.code for f in a.findings), f"{a.fines_yuan:g}")
    return table


@contextmanager
def jsonl_writer(out: Path | None) -> Iterator[IO[str] | None]:
    """Results are appended one line per call as they are made, so an interruption keeps
    every call already scored. The file is opened before the first call: a path that cannot
    be written is one line at the start, not a traceback at the end."""
    if out is None:
        yield None
        return
    check_output_file(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fh = out.open("w", encoding="utf-8")
    except OSError as err:
        raise OutputError(f"--out {out}: cannot write ({err.strerror or err}); choose another "
                          "--out or make its folder writable") from None
    with fh:
        yield fh


def write_result(fh: IO[str] | None, audit: CallAudit) -> None:
    if fh is not None:
        try:
            fh.write(audit.model_dump_json(exclude_none=True) + "\n")
            fh.flush()
        except OSError as err:
            raise OutputError(f"--out {fh.name}: writing failed ({err.strerror or err}); "
                              "the calls done so far are in it, and in the store") from None


def each_transcript(paths: Sequence[Path], handle: Callable[..., None], *,
                    phrasebook: Phrasebook, data: DispatchData, model: str, agent_channel: str,
                    failures: list[tuple[Path, str]]) -> None:
    """Hand each transcript to `handle` as soon as it exists (`handle(t, transcriber=…)` for
    one made from a recording); kept for callers of the earlier API — `run_calls` is the
    run loop."""
    source = TranscriptSource(phrasebook=phrasebook, data=data, model=model,
                              agent_channel=agent_channel, warn=warn)
    for path in paths:
        try:
            transcript, transcriber = source.get(path)
        except (InputError, AudioError) as err:
            failures.append((path, str(err)))
            continue
        if transcriber is None:
            handle(transcript)
        else:
            handle(transcript, transcriber=transcriber)


def work_of(paths: Sequence[Path]) -> list[Work]:
    return [Work(path=p, call_id=call_id_of(p.name)) for p in paths]


def score(
    inputs: Annotated[list[Path], typer.Argument(
        help="Transcript JSON files, recordings, or folders of them.", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o",
        help="Write the results as JSON Lines (formats.md) to this file.")] = None,
    json_lines: Annotated[bool, typer.Option(
        "--json", help="Print the results as JSON Lines on stdout instead of the table.")] = False,
    calls: CallsOpt = None,
    tickets: TicketsOpt = None,
    stations: StationsOpt = None,
    columns: ColumnsOpt = None,
    phrasebook_dir: PhrasebookOpt = None,
    name_pattern: PatternOpt = DEFAULT_PATTERN,
    model: ModelOpt = "embedded",
    agent_channel: AgentChannelOpt = "left",
) -> None:
    """Score calls against the phrasebook and the spot-check forms (录音抽查测评)."""
    if out is not None:
        check_output_file(out)
    phrasebook, data = prepare(name_pattern, phrasebook_dir, calls, tickets, stations, columns)
    paths = collect_inputs(inputs)
    failures: list[tuple[Path, str]] = []
    audits: list[CallAudit] = []
    source = TranscriptSource(phrasebook=phrasebook, data=data, model=model,
                              agent_channel=agent_channel, warn=warn)

    def audit_one(work: Work) -> CallAudit:
        transcript, transcriber = source.get(work.path)
        return audit_transcript(transcript, data, phrasebook, pattern=name_pattern,
                                transcriber=transcriber)

    with jsonl_writer(out) as fh:
        def done(work: Work, audit: CallAudit) -> None:
            audits.append(audit)
            write_result(fh, audit)
            if json_lines and fh is None:
                typer.echo(audit.model_dump_json(exclude_none=True))

        run_calls(work_of(paths), audit_one, done, failures)
    if not json_lines or out is not None:
        out_console().print(summary_table(audits))
    report_failures(failures, done=len(audits), out=out, audits=audits)


def report_failures(failures: Sequence[tuple[Path, str]], *, done: int, out: Path | None,
                    audits: Sequence[CallAudit] = ()) -> None:
    """The batch went on past bad files; say which, and exit 1 if there were any. Unusable
    recordings (录音异常) are named too, and also end the run with exit 1: someone must look
    at the recording system. A call with a dead channel is named as flagged."""
    where = f" -> {out}" if out else ""
    unusable = [a for a in audits if a.unusable]
    for audit in audits:
        if audit.dead_channel and audit.recording_quality is not None:
            say(f"flagged: {audit.call_id}: one channel dead, what depends on it is left to "
                f"review: {audit.recording_quality.reason}")
    for audit in unusable:
        reason = audit.recording_quality.reason if audit.recording_quality else "unusable"
        say(f"unusable: {audit.call_id}: {reason}; not scored against agent "
            f"{audit.agent_id or '?'} (check the recording system; a lead may delete it)")
    for path, message in failures:
        say(f"error: {message}" if str(path) in message else f"error: {path}: {message}")
    problems = []
    if unusable:
        problems.append(f"{len(unusable)} recording(s) unusable (录音异常)")
    if failures:
        problems.append(f"{len(failures)} file(s) failed")
    if problems:
        say(f"{done} call(s) done{where}; {'; '.join(problems)} (listed above)")
        raise typer.Exit(1)
    say(f"{done} call(s) done{where}")


def register(app: typer.Typer) -> None:
    app.command("score")(score)
