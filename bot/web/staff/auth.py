"""Staff login: server-side sessions, CSRF tokens, inactivity logoff, lockout, role checks.

The browser holds only a random token in the ``clinic_staff`` cookie (HttpOnly, SameSite=Strict,
path ``/staff``), separate from the patient chat cookie; the session row lives in the database,
so logout, deactivation and the idle timeout take effect at once and survive restarts.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from bot.settings import Settings
from bot.storage import repository
from bot.storage import staff_repository as repo
from bot.storage.models import utcnow
from bot.storage.staff_models import StaffUser, init_staff_tables
from bot.storage.store import ClinicStore

COOKIE = "clinic_staff"
LOGIN_CSRF_COOKIE = "clinic_staff_login"
COOKIE_PATH = "/staff"
LOGIN_URL = "/staff/login"
HOME_URL = "/staff/conversations"
NO_STORE = {"Cache-Control": "no-store"}

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class StaffPolicy:
    """Staff-login settings: idle timeout, lockout thresholds, whether cookies need HTTPS."""

    idle: timedelta = timedelta(minutes=15)
    throttle: repo.ThrottlePolicy = field(default_factory=repo.ThrottlePolicy)
    secure_cookie: bool = False


def load_staff_policy(settings: Settings) -> StaffPolicy:
    """The policy from the settings (``STAFF_IDLE_MINUTES``, ``STAFF_COOKIE_SECURE``)."""
    return StaffPolicy(idle=timedelta(minutes=settings.staff_idle_minutes), secure_cookie=settings.staff_cookie_secure)


def now() -> datetime:
    """The current UTC time (tests patch this)."""
    return utcnow()


_store_lock = threading.Lock()


def app_store(app: Any) -> ClinicStore:
    """The store of the web app ``app`` for ``settings.database_url``, with the staff tables created on first use."""
    state = app.state
    if getattr(state, "staff_store", None) is None:
        with _store_lock:
            if getattr(state, "staff_store", None) is None:
                clinic_store = ClinicStore(state.settings.database_url)
                init_staff_tables(clinic_store.engine)
                state.staff_store = clinic_store
    result: ClinicStore = state.staff_store
    return result


def store(request: Request) -> ClinicStore:
    """The app's store (see :func:`app_store`)."""
    return app_store(request.app)


def alert_counts(session: Session) -> dict[str, int]:
    """What every staff page shows in its header (and ``/staff/api/queue-counts`` returns).

    ``red_flags``: open (new or contacted) red flags the patient reported; ``to_review``: open
    possible red flags the patient said no to when asked; ``requests``: new requests.
    """
    flags = repository.open_red_flag_counts(session)
    requests = repository.count_appointment_requests(session, status="new")
    return {"red_flags": flags["emergency"], "to_review": flags["review"], "requests": requests}


def policy(request: Request) -> StaffPolicy:
    """The app's :class:`StaffPolicy`."""
    result: StaffPolicy = request.app.state.staff_policy
    return result


def client_ip(request: Request) -> str:
    """The peer address (no proxy headers are trusted)."""
    return request.client.host if request.client else "unknown"


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a staff page (never cached) with the clinic name, user, CSRF token and red-flag counts."""
    user = getattr(request.state, "user", None)
    alerts: dict[str, int] | None = None
    if user is not None:
        with store(request).transaction() as session:
            alerts = alert_counts(session)
    full = {
        "clinic_name": request.app.state.settings.clinic_name,
        "user": user,
        "csrf": getattr(request.state, "csrf", ""),
        "alerts": alerts,
        **context,
    }
    return request.app.state.templates.TemplateResponse(request, template, full, status_code=status, headers=NO_STORE)


def _refuse(request: Request, status: int, text: str) -> Response:
    if request.url.path.startswith("/staff/api/"):
        return JSONResponse({"error": text}, status_code=status, headers=NO_STORE)
    return PlainTextResponse(text, status_code=status, headers=NO_STORE)


def require(role: str = "staff", *, touch: bool = True) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: a live session (else login redirect / 401), the role, and CSRF on POST.

    ``touch=False`` (background polling) checks the session without counting it as activity.
    """

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            token = request.cookies.get(COOKIE, "")
            with store(request).transaction() as session:
                found = repo.resume_session(session, token, now(), policy(request).idle, touch=touch)
                if found is not None:
                    row, user = found
                    request.state.user = _UserView.of(user)
                    request.state.csrf = row.csrf_token
            if found is None:
                if request.url.path.startswith("/staff/api/"):
                    return _refuse(request, 401, "login required")
                response = RedirectResponse(LOGIN_URL, status_code=303, headers=NO_STORE)
                response.delete_cookie(COOKIE, path=COOKIE_PATH)
                return response
            if role == "admin" and request.state.user.role != "admin":
                return _refuse(request, 403, "Only administrators can open this page.")
            if request.method == "POST":
                form = await request.form()
                sent = str(form.get("csrf") or "")
                if not sent or not secrets.compare_digest(sent, request.state.csrf):
                    return _refuse(request, 403, "The form expired. Go back, reload the page and try again.")
            return await endpoint(request)

        return guarded

    return decorate


@dataclass(frozen=True)
class _UserView:
    """The signed-in account as pages see it (no hash)."""

    id: int
    username: str
    role: str

    @classmethod
    def of(cls, user: StaffUser) -> _UserView:
        return cls(user.id, user.username, user.role)


def current_user(request: Request) -> _UserView:
    """The signed-in account of a guarded request."""
    user: _UserView = request.state.user
    return user


# --- pages ---------------------------------------------------------------------------------


def _login_page(request: Request, error: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "staff/login.html", {"login_csrf": token, "error": error}, status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=policy(request).secure_cookie,
    )
    return response


async def login_form(request: Request) -> Response:
    """``GET /staff/login``."""
    return _login_page(request)


async def login(request: Request) -> Response:
    """``POST /staff/login``: check CSRF and lockout, then the password; start a session."""
    form = await request.form()
    sent = str(form.get("csrf") or "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        return _login_page(request, "The form expired. Please try again.", 403)
    # No username holds a control character, and PostgreSQL can't store NUL at all (the lookup,
    # the lockout keys and the audit entry would fail with a 500): they are dropped first.
    typed = repo.normalize_username(str(form.get("username") or ""))
    username = "".join(ch for ch in typed if ch.isprintable())[:64]
    password = str(form.get("password") or "")
    ip = client_ip(request)
    keys = [f"user:{username}", f"ip:{ip}"]
    rules = policy(request).throttle
    moment = now()
    with store(request).transaction() as session:
        if repo.locked_until(session, keys, moment) is not None:
            repo.audit(session, username or "?", "login_locked", detail=f"ip={ip}")
            locked = True
        else:
            locked = False
            user = repo.authenticate(session, username, password)
            if user is None:
                repo.record_failure(session, keys[0], rules.account_failures, rules, moment)
                repo.record_failure(session, keys[1], rules.ip_failures, rules, moment)
                repo.audit(session, username or "?", "login_failed", detail=f"ip={ip}")
            else:
                repo.clear_failures(session, keys[0])
                token, _row = repo.start_session(session, user, moment)
                repo.audit(session, user.username, "login", detail=f"ip={ip}")
    if locked:
        return _login_page(request, "Too many failed attempts. Try again later.", 429)
    if user is None:
        return _login_page(request, "Wrong username or password.", 401)
    response = RedirectResponse(HOME_URL, status_code=303, headers=NO_STORE)
    response.set_cookie(
        COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="strict", secure=policy(request).secure_cookie
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    return response


@require()
async def logout(request: Request) -> Response:
    """``POST /staff/logout``: end this session."""
    with store(request).transaction() as session:
        repo.end_session(session, request.cookies.get(COOKIE, ""))
        repo.audit(session, current_user(request).username, "logout")
    response = RedirectResponse(LOGIN_URL, status_code=303, headers=NO_STORE)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@require()
async def home(request: Request) -> Response:
    """``GET /staff``: to the conversation list."""
    return RedirectResponse(HOME_URL, status_code=303, headers=NO_STORE)
