"""The console's people, kept in the results store: users, sign-in attempts, the audit log.

Passwords are argon2 hashes (argon2-cffi). Sign-in attempts are kept here for the lockout,
whose policy lives with the other rules of access in `auth.py`. The audit log records who
did what and when (sign-ins, decisions, appeals, answers, samples); it is only ever added
to.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qa_audit.errors import InputError
from qa_audit.store import Store

Role = Literal["lead", "head", "agent", "office"]
ROLES: tuple[str, ...] = ("lead", "head", "agent", "office")
ROLE_ZH = {"lead": "领班", "head": "部长", "agent": "话务员", "office": "办公室"}

MIN_PASSWORD_LENGTH = 8

_HASHER = PasswordHasher()
_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that a wrong name takes as long as a
    wrong password (made on first use: hashing takes a quarter of a second)."""
    if not _DUMMY:
        _DUMMY.append(_HASHER.hash("qa-audit: no such user"))
    return _DUMMY[0]


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    agent_id: str | None
    disabled: bool
    password_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class LogEntry:
    id: int
    at: datetime
    actor: str | None
    action: str
    target: str
    detail: str


class Accounts:
    """Users, sign-ins and the audit log of one store. `clock` is for tests."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = datetime.now) -> None:
        self.store = store
        self.clock = clock

    # -- users --------------------------------------------------------------------------

    def add(self, name: str, role: str, password: str, *, agent_id: str | None = None) -> User:
        name = _clean_name(name)
        if role not in ROLES:
            raise InputError(f"role {role!r} is not one of: {', '.join(ROLES)}")
        agent_id = (agent_id or "").strip() or None
        if role == "agent" and agent_id is None:
            raise InputError("an agent needs --agent-id (their 工号, e.g. 307): "
                             "it decides which calls they see")
        if role != "agent" and agent_id is not None:
            raise InputError("--agent-id is only for the agent role")
        _check_password(password)
        if self.get(name) is not None:
            raise InputError(f"user {name!r} already exists; "
                             "`qa-audit users password` changes a password")
        now = self._now()
        with self.store._transaction() as db:
            db.execute("INSERT INTO users (name, role, agent_id, password_hash, password_at, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (name, role, agent_id, _HASHER.hash(password), now, now))
        self.log(None, "user_added", name, f"role={role}" + (f" agent={agent_id}"
                                                             if agent_id else ""))
        return self._require(name)

    def get(self, name: str) -> User | None:
        rows = self.store._query("SELECT * FROM users WHERE name = ?", (name.strip(),))
        return _user(rows[0]) if rows else None

    def list(self) -> list[User]:
        return [_user(r) for r in self.store._query("SELECT * FROM users ORDER BY role, name")]

    def any_user(self) -> bool:
        return bool(self.store._query("SELECT 1 FROM users LIMIT 1"))

    def disable(self, name: str) -> User:
        self._require(name)
        with self.store._transaction() as db:
            db.execute("UPDATE users SET disabled = 1 WHERE name = ?", (name.strip(),))
        self.log(None, "user_disabled", name.strip())
        return self._require(name)

    def set_password(self, name: str, password: str) -> User:
        """A new password; sessions signed before it stop working (see auth.py)."""
        self._require(name)
        _check_password(password)
        with self.store._transaction() as db:
            db.execute("UPDATE users SET password_hash = ?, password_at = ?, disabled = 0 "
                       "WHERE name = ?", (_HASHER.hash(password), self._now(), name.strip()))
        self.log(None, "password_set", name.strip())
        return self._require(name)

    def _require(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise InputError(f"no user {name.strip()!r}; `qa-audit users list` shows them")
        return user

    # -- signing in (the lockout policy is auth.sign_in's) --------------------------------

    def check_password(self, name: str, password: str) -> tuple[User | None, bool]:
        """(the user or None, whether the password is theirs). An unknown name costs the
        same time as a wrong password, so names cannot be probed."""
        rows = self.store._query("SELECT * FROM users WHERE name = ?", (name,))
        stored = rows[0]["password_hash"] if rows else _dummy_hash()
        try:
            ok = _HASHER.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            ok = False
        return (_user(rows[0]) if rows else None), ok and bool(rows)

    def attempts(self, name: str, since: datetime) -> list[tuple[int, datetime]]:
        """(outcome, when) of the sign-ins of `name` since then, oldest first; outcome 1
        right, 0 wrong, 2 refused while locked."""
        rows = self.store._query(
            "SELECT ok, at FROM login_attempts WHERE name = ? AND at >= ? ORDER BY at, id",
            (name, since.isoformat(timespec="seconds")))
        return [(r["ok"], datetime.fromisoformat(r["at"])) for r in rows]

    def record_attempt(self, name: str, outcome: int) -> None:
        with self.store._transaction() as db:
            db.execute("INSERT INTO login_attempts (name, ok, at) VALUES (?, ?, ?)",
                       (name, outcome, self._now()))

    # -- the audit log ------------------------------------------------------------------

    def log(self, actor: str | None, action: str, target: str = "", detail: str = "") -> None:
        with self.store._transaction() as db:
            db.execute("INSERT INTO audit_log (at, actor, action, target, detail) "
                       "VALUES (?, ?, ?, ?, ?)", (self._now(), actor, action, target, detail))

    def entries(self, *, limit: int = 500, action: str | None = None) -> list[LogEntry]:
        """The latest entries first."""
        where, params = ("WHERE action = ?", [action]) if action else ("", [])
        rows = self.store._query(
            f"SELECT * FROM audit_log {where} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [LogEntry(r["id"], datetime.fromisoformat(r["at"]), r["actor"], r["action"],
                         r["target"], r["detail"]) for r in rows]

    # -- the cookie-signing secret --------------------------------------------------------

    def secret(self) -> str:
        """The secret that signs session cookies: made once, kept in the store, so that a
        restarted console keeps its users signed in."""
        rows = self.store._query("SELECT value FROM console_settings WHERE key = 'secret'")
        if rows:
            return rows[0]["value"]
        with self.store._transaction() as db:
            db.execute("INSERT OR IGNORE INTO console_settings (key, value) VALUES ('secret', ?)",
                       (secrets.token_urlsafe(32),))
        return self.store._query(
            "SELECT value FROM console_settings WHERE key = 'secret'")[0]["value"]

    def _now(self) -> str:
        return self.clock().isoformat(timespec="seconds")


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 40 or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise InputError(f"user name {name!r} must be 1-40 characters without spaces")
    return name


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def _user(row) -> User:
    return User(name=row["name"], role=row["role"], agent_id=row["agent_id"],
                disabled=bool(row["disabled"]),
                password_at=datetime.fromisoformat(row["password_at"]),
                created_at=datetime.fromisoformat(row["created_at"]))
