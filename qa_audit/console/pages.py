"""The HTML pages: Jinja2 templates over the same `views` as the JSON API.

Pages only read; every change (decide, appeal, answer, sample) is a `fetch` to the API from
static/console.js with the page's CSRF token. The agent's pages are built from the masked
payload, so nothing unmasked reaches their browser.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qa_audit.console import views
from qa_audit.console.accounts import ROLE_ZH, Accounts
from qa_audit.console.auth import Actor, allowed, current_actor
from qa_audit.review_page import CALL_TYPE_ZH, STATUS_ZH, clock
from qa_audit.sampling import call_started_at

router = APIRouter()

ACTION_ZH = {"login": "登录", "login_failed": "登录失败", "login_locked": "账号锁定中登录",
             "logout": "退出", "decision": "复核判定", "appeal": "提出申诉",
             "appeal_accepted": "申诉通过", "appeal_rejected": "申诉驳回",
             "sample": "抽取样本", "tally_download": "下载月报", "user_added": "新增用户",
             "user_disabled": "停用用户", "password_set": "设置密码"}


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> Response:
    console = request.app.state.console
    actor = current_actor(request)
    html = console.templates.get_template(template).render(
        actor=actor, role_zh=ROLE_ZH, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status_code)


def _home(actor: Actor) -> str:
    if actor.can("queue"):
        return "/queue"
    if actor.can("appeal"):
        return "/my"
    return "/dashboard"


@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    actor = current_actor(request)
    return RedirectResponse(_home(actor) if actor else "/login", status_code=303)


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    console = request.app.state.console
    with console.store() as store:
        no_users = not Accounts(store).any_user()
    return render(request, "login.html.j2", error="", username="", next=next,
                  no_users=no_users)


@router.get("/queue", include_in_schema=False)
def queue_page(request: Request, actor: Annotated[Actor, Depends(allowed("queue"))],
               date_: Annotated[str | None, Query(alias="date")] = None,
               date_from: Annotated[str | None, Query(alias="from")] = None,
               date_to: Annotated[str | None, Query(alias="to")] = None,
               agent: str | None = None, item: str | None = None) -> Response:
    console = request.app.state.console
    with console.store() as store:
        items = views.queue_items(store, day=date_ or None, date_from=date_from or None,
                                  date_to=date_to or None, agent=agent or None,
                                  item=item or None)
        open_appeals = len(store.appeals(open_only=True))
        unusable = views.unusable_recordings(store, day=date_ or None,
                                             date_from=date_from or None,
                                             date_to=date_to or None, agent=agent or None)
    for entry in items:
        entry["clock"] = clock(entry["evidence"][0]["start"]) if entry["evidence"] else ""
        entry["seek"] = entry["evidence"][0]["start"] if entry["evidence"] else 0
    return render(request, "queue.html.j2", items=items, open_appeals=open_appeals,
                  unusable=unusable,
                  filters={"date": date_ or "", "from": date_from or "", "to": date_to or "",
                           "agent": agent or "", "item": item or ""},
                  call_type_zh=CALL_TYPE_ZH)


@router.get("/calls/{call_id}", include_in_schema=False)
def call_page(request: Request, call_id: str,
              actor: Annotated[Actor, Depends(allowed("calls"))]) -> Response:
    console = request.app.state.console
    with console.store() as store:
        payload = views.call_payload(store, actor, call_id, console.settings)
        # A lead's day goes from one call to the next call still waiting in the queue.
        started = call_started_at(call_id, None) if not payload["audit"].get("started_at") \
            else None
        day = (payload["audit"].get("started_at") or (started.isoformat() if started else ""))[
            :10] or None
        waiting = views.queue_items(store, day=day) if actor.can("queue") else []
    later = [i for i in waiting if i["call_id"] != call_id]
    next_item = later[0] if later else None
    audit = payload["audit"]
    spans = [(e["start"], e["end"]) for i in audit["items"] if i["status"] in ("fail", "review")
             for e in i["evidence"]] + [(e["start"], e["end"]) for f in audit["findings"]
                                        for e in f["evidence"]]
    lines = [{**u, "clock": clock(u["start"]),
              "evidence": any(s < u["end"] and u["start"] < e or s == u["start"]
                              for s, e in spans)}
             for u in payload["transcript"]["utterances"]]
    appeals_by_item: dict[str, list] = {}
    for appeal in payload["appeals"]:
        appeals_by_item.setdefault(appeal["item"], []).append(appeal)
    until = payload.get("appeal_until")
    window_open = bool(until) and date.today().isoformat() <= until
    return render(request, "call.html.j2", audit=audit, lines=lines, payload=payload,
                  appeals_by_item=appeals_by_item, status_zh=STATUS_ZH,
                  call_type_zh=CALL_TYPE_ZH, clock=clock, appeal_until=until,
                  window_open=window_open, appeal_state_zh=views.APPEAL_STATE_ZH,
                  finding_labels=payload["finding_labels"], next_item=next_item,
                  waiting=len(waiting))


@router.get("/my", include_in_schema=False)
def my_page(request: Request, actor: Annotated[Actor, Depends(allowed("appeal"))],
            month: str | None = None) -> Response:
    console = request.app.state.console
    with console.store() as store:
        month = month or views.default_month(store)
        summary = views.agent_month(store, actor, month)
        calls = views.call_rows(store, actor)
        appeals = views.appeals_for(store, actor, console.settings)
    return render(request, "my.html.j2", summary=summary, calls=calls, appeals=appeals,
                  figure=json.dumps(summary["figure"], ensure_ascii=False),
                  call_type_zh=CALL_TYPE_ZH, appeal_state_zh=views.APPEAL_STATE_ZH)


@router.get("/calls", include_in_schema=False)
def calls_page(request: Request, actor: Annotated[Actor, Depends(allowed("calls"))],
               date_from: Annotated[str | None, Query(alias="from")] = None,
               date_to: Annotated[str | None, Query(alias="to")] = None,
               agent: str | None = None) -> Response:
    console = request.app.state.console
    with console.store() as store:
        calls = views.call_rows(store, actor, date_from=date_from or None,
                                date_to=date_to or None, agent=agent or None)
    return render(request, "calls.html.j2", calls=calls, call_type_zh=CALL_TYPE_ZH,
                  filters={"from": date_from or "", "to": date_to or "", "agent": agent or ""})


@router.get("/appeals", include_in_schema=False)
def appeals_page(request: Request, actor: Annotated[Actor, Depends(allowed("appeals"))],
                 state: str | None = None) -> Response:
    console = request.app.state.console
    with console.store() as store:
        appeals = views.appeals_for(store, actor, console.settings, open_only=state == "open")
    return render(request, "appeals.html.j2", appeals=appeals, state=state or "",
                  appeal_state_zh=views.APPEAL_STATE_ZH)


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(request: Request, actor: Annotated[Actor, Depends(allowed("dashboard"))],
                   month: str | None = None) -> Response:
    console = request.app.state.console
    with console.store() as store:
        months = store.months()
        month = month or views.default_month(store)
        figures = views.month_figures(store, month, console.settings) if months else None
    return render(request, "dashboard.html.j2", month=month, months=months, data=figures,
                  figures={k: json.dumps(v, ensure_ascii=False)
                           for k, v in (figures or {}).get("figures", {}).items()})


@router.get("/sample", include_in_schema=False)
def sample_page(request: Request, actor: Annotated[Actor, Depends(allowed("sample"))]) -> Response:
    console = request.app.state.console
    with console.store() as store:
        month = views.default_month(store)
        drawn = [s for s in store.samples() if s.period == "week"]
    return render(request, "sample.html.j2", drawn=drawn, month=month)


@router.get("/log", include_in_schema=False)
def log_page(request: Request, actor: Annotated[Actor, Depends(allowed("log"))]) -> Response:
    console = request.app.state.console
    with console.store() as store:
        entries = Accounts(store).entries(limit=500)
    return render(request, "log.html.j2", entries=entries, action_zh=ACTION_ZH)
