"""`qa-audit review | queue | decide | appeal | appeals`: people's side of the results.

A shift lead lists the items the machine could not decide (`queue`) and decides them
(`decide`); an agent gets a page of their own flagged calls (`review`) and may contest a
verdict (`appeal`), which the lead answers (`appeals resolve`).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from qa_audit.outputs import check_output_folder
from qa_audit.phrasebook import load_phrasebook
from qa_audit.review_page import clock, write_review_page
from qa_audit.store import DB_ENV, DEFAULT_DB_NAME, Store, parse_day, parse_month

DbOption = Annotated[Path, typer.Option(
    "--db", envvar=DB_ENV, help=f"Results database (default ./{DEFAULT_DB_NAME}, or ${DB_ENV}).",
    dir_okay=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
PhrasebookOption = Annotated[Path | None, typer.Option(
    "--phrasebook", help="Phrasebook folder for item and finding names (default: built in).",
    file_okay=False)]

MAX_LISTED = 5  # warnings of one kind before they are summed up

APPEAL_STATE_ZH = {"open": "处理中", "accepted": "已通过", "rejected": "已驳回"}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """An aligned plain-text table (CJK counts double) on stdout; long cells are not cut."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    for row in [list(columns), *cells]:
        line = "  ".join(v + " " * (w - _width(v)) for v, w in zip(row, widths))
        typer.echo(line.rstrip())


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def print_json(records: Sequence[Any]) -> None:
    typer.echo(json.dumps([asdict(r) for r in records], ensure_ascii=False, indent=1,
                          default=_json_default))


def review(
    agent: Annotated[str, typer.Option("--agent", help="The agent's id (工号), e.g. 307.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for index.html and the recordings.")],
    db: DbOption = Path(DEFAULT_DB_NAME),
    month: Annotated[str | None, typer.Option("--month", help="Only this month, YYYY-MM.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    audio_dir: Annotated[Path | None, typer.Option(
        "--audio-dir", help="Where relative recording paths start (default: current folder).",
        file_okay=False)] = None,
    link_audio: Annotated[bool, typer.Option(
        "--link-audio", help="Link the recordings into --out instead of copying them.")] = False,
    phrasebook: PhrasebookOption = None,
) -> None:
    """Write an agent's self-review page: their flagged calls only, residents' data masked."""
    if month is not None:
        month = parse_month(month)
    day_from, day_to = parse_day(date_from, "--from"), parse_day(date_to, "--to")
    check_output_folder(out)
    with Store(db, create=False) as store:
        page = write_review_page(store, agent, out, month=month, date_from=day_from,
                                 date_to=day_to, phrasebook=load_phrasebook(phrasebook),
                                 audio_root=audio_dir, link_audio=link_audio)
    for problem in page.problems[:MAX_LISTED]:
        typer.echo(f"warning: {problem}; shown without a player", err=True)
    if len(page.problems) > MAX_LISTED:
        typer.echo(f"warning: … and {len(page.problems) - MAX_LISTED} more call(s) "
                   "without a recording", err=True)
    typer.echo(f"{page.calls} flagged call(s) of agent {agent.strip()}; "
               f"{len(page.missing_audio)} without a recording", err=True)
    typer.echo(str(page.path))


def queue(
    db: DbOption = Path(DEFAULT_DB_NAME),
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's calls.")] = None,
    day: Annotated[str | None, typer.Option("--date", help="Only calls of this day, YYYY-MM-DD.")]
    = None,
    as_json: JsonOption = False,
) -> None:
    """List the items awaiting a shift lead's verdict (status `review`, not yet decided)."""
    parsed_day = parse_day(day)
    with Store(db, create=False) as store:
        items = store.review_queue(agent=agent, day=parsed_day)
        unusable = store.unusable_calls(agent=agent, date_from=parsed_day, date_to=parsed_day)
    if as_json:
        print_json(items)
        return
    print_table(
        ["录音编号 call", "工号 agent", "项目 item", "原因 reason", "证据 evidence"],
        [[i.call_id, i.agent_id, f"{i.item} {i.label}".strip(), i.reason,
          clock(i.evidence_start) if i.evidence_start is not None else ""] for i in items]
        # Recordings with no call in them: for the lead to look at (and delete, seed 004).
        + [[a.call_id, a.agent_id, "recording 录音异常",
            a.recording_quality.reason if a.recording_quality else "unusable", ""]
           for a in unusable])
    typer.echo(f"{len(items)} item(s) to review"
               + (f"; {len(unusable)} unusable recording(s)" if unusable else ""), err=True)


def decide(
    call_id: Annotated[str, typer.Argument(help="The call id (录音编号).")],
    item: Annotated[str, typer.Argument(help="The form item id (or a finding code).")],
    verdict: Annotated[str, typer.Argument(help="pass or fail.")],
    by: Annotated[str, typer.Option("--by", help="Who decides (the shift lead's name).")],
    note: Annotated[str, typer.Option("--note", help="Why, for the agent and the records.")] = "",
    db: DbOption = Path(DEFAULT_DB_NAME),
) -> None:
    """Record a shift lead's verdict on an item; the machine's verdict is kept beside it."""
    with Store(db, create=False) as store:
        decision = store.decide(call_id, item, verdict.strip().lower(), by=by, note=note)
    typer.echo(f"{decision.call_id} {decision.item}: {decision.machine_status} -> "
               f"{decision.status} (by {decision.by}, decision #{decision.id})")


def appeal(
    call_id: Annotated[str, typer.Argument(help="The call id (录音编号).")],
    item: Annotated[str, typer.Argument(help="The form item id (or a finding code).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the verdict is wrong.")],
    by: Annotated[str | None, typer.Option(
        "--by", help="Who appeals (default: the call's agent).")] = None,
    db: DbOption = Path(DEFAULT_DB_NAME),
) -> None:
    """File an agent's appeal against a failed item or a finding of one call."""
    with Store(db, create=False) as store:
        filed = store.appeal(call_id, item, reason=reason, by=by)
    typer.echo(f"appeal #{filed.id} filed: {filed.call_id} {filed.item} (by {filed.filed_by})")


appeals_app = typer.Typer(
    help="List appeals (`qa-audit appeals [--open]`) or answer one (`appeals resolve`).",
    invoke_without_command=True, no_args_is_help=False)


@appeals_app.callback()
def appeals_list(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only appeals not yet answered.")]
    = False,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's appeals.")]
    = None,
    month: Annotated[str | None, typer.Option("--month", help="Only calls of this month.")]
    = None,
    db: DbOption = Path(DEFAULT_DB_NAME),
    as_json: JsonOption = False,
) -> None:
    """List appeals; `qa-audit appeals resolve ID accept|reject --by NAME` answers one."""
    if ctx.invoked_subcommand is not None:
        return
    if month is not None:
        month = parse_month(month)
    with Store(db, create=False) as store:
        found = store.appeals(open_only=open_only, agent=agent, month=month)
    if as_json:
        print_json(found)
        return
    print_table(
        ["编号 id", "录音编号 call", "工号 agent", "项目 item", "状态 state", "理由 reason",
         "处理 resolution"],
        [[p.id, p.call_id, p.agent_id, p.item, APPEAL_STATE_ZH[p.state], p.reason,
          f"{p.resolved_by}: {p.resolution_note}".rstrip(": ") if p.resolved_by else ""]
         for p in found])
    typer.echo(f"{len(found)} appeal(s)", err=True)


@appeals_app.command("resolve")
def appeals_resolve(
    appeal_id: Annotated[int, typer.Argument(help="The appeal's number (from `appeals`).")],
    outcome: Annotated[str, typer.Argument(help="accept (the item counts as pass) or reject.")],
    by: Annotated[str, typer.Option("--by", help="Who answers (the lead's name).")],
    note: Annotated[str, typer.Option("--note", help="The answer, for the agent.")] = "",
    db: DbOption = Path(DEFAULT_DB_NAME),
) -> None:
    """Accept or reject an appeal; an accepted one counts as pass in the tally."""
    with Store(db, create=False) as store:
        resolved = store.resolve_appeal(appeal_id, outcome.strip().lower(), by=by, note=note)
    typer.echo(f"appeal #{resolved.id} {resolved.state}: {resolved.call_id} {resolved.item} "
               f"(by {resolved.resolved_by})")


def register(app: typer.Typer) -> None:
    app.command("review")(review)
    app.command("queue")(queue)
    app.command("decide")(decide)
    app.command("appeal")(appeal)
    app.add_typer(appeals_app, name="appeals")
