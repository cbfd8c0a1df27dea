"""`qa-audit serve`: the console, a web app on the results store for the office network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qa_audit.cli.review import DbOption, PhrasebookOption
from qa_audit.console.views import DEFAULT_APPEAL_DAYS
from qa_audit.store import DEFAULT_DB_NAME


def serve(
    db: DbOption = Path(DEFAULT_DB_NAME),
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for the "
                                      "whole office network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8150,
    audio_dir: Annotated[Path | None, typer.Option(
        "--audio-dir", help="Where relative recording paths start (default: current folder).",
        file_okay=False)] = None,
    appeal_days: Annotated[int, typer.Option(
        "--appeal-days", min=0, help="Working days an agent has to appeal, from the day the "
        "call was audited (seed 001's 申诉期限).")] = DEFAULT_APPEAL_DAYS,
    session_hours: Annotated[float, typer.Option(
        "--session-hours", min=0.1, help="Hours a sign-in lasts.")] = 10,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies", help="Mark cookies Secure (when served behind HTTPS).")] = False,
    phrasebook: PhrasebookOption = None,
) -> None:
    """Start the console: review queue, call pages, appeals, dashboards, the tally."""
    import uvicorn

    from qa_audit.console.accounts import Accounts
    from qa_audit.console.app import create_app
    from qa_audit.phrasebook import load_phrasebook
    from qa_audit.store import Store

    with Store(db, create=False) as store:
        no_users = not Accounts(store).any_user()
    if no_users:
        typer.echo(f"no console users yet: add one with `qa-audit users add NAME --role lead "
                   f"--db {db}`", err=True)
    app = create_app(db, audio_root=audio_dir, phrasebook=load_phrasebook(phrasebook),
                     appeal_days=appeal_days, session_hours=session_hours,
                     secure_cookies=secure_cookies)
    typer.echo(f"qa-audit console on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
