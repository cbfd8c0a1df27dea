"""The JSON API (docs/api.md): what the pages use and other systems may call.

Each route asks `auth.allowed(...)` for its permission and the store for its data through
`views`; nothing here decides who may see what, or masks anything, by itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from qa_audit.console import views
from qa_audit.console.accounts import Accounts
from qa_audit.console.auth import Actor, allowed, signed_in
from qa_audit.store import parse_month

router = APIRouter(prefix="/api")


class DecisionIn(BaseModel):
    status: Literal["pass", "fail"]
    note: str = Field(default="", max_length=2000)


class AppealIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ResolveIn(BaseModel):
    outcome: Literal["accept", "reject"]
    note: str = Field(default="", max_length=2000)


class SampleIn(BaseModel):
    date_from: str = Field(alias="from")
    date_to: str = Field(alias="to")
    per_agent: int = Field(ge=1, le=50)
    seed: int = 1


def _console(request: Request):
    return request.app.state.console


@router.get("/me")
def me(actor: Annotated[Actor, Depends(signed_in)]) -> dict:
    return {"name": actor.name, "role": actor.role, "agent_id": actor.agent_id,
            "csrf": actor.csrf}


@router.get("/calls")
def calls(request: Request, actor: Annotated[Actor, Depends(allowed("calls"))],
          date_from: Annotated[str | None, Query(alias="from")] = None,
          date_to: Annotated[str | None, Query(alias="to")] = None,
          agent: str | None = None, flagged: bool = False) -> dict:
    with _console(request).store() as store:
        return {"calls": views.call_rows(store, actor, date_from=date_from, date_to=date_to,
                                         agent=agent, flagged=flagged)}


@router.get("/calls/{call_id}")
def call(request: Request, call_id: str,
         actor: Annotated[Actor, Depends(allowed("calls"))]) -> dict:
    console = _console(request)
    with console.store() as store:
        return views.call_payload(store, actor, call_id, console.settings)


@router.get("/calls/{call_id}/audio")
def audio(request: Request, call_id: str,
          actor: Annotated[Actor, Depends(allowed("calls"))]) -> Response:
    """The recording, with HTTP Range (206) so the player can seek."""
    console = _console(request)
    with console.store() as store:
        audit = views.visible_audit(store, actor, call_id)
        path = views.audio_path(store, audit, console.settings)
    if path is None:
        raise views.NotFound(f"no recording for call {call_id!r}")
    media = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
             ".flac": "audio/flac", ".m4a": "audio/mp4"}.get(path.suffix.lower(),
                                                             "application/octet-stream")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=300"})


@router.get("/queue")
def queue(request: Request, actor: Annotated[Actor, Depends(allowed("queue"))],
          date: str | None = None,
          date_from: Annotated[str | None, Query(alias="from")] = None,
          date_to: Annotated[str | None, Query(alias="to")] = None,
          agent: str | None = None, item: str | None = None) -> dict:
    with _console(request).store() as store:
        return {"items": views.queue_items(store, day=date, date_from=date_from,
                                           date_to=date_to, agent=agent, item=item),
                "unusable": views.unusable_recordings(store, day=date, date_from=date_from,
                                                      date_to=date_to, agent=agent)}


@router.post("/calls/{call_id}/items/{item}/decision")
def decide(request: Request, call_id: str, item: str, body: DecisionIn,
           actor: Annotated[Actor, Depends(allowed("decide"))]) -> dict:
    with _console(request).store() as store:
        views.visible_audit(store, actor, call_id)
        decision = store.decide(call_id, item, body.status, by=actor.name, note=body.note)
        Accounts(store).log(actor.name, "decision", f"{call_id} {item}",
                            f"{decision.machine_status} -> {decision.status}"
                            + (f"; {body.note}" if body.note else ""))
    return {"id": decision.id, "call_id": call_id, "item": item, "status": decision.status,
            "machine_status": decision.machine_status, "decided_by": decision.by,
            "note": decision.note}


@router.post("/calls/{call_id}/items/{item}/appeals")
def appeal(request: Request, call_id: str, item: str, body: AppealIn,
           actor: Annotated[Actor, Depends(allowed("appeal"))]) -> JSONResponse:
    console = _console(request)
    with console.store() as store:
        filed = views.file_appeal(store, actor, call_id, item, body.reason, console.settings)
        Accounts(store).log(actor.name, "appeal", f"{call_id} {item}", f"#{filed.id}")
    return JSONResponse(views.appeal_json(filed), status_code=201)


@router.get("/appeals")
def appeals(request: Request, actor: Annotated[Actor, Depends(allowed("appeals"))],
            state: Literal["open"] | None = None) -> dict:
    with _console(request).store() as store:
        return {"appeals": views.appeals_for(store, actor, _console(request).settings,
                                             open_only=state == "open")}


@router.post("/appeals/{appeal_id}/resolve")
def resolve(request: Request, appeal_id: int, body: ResolveIn,
            actor: Annotated[Actor, Depends(allowed("resolve"))]) -> dict:
    with _console(request).store() as store:
        resolved = store.resolve_appeal(appeal_id, body.outcome, by=actor.name, note=body.note)
        Accounts(store).log(actor.name, "appeal_" + resolved.state,
                            f"{resolved.call_id} {resolved.item}",
                            f"#{appeal_id}" + (f"; {body.note}" if body.note else ""))
    return views.appeal_json(resolved)


@router.get("/tally")
def tally(request: Request, month: str,
          actor: Annotated[Actor, Depends(allowed("tally"))]) -> Response:
    console = _console(request)
    month = parse_month(month)
    with console.store() as store:
        data = views.tally_workbook(store, month, console.settings)
        Accounts(store).log(actor.name, "tally_download", month)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="tally-{month}.xlsx"'})


@router.get("/dashboard")
def dashboard(request: Request, actor: Annotated[Actor, Depends(allowed("dashboard"))],
              month: str | None = None) -> dict:
    console = _console(request)
    with console.store() as store:
        return views.month_figures(store, month or views.default_month(store), console.settings)


@router.get("/me/month")
def my_month(request: Request, actor: Annotated[Actor, Depends(allowed("appeal"))],
             month: str | None = None) -> dict:
    with _console(request).store() as store:
        return views.agent_month(store, actor, month or views.default_month(store))


@router.post("/samples")
def sample(request: Request, body: SampleIn,
           actor: Annotated[Actor, Depends(allowed("sample"))]) -> dict:
    with _console(request).store() as store:
        picked = views.draw_sample(store, date_from=body.date_from, date_to=body.date_to,
                                   per_agent=body.per_agent, seed=body.seed)
        Accounts(store).log(actor.name, "sample", f"{body.date_from}~{body.date_to}",
                            f"{body.per_agent} per agent, seed {body.seed}: {len(picked)} calls")
    return {"calls": picked}


@router.get("/log")
def log(request: Request, actor: Annotated[Actor, Depends(allowed("log"))],
        limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict:
    with _console(request).store() as store:
        entries = Accounts(store).entries(limit=limit)
    return {"entries": [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor,
                         "action": e.action, "target": e.target, "detail": e.detail}
                        for e in entries]}
