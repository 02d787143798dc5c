"""Work queues: red-flag conversations and consultation requests, with their status history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from bot.storage import repository
from bot.storage import staff_repository as repo
from bot.storage.models import APPOINTMENT_STATUSES, RED_FLAG_STATUSES, StatusChange
from bot.web.staff.auth import NO_STORE, current_user, render, require, store

QUEUES: dict[str, dict[str, Any]] = {
    "red-flags": {"kind": "red_flag", "statuses": RED_FLAG_STATUSES, "title": "Red flags to follow up"},
    "requests": {"kind": "appointment", "statuses": APPOINTMENT_STATUSES, "title": "Consultation requests"},
}


def _history(session: Session, kind: str, ids: list[int]) -> dict[int, list[StatusChange]]:
    found: dict[int, list[StatusChange]] = {record_id: [] for record_id in ids}
    if ids:
        query = select(StatusChange).where(StatusChange.kind == kind, StatusChange.record_id.in_(ids))
        for change in session.execute(query.order_by(StatusChange.changed_at, StatusChange.id)).scalars():
            found[change.record_id].append(change)
    return found


def _queue_page(request: Request, name: str) -> Response:
    queue = QUEUES[name]
    status = request.query_params.get("status", "")
    status = status if status in queue["statuses"] else ""
    with store(request).transaction() as session:
        listing = (
            repository.list_red_flag_events if queue["kind"] == "red_flag" else repository.list_appointment_requests
        )
        records: list[Any] = listing(session, status=status or None, limit=500)
        if not status:
            records = [record for record in records if record.status != "closed"]
        history = _history(session, queue["kind"], [record.id for record in records])
    return render(
        request,
        "staff/queue.html",
        {"queue": queue, "name": name, "records": records, "history": history, "status": status},
    )


@require()
async def red_flag_queue(request: Request) -> Response:
    """``GET /staff/queues/red-flags``: open red-flag events (or one status), newest first."""
    return _queue_page(request, "red-flags")


@require()
async def request_queue(request: Request) -> Response:
    """``GET /staff/queues/requests``: open consultation requests (or one status), newest first."""
    return _queue_page(request, "requests")


@require()
async def change_status(request: Request) -> Response:
    """``POST /staff/queues/{queue}/{record_id}/status``: move a record on (audited)."""
    name = request.path_params["queue"]
    if name not in QUEUES:
        return render(request, "staff/not_found.html", {}, 404)
    kind = QUEUES[name]["kind"]
    record_id = int(request.path_params["record_id"])
    new_status = str((await request.form()).get("status") or "")
    user = current_user(request)
    try:
        with store(request).transaction() as session:
            change = repository.change_status(session, kind, record_id, new_status, user.username)
            if change is not None:
                repo.audit(
                    session,
                    user.username,
                    "status_change",
                    target=f"{kind}:{record_id}",
                    detail=f"{change.old_status}->{change.new_status}",
                )
    except LookupError:
        return render(request, "staff/not_found.html", {}, 404)
    except ValueError:
        return render(request, "staff/error.html", {"message": "That status does not exist here."}, 400)
    return RedirectResponse(f"/staff/queues/{name}", status_code=303, headers=NO_STORE)


@require()
async def queue_counts(request: Request) -> Response:
    """``GET /staff/api/queue-counts``: how many records are still new (JSON)."""
    with store(request).transaction() as session:
        flags = len(repository.list_red_flag_events(session, status="new", limit=10_000))
        requests = len(repository.list_appointment_requests(session, status="new", limit=10_000))
    return JSONResponse({"red_flags": flags, "requests": requests}, headers=NO_STORE)
