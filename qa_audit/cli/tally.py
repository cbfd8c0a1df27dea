"""`qa-audit tally`: the month's workbook for the office and HR (or one CSV per sheet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qa_audit.cli.review import DbOption, PhrasebookOption
from qa_audit.dispatch import load_stations, load_tickets
from qa_audit.outputs import check_output_file
from qa_audit.phrasebook import load_phrasebook
from qa_audit.store import DEFAULT_DB_NAME, Store, parse_month


def tally(
    month: Annotated[str, typer.Option("--month", help="The month to tally, YYYY-MM.")],
    out: Annotated[Path, typer.Option(
        "--out", help="tally.xlsx, or tally.csv for one CSV per sheet beside it.")],
    db: DbOption = Path(DEFAULT_DB_NAME),
    tickets: Annotated[Path | None, typer.Option(
        "--tickets", help="tickets.csv/.xlsx to use instead of the tickets in the database.",
        exists=True, dir_okay=False)] = None,
    stations: Annotated[Path | None, typer.Option(
        "--stations", help="stations.csv/.xlsx: every station gets a row in the daily report.",
        exists=True, dir_okay=False)] = None,
    phrasebook: PhrasebookOption = None,
) -> None:
    """Per agent points lost, fines (repeat rule), findings, follow-ups; per station and day."""
    # openpyxl takes a fifth of a second to import; only this command needs it.
    from qa_audit.tally import build_tally, write_tally

    month = parse_month(month)
    # .csv writes one file per sheet beside it (NAME.agents.csv …): each must be writable.
    check_output_file(out, example="tally.xlsx")
    ticket_list = station_list = None
    if tickets is not None:
        loaded = load_tickets(tickets)
        for problem in loaded.problems:
            typer.echo(f"warning: {problem}", err=True)
        ticket_list = loaded.tickets
    if stations is not None:
        directory = load_stations(stations)
        for problem in directory.problems:
            typer.echo(f"warning: {problem}", err=True)
        station_list = directory.stations
    with Store(db, create=False) as store:
        result = build_tally(store, month, tickets=ticket_list, stations=station_list,
                             phrasebook=load_phrasebook(phrasebook))
    written = write_tally(result, out)
    for path in written:
        typer.echo(str(path))
    agents = len(result.sheet("agents").rows)
    files = (f"; {len(written)} CSV files, one per sheet ({out.stem}.<sheet>.csv)"
             if len(written) > 1 else "")
    typer.echo(f"tally of {month}: {agents} agent(s){files}", err=True)


def register(app: typer.Typer) -> None:
    app.command("tally")(tally)
