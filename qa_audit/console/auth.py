"""Sessions, CSRF and permissions of the console: all of it here, in one place.

A session is a cookie signed with itsdangerous (the secret lives in the store), HttpOnly,
SameSite=Lax, with a max-age; it holds the user's name and a random session id. The CSRF
token is an HMAC of that session id, given to the page (`<meta name="csrf">`) and to API
clients (`GET /api/me`); every state-changing request except `/login` must send it back
(`X-CSRF-Token` header, or a `csrf` form field). `/login` itself checks the Origin header.

Signing in (`sign_in`) refuses an account for `LOCKOUT` after `MAX_FAILURES` wrong
passwords within `FAILURE_WINDOW`, whatever password comes next: a guessing script gets
five tries a quarter of an hour.

What each role may do is the table `PERMISSIONS`; routes ask for a permission with
`Depends(allowed("decide"))` and never compare role names themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from qa_audit.console.accounts import Accounts, User
from qa_audit.errors import InputError

COOKIE = "qa_console"
SESSION_SALT = "qa-audit-console-session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNREAD = object()  # the request's session has not been read yet

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
WRONG, RIGHT, REFUSED = 0, 1, 2  # outcomes of a sign-in attempt, as Accounts stores them

# Permission -> the roles that have it. Agents see only their own calls (see `own_calls_only`).
PERMISSIONS: dict[str, frozenset[str]] = {
    "calls": frozenset({"lead", "head", "agent"}),       # call pages, transcripts, audio
    "queue": frozenset({"lead", "head"}),                # the review queue
    "decide": frozenset({"lead", "head"}),               # a verdict on a review item
    "appeal": frozenset({"agent"}),                      # contest an item of one's own call
    "appeals": frozenset({"lead", "head", "agent"}),     # list appeals (agents: their own)
    "resolve": frozenset({"lead", "head"}),              # answer an appeal
    "unmasked": frozenset({"lead", "head"}),             # residents' data as recorded
    "dashboard": frozenset({"lead", "head", "office"}),  # the month's figures
    "tally": frozenset({"lead", "head", "office"}),      # the workbook
    "sample": frozenset({"head"}),                       # draw the weekly sample
    "log": frozenset({"head"}),                          # the audit log
}


class LockedOut(InputError):
    """Too many wrong passwords: the account is refused until `until`."""

    def __init__(self, name: str, until: datetime) -> None:
        super().__init__(f"account {name!r} is locked after {MAX_FAILURES} wrong passwords; "
                         f"try again after {until:%H:%M}")
        self.until = until


def locked_until(accounts: Accounts, name: str) -> datetime | None:
    """When the lockout of `name` ends, or None when it may sign in. Attempts refused while
    locked do not count, so the lockout does not grow while someone keeps trying; a right
    password starts the count again."""
    now = accounts.clock()
    failures: list[datetime] = []
    until = None
    for outcome, at in accounts.attempts(name, now - FAILURE_WINDOW - LOCKOUT):
        if outcome == RIGHT:
            failures = []
        elif outcome == WRONG:
            failures.append(at)
            if len(failures) >= MAX_FAILURES and \
                    failures[-1] - failures[-MAX_FAILURES] <= FAILURE_WINDOW:
                until = failures[-1] + LOCKOUT
    return until if until is not None and now < until else None


def sign_in(accounts: Accounts, name: str, password: str) -> User | None:
    """The user when the name and password are right and the account is enabled and not
    locked; None otherwise. Raises LockedOut. Every attempt goes to the audit log."""
    name = (name or "").strip()
    until = locked_until(accounts, name) if name else None
    if until is not None:
        accounts.record_attempt(name, REFUSED)
        accounts.log(name, "login_locked", name)
        raise LockedOut(name, until)
    user, ok = accounts.check_password(name, password)
    if not ok or user is None or user.disabled:
        if name:
            accounts.record_attempt(name, WRONG)
        accounts.log(name or None, "login_failed", name, "disabled" if ok else "")
        return None
    accounts.record_attempt(name, RIGHT)
    accounts.log(name, "login", name)
    return user


@dataclass(frozen=True)
class Actor:
    """Who is asking: the signed-in user and their session."""

    name: str
    role: str
    agent_id: str | None
    session_id: str
    csrf: str

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    @property
    def masked(self) -> bool:
        """Whether residents' data must be masked in what this actor receives."""
        return not self.can("unmasked")

    @property
    def own_calls_only(self) -> bool:
        return self.role == "agent"


class Sessions:
    """Signs and reads session cookies with the store's secret."""

    def __init__(self, secret: str, *, max_age_s: int, secure: bool = False) -> None:
        self._secret = secret.encode()
        self._signer = URLSafeTimedSerializer(secret, salt=SESSION_SALT)
        self.max_age_s = max_age_s
        self.secure = secure

    def issue(self, user: User) -> str:
        return self._signer.dumps({"u": user.name, "s": secrets.token_urlsafe(16)})

    def read(self, cookie: str | None) -> tuple[str, str, datetime] | None:
        """(name, session id, signed at) of a valid, unexpired cookie; None otherwise."""
        if not cookie:
            return None
        try:
            data, signed_at = self._signer.loads(cookie, max_age=self.max_age_s,
                                                 return_timestamp=True)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), str):
            return None
        return data["u"], str(data.get("s", "")), signed_at

    def csrf(self, session_id: str) -> str:
        return hmac.new(self._secret, b"csrf:" + session_id.encode(),
                        hashlib.sha256).hexdigest()

    def cookie_args(self) -> dict:
        return {"key": COOKIE, "max_age": self.max_age_s, "httponly": True,
                "samesite": "lax", "secure": self.secure, "path": "/"}


def current_actor(request: Request) -> Actor | None:
    """The actor of a request with a valid session, or None."""
    known = getattr(request.state, "actor", _UNREAD)
    if known is not _UNREAD:
        return known
    console = request.app.state.console
    found = console.sessions.read(request.cookies.get(COOKIE))
    actor = None
    if found is not None:
        name, session_id, signed_at = found
        with console.store() as store:
            user = Accounts(store).get(name)
        # A password change (or disabling) ends the sessions signed before it.
        # (The store keeps local times, naive; itsdangerous signs in UTC, whole seconds.)
        if user is not None and not user.disabled and \
                signed_at >= user.password_at.astimezone(timezone.utc):
            actor = Actor(user.name, user.role, user.agent_id, session_id,
                          console.sessions.csrf(session_id))
    request.state.actor = actor
    return actor


def signed_in(request: Request) -> Actor:
    """Dependency: the actor, 401 without a session; checks CSRF on state-changing requests."""
    actor = current_actor(request)
    if actor is None:
        raise HTTPException(401, "not signed in")
    if request.method not in SAFE_METHODS:
        check_csrf(request, actor)
    return actor


def check_csrf(request: Request, actor: Actor, form_token: str | None = None) -> None:
    token = request.headers.get(CSRF_HEADER) or form_token or ""
    # Bytes: compare_digest refuses str with non-ASCII characters (a forged header may have).
    if not hmac.compare_digest(token.encode("utf-8", "replace"), actor.csrf.encode()):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page")


def allowed(permission: str):
    """Dependency factory: the actor when their role has `permission`, else 403."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def dependency(request: Request) -> Actor:
        actor = signed_in(request)
        if not actor.can(permission):
            raise HTTPException(403, "your role may not do this")
        return actor

    dependency.__name__ = f"allowed_{permission}"
    return dependency


def same_origin(request: Request) -> bool:
    """Login's CSRF check: a browser's Origin (or Referer) must be this site."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser form post (curl, scripts): nothing to forge
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host
