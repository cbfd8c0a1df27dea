"""`qa-audit users add | list | disable | password`: who may sign in to the console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qa_audit.cli.review import DbOption, print_table
from qa_audit.console.accounts import ROLE_ZH, ROLES, Accounts
from qa_audit.errors import InputError
from qa_audit.store import DEFAULT_DB_NAME, Store

users_app = typer.Typer(help="Console users: add, list, disable, password.",
                        no_args_is_help=True)

PasswordFileOption = Annotated[Path | None, typer.Option(
    "--password-file", help="Read the password from the file's first line instead of asking.",
    exists=True, dir_okay=False)]


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read --password-file {password_file}: {exc}") from None
        return lines[0] if lines else ""
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user's sign-in name, e.g. 王班长.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    agent_id: Annotated[str | None, typer.Option(
        "--agent-id", help="The agent's id (工号), for the agent role.")] = None,
    password_file: PasswordFileOption = None,
    db: DbOption = Path(DEFAULT_DB_NAME),
) -> None:
    """Add a user who may sign in to the console (`qa-audit serve`)."""
    with Store(db, create=False) as store:
        accounts = Accounts(store)
        if role.strip().lower() not in ROLES:
            raise InputError(f"--role {role!r} is not one of: {', '.join(ROLES)}")
        if accounts.get(name) is not None:
            raise InputError(f"user {name.strip()!r} already exists; "
                             "`qa-audit users password` changes a password")
        user = accounts.add(name, role.strip().lower(), _password(password_file),
                            agent_id=agent_id)
    typer.echo(f"user {user.name} added ({user.role}"
               + (f", agent {user.agent_id}" if user.agent_id else "") + ")")


@users_app.command("list")
def list_users(db: DbOption = Path(DEFAULT_DB_NAME)) -> None:
    """List the console's users."""
    with Store(db, create=False) as store:
        users = Accounts(store).list()
    print_table(["用户 user", "角色 role", "工号 agent", "状态 state", "密码设置于 password set"],
                [[u.name, f"{ROLE_ZH[u.role]} {u.role}", u.agent_id or "",
                  "停用 disabled" if u.disabled else "正常 active",
                  u.password_at.strftime("%Y-%m-%d %H:%M")] for u in users])
    typer.echo(f"{len(users)} user(s)", err=True)


@users_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="The user to disable.")],
            db: DbOption = Path(DEFAULT_DB_NAME)) -> None:
    """Stop a user from signing in; their sessions end at once."""
    with Store(db, create=False) as store:
        Accounts(store).disable(name)
    typer.echo(f"user {name.strip()} disabled")


@users_app.command("password")
def password(name: Annotated[str, typer.Argument(help="The user whose password to set.")],
             password_file: PasswordFileOption = None,
             db: DbOption = Path(DEFAULT_DB_NAME)) -> None:
    """Set a new password (and enable the user again); older sessions end."""
    with Store(db, create=False) as store:
        accounts = Accounts(store)
        if accounts.get(name) is None:
            raise InputError(f"no user {name.strip()!r}; `qa-audit users list` shows them")
        accounts.set_password(name, _password(password_file))
    typer.echo(f"password of {name.strip()} set")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
