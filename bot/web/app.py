"""The web app factory."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.settings import Settings, load_settings
from bot.web import chat, staff
from bot.web.security import SecurityHeadersMiddleware
from bot.web.staff.auth import StaffPolicy, load_staff_policy

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

SESSION_COOKIE = "clinic_session"
SESSION_MAX_AGE_SECONDS = 8 * 60 * 60
"""How long a browser keeps its conversation: a working day, not weeks (shared computers)."""


def session_secret(settings: Settings) -> str:
    """``SECRET_KEY``, or a random per-process key (with a warning) when it is empty."""
    if settings.secret_key:
        return settings.secret_key
    logger.warning(
        "SECRET_KEY is not set: using a random key for this process only; chat sessions end when the web app "
        "restarts, and Rasa's socket.io channel cannot check chat tokens ('make run' sets a shared key)."
    )
    return secrets.token_urlsafe(32)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    text = {404: "Not found.", 405: "Method not allowed."}.get(status, "Request refused.")
    return PlainTextResponse(text, status_code=status)


async def _server_error(request: Request, exc: Exception) -> Response:
    settings: Settings = request.app.state.settings
    return PlainTextResponse(
        f"Something went wrong. Please call {settings.clinic_name} at {settings.clinic_phone}.",
        status_code=500,
    )


def _dispose_staff_store(app: Starlette) -> None:
    store = getattr(app.state, "staff_store", None)
    if store is not None:
        store.dispose()
        app.state.staff_store = None


def create_app(
    settings: Settings | None = None,
    *,
    staff_policy: StaffPolicy | None = None,
    sms_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the web app.

    ``settings`` defaults to :func:`load_settings`; ``staff_policy`` to
    :func:`load_staff_policy` (idle logoff, lockout). ``sms_transport`` replaces the network
    for staff texts to patients (tests pass an ``httpx.MockTransport``).
    """
    settings = settings or load_settings()
    secret = session_secret(settings)
    app = Starlette(
        routes=[
            *chat.routes(),
            *staff.routes(),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE_SECONDS,
                same_site="lax",
                https_only=False,
            ),
        ],
        exception_handlers={HTTPException: _http_error, 500: _server_error},
        on_shutdown=[lambda: _dispose_staff_store(app)],
        debug=False,
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=TEMPLATES_DIR)
    app.state.chat_token_key = secret  # the socket.io channel checks chat tokens with SECRET_KEY
    app.state.staff_policy = staff_policy or load_staff_policy(settings)
    app.state.staff_store = None  # built on the first staff request (bot.web.staff.auth.store)
    app.state.sms_transport = sms_transport  # None: Twilio's API over the network (bot.sms_outbound)
    return app
