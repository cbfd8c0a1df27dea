"""Entry point of the `qa-audit` command.

Each command lives in its own module with a `register(app)` function. Domain errors are
caught here, at the edge, and printed as one line with exit code 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Annotated

import typer

from qa_audit import __version__
from qa_audit.errors import QaAuditError

app = typer.Typer(
    name="qa-audit",
    help="Audit call-center recordings against the standard script and the spot-check forms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# The command modules, in the order they appear in --help.
COMMAND_MODULES = ("score", "transcribe", "audit", "review", "tally", "importing", "users",
                   "serve")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qa-audit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Audit call-center recordings against the standard script and the spot-check forms."""


for _name in COMMAND_MODULES:
    _module_name = f"qa_audit.cli.{_name}"
    if importlib.util.find_spec(_module_name) is not None:
        importlib.import_module(_module_name).register(app)


def error_line(err: QaAuditError) -> str:
    return f"error: {err}"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; domain errors become one line on stderr and exit code 1."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except QaAuditError as err:
        typer.echo(error_line(err), err=True)
        return err.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted: what was already done is kept", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
