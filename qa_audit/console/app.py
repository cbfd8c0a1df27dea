"""The console's app factory: `create_app(db_path, ...)` for `qa-audit serve` and the tests.

The app is thin over the store: a `Store` is opened per request (SQLite connections do not
cross threads) and closed after it. Domain errors become HTTP statuses here, at the edge:
a bad input 400, what the actor may not know of 404, a locked or broken store 503.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined

from qa_audit.console import api, pages
from qa_audit.console.accounts import Accounts
from qa_audit.console.auth import (
    COOKIE,
    LockedOut,
    Sessions,
    check_csrf,
    current_actor,
    same_origin,
    sign_in,
)
from qa_audit.console.views import DEFAULT_APPEAL_DAYS, NotFound, Settings
from qa_audit.errors import InputError, QaAuditError, StoreError
from qa_audit.phrasebook import Phrasebook
from qa_audit.store import Store

DEFAULT_SESSION_HOURS = 10  # one shift and a bit: a forgotten browser signs itself out


@dataclass
class Console:
    db_path: Path
    settings: Settings
    sessions: Sessions
    templates: Environment

    @contextmanager
    def store(self) -> Iterator[Store]:
        with Store(self.db_path, create=False) as store:
            yield store


def _plotly_js() -> Path:
    """plotly.min.js as the plotly package ships it (served from there, not copied)."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def create_app(
    db_path: Path | str,
    *,
    audio_root: Path | None = None,
    phrasebook: Phrasebook | None = None,
    appeal_days: int = DEFAULT_APPEAL_DAYS,
    session_hours: float = DEFAULT_SESSION_HOURS,
    secure_cookies: bool = False,
) -> FastAPI:
    db_path = Path(db_path)
    with Store(db_path, create=False) as store:
        secret = Accounts(store).secret()
    console = Console(
        db_path=db_path,
        settings=Settings(audio_root=audio_root, phrasebook=phrasebook, appeal_days=appeal_days),
        sessions=Sessions(secret, max_age_s=int(session_hours * 3600), secure=secure_cookies),
        templates=Environment(loader=PackageLoader("qa_audit.console", "templates"),
                              autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True),
    )
    app = FastAPI(title="qa-audit console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(_plotly_js(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    # After the route above: a mount answers everything under its path.
    app.mount("/static", StaticFiles(packages=[("qa_audit.console", "static")]), name="static")

    @app.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""),
              next: str = Form("/")) -> Response:
        wants_json = "application/json" in request.headers.get("accept", "")
        if not same_origin(request):
            raise HTTPException(403, "sign-in from another site refused")
        with console.store() as store:
            try:
                user = sign_in(Accounts(store), username, password)
            except LockedOut as locked:
                message = (f"登录失败次数过多，账号已锁定至 {locked.until:%H:%M}，请稍后再试"
                           if not wants_json else str(locked))
                return _login_failed(request, message, 429, wants_json, username)
        if user is None:
            return _login_failed(request, "用户名或密码错误" if not wants_json
                                 else "wrong user name or password", 401, wants_json, username)
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        response: Response = (JSONResponse({"name": user.name, "role": user.role,
                                            "agent_id": user.agent_id}) if wants_json
                              else RedirectResponse(target, status_code=303))
        response.set_cookie(value=console.sessions.issue(user), **console.sessions.cookie_args())
        return response

    def _login_failed(request: Request, message: str, status: int, wants_json: bool,
                      username: str) -> Response:
        if wants_json:
            return JSONResponse({"error": message}, status_code=status)
        return pages.render(request, "login.html.j2", status_code=status, error=message,
                            username=username, next=request.query_params.get("next", "/"))

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        actor = current_actor(request)
        if actor is not None:
            form = await request.form() if "form" in request.headers.get(
                "content-type", "") else {}
            check_csrf(request, actor, str(form.get("csrf", "")) if form else None)
            with console.store() as store:
                Accounts(store).log(actor.name, "logout", actor.name)
        wants_json = "application/json" in request.headers.get("accept", "")
        response: Response = (JSONResponse({"signed_out": True}) if wants_json
                              else RedirectResponse("/login", status_code=303))
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
        return response

    app.include_router(api.router)
    app.include_router(pages.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        # Pages and JSON hold residents' data: not kept in a shared office PC's cache.
        headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(request, 400, f"{where}: {first.get('msg', 'invalid input')}")

    @app.exception_handler(QaAuditError)
    async def domain_error(request: Request, exc: QaAuditError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 503 if isinstance(exc, StoreError) \
            else 400 if isinstance(exc, InputError) else 500
        return _error(request, status, str(exc))

    def _error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/") or "application/json" in request.headers.get(
                "accept", "") or request.method != "GET":
            return JSONResponse({"error": message}, status_code=status)
        if status == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return pages.render(request, "error.html.j2", status_code=status, status=status,
                            message=message)

    return app
