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
from bot.web.staff.auth import NO_STORE, alert_counts, current_user, render, require, store

QUEUE_PAGE_SIZE = 50
MAX_PAGE = 1_000_000

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


def _page_number(request: Request) -> int:
    try:
        return min(max(1, int(request.query_params.get("page", "1"))), MAX_PAGE)
    except ValueError:
        return 1


def _queue_page(request: Request, name: str) -> Response:
    """One page of a queue: the open records (new and contacted, "new" first) or those of one status.

    The status filter, the count and the paging are done by the database, so an open record
    is never crowded out by newer closed ones.
    """
    queue = QUEUES[name]
    status = request.query_params.get("status", "")
    status = status if status in queue["statuses"] else ""
    page = _page_number(request)
    wanted: dict[str, Any] = {"status": status} if status else {"statuses": repository.OPEN_STATUSES}
    with store(request).transaction() as session:
        if queue["kind"] == "red_flag":
            listing, counting = repository.list_red_flag_events, repository.count_red_flag_events
        else:
            listing, counting = repository.list_appointment_requests, repository.count_appointment_requests
        total = counting(session, **wanted)
        pages = max(1, (total + QUEUE_PAGE_SIZE - 1) // QUEUE_PAGE_SIZE)
        page = min(page, pages)
        records: list[Any] = listing(
            session, **wanted, limit=QUEUE_PAGE_SIZE, offset=(page - 1) * QUEUE_PAGE_SIZE, new_first=not status
        )
        history = _history(session, queue["kind"], [record.id for record in records])
    return render(
        request,
        "staff/queue.html",
        {
            "queue": queue,
            "name": name,
            "records": records,
            "history": history,
            "status": status,
            "page": page,
            "pages": pages,
            "total": total,
        },
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


@require(touch=False)
async def queue_counts(request: Request) -> Response:
    """``GET /staff/api/queue-counts``: open red flags, red flags to review, new requests (JSON).

    Polled by every staff page (``static/staff.js``); it does not count as activity, so the
    idle logoff still happens on a page left open.
    """
    with store(request).transaction() as session:
        counts = alert_counts(session)
    return JSONResponse(counts, headers=NO_STORE)
