"""Administrator pages: the audit log and staff accounts (role ``admin`` only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.storage import staff_repository as repo
from bot.storage.staff_models import STAFF_ROLES, StaffUser
from bot.web.staff.auth import NO_STORE, current_user, render, require, store

AUDIT_PAGE_SIZE = 100


@require("admin")
async def audit_log(request: Request) -> Response:
    """``GET /staff/audit``: every audited action, newest first, paged."""
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    with store(request).transaction() as session:
        entries, total = repo.list_audit(session, limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE)
    pages = max(1, (total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE)
    return render(request, "staff/audit.html", {"entries": entries, "page": page, "pages": pages})


def _users_page(request: Request, message: str = "", status: int = 200) -> Response:
    with store(request).transaction() as session:
        users = repo.list_users(session)
    return render(request, "staff/users.html", {"users": users, "roles": STAFF_ROLES, "message": message}, status)


@require("admin")
async def users(request: Request) -> Response:
    """``GET /staff/users``: the accounts."""
    return _users_page(request)


@require("admin")
async def create_user(request: Request) -> Response:
    """``POST /staff/users``: add an account (audited)."""
    form = await request.form()
    admin = current_user(request).username
    try:
        with store(request).transaction() as session:
            user = repo.create_user(
                session, str(form.get("username") or ""), str(form.get("password") or ""), str(form.get("role") or "")
            )
            repo.audit(session, admin, "user_create", target=user.username, detail=f"role={user.role}")
    except ValueError as error:
        return _users_page(request, str(error), 400)
    return RedirectResponse("/staff/users", status_code=303, headers=NO_STORE)


@require("admin")
async def update_user(request: Request) -> Response:
    """``POST /staff/users/{user_id}``: deactivate, reactivate or reset the password (audited)."""
    form = await request.form()
    action = str(form.get("action") or "")
    admin = current_user(request)
    try:
        with store(request).transaction() as session:
            user = session.get(StaffUser, int(request.path_params["user_id"]))
            if user is None:
                return render(request, "staff/not_found.html", {}, 404)
            if action == "deactivate":
                if user.id == admin.id:
                    raise ValueError("you cannot deactivate your own account")
                repo.set_active(session, user, False)
            elif action == "activate":
                repo.set_active(session, user, True)
            elif action == "reset":
                repo.set_password(session, user, str(form.get("password") or ""))
            else:
                raise ValueError("unknown action")
            repo.audit(session, admin.username, f"user_{action}", target=user.username)
    except ValueError as error:
        return _users_page(request, str(error), 400)
    return RedirectResponse("/staff/users", status_code=303, headers=NO_STORE)
