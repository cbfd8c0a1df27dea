"""`qa-audit import RESULTS.jsonl`: audit results made elsewhere, into the results store.

Results from another machine, a cluster run or a backup (formats.md "Audit results", one
JSON object per line) replace the calls the store already has; people's decisions and
appeals about those calls stay and apply to the new results. A bad line is reported in one
line (file:line, what, what to do) and the import goes on; the exit code is 1 if any line
was bad.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from qa_audit.cli.review import DbOption
from qa_audit.cli.score import say
from qa_audit.errors import InputError
from qa_audit.records import CallAudit
from qa_audit.store import DEFAULT_DB_NAME, Store

FIX = "fix or remove the line and import the file again (good lines are kept)"


def read_results(path: Path, bad: list[str]) -> Iterator[CallAudit]:
    """The results of a JSON Lines file, line by line (a year's file is never all in
    memory); each bad line is added to `bad` as one message and skipped."""
    try:
        handle = path.open("rb")
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror}); give a results .jsonl "
                         "file written by `qa-audit audit --out` or `score --out`") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                bad.append(f"{where}: not UTF-8 text; results are written as UTF-8 JSON; {FIX}")
                continue
            except json.JSONDecodeError as err:
                bad.append(f"{where}: not JSON ({err.msg} at column {err.colno}); {FIX}")
                continue
            if not isinstance(data, dict):
                bad.append(f"{where}: a {type(data).__name__}, not one audit result object; "
                           f"{FIX}")
                continue
            try:
                yield CallAudit.model_validate(data)
            except ValidationError as err:
                first = err.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "the object"
                call = f" (call {data['call_id']})" if isinstance(data.get("call_id"), str) else ""
                bad.append(f"{where}{call}: field {field}: {first['msg']}; an audit result "
                           f"needs the fields of formats.md; {FIX}")


def import_results(
    results: Annotated[list[Path], typer.Argument(
        help="Results as JSON Lines (formats.md), e.g. from `qa-audit audit --out`.",
        show_default=False, dir_okay=False)],
    db: DbOption = Path(DEFAULT_DB_NAME),
    batch_size: Annotated[int, typer.Option(
        "--batch-size", min=1, help="Calls per transaction (an interruption loses at most "
        "the batch in flight, never half a call).")] = 500,
) -> None:
    """Load audit results into the store, replacing calls it has and keeping decisions."""
    bad: list[str] = []
    done = 0
    with Store(db) as store:
        for path in results:
            before = len(bad)
            done += store.save_audits(read_results(path, bad), batch_size=batch_size)
            for message in bad[before:]:
                say(f"error: {message}")
    say(f"{done} call(s) imported into {db}")
    if bad:
        say(f"{len(bad)} bad line(s) skipped (listed above)")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("import")(import_results)
