"""The web app factory."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.notifications import TIMEOUT_SECONDS, NotifyConfig, RedFlagNotifier
from bot.settings import Settings, load_settings
from bot.web import chat, staff
from bot.web.security import SecurityHeadersMiddleware
from bot.web.staff import texts
from bot.web.staff.auth import NO_STORE, StaffPolicy, app_store, load_staff_policy

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


def _server_error_text(settings: Settings) -> str:
    return f"Something went wrong. Please call {settings.clinic_name} at {settings.clinic_phone}."


async def _server_error(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(_server_error_text(request.app.state.settings), status_code=500)


class ErrorTypeOnlyMiddleware:
    """Answer an unhandled error with a generic 500 page and log only the error's *type*.

    An exception's text can hold patient data: a database error quotes the SQL parameters it
    was given (a phone number, a name), and a driver's message may quote the offending value.
    So no traceback is logged, and the exception does not leave the app (the ASGI server would
    log it with its traceback). Only the endpoint's name goes with the type, never the URL.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; turn an error into a generic 500 (or end a response already begun)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:  # the type is logged, the text and traceback never are
            endpoint = scope.get("endpoint")
            where = getattr(endpoint, "__qualname__", "") or "web app"
            logger.error("unhandled error in %s: %s", where, type(error).__name__)
            if not started:
                settings: Settings = scope["app"].state.settings
                response = PlainTextResponse(_server_error_text(settings), status_code=500, headers=NO_STORE)
                await response(scope, receive, send)


def _dispose_staff_store(app: Starlette) -> None:
    store = getattr(app.state, "staff_store", None)
    if store is not None:
        store.dispose()
        app.state.staff_store = None


TEXT_RETRY_SECONDS = 30.0
"""How long after a failed write a staff-text outcome is written again (``bot.web.staff.texts``)."""
TICK_SECONDS = 1.0


async def _retry_unrecorded_texts(app: Starlette, stop: asyncio.Event) -> None:
    """Write the staff-text outcomes kept in memory, :data:`TEXT_RETRY_SECONDS` after the latest failure."""
    waiting = texts.unrecorded(app)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=TICK_SECONDS)
        except asyncio.TimeoutError:
            pass
        if not len(waiting) or time.monotonic() - waiting.failed_at < TEXT_RETRY_SECONDS:
            continue
        try:
            await asyncio.to_thread(texts.retry_unrecorded, app)
        except Exception as error:  # keep the loop alive; the type is all that is logged
            logger.warning("staff-text outcomes: retry failed (%s)", type(error).__name__)


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Background work while the app runs: red-flag notices, and staff-text outcomes to write again."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_retry_unrecorded_texts(app, stop), name="staff-text-outcomes")]
    config = NotifyConfig.from_settings(app.state.settings)
    if config is not None:
        notifier = RedFlagNotifier(config, lambda: app_store(app), transport=app.state.notify_transport)
        app.state.notifier = notifier
        tasks.append(asyncio.create_task(notifier.run(stop), name="red-flag-notices"))
    try:
        yield
    finally:
        stop.set()
        done, running = await asyncio.wait(tasks, timeout=TIMEOUT_SECONDS + 5)
        for task in running:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                logger.error("background task %s ended: %s", task.get_name(), type(task.exception()).__name__)
        if len(texts.unrecorded(app)):
            try:
                waiting = await asyncio.to_thread(texts.retry_unrecorded, app)
            except Exception as error:  # logged by type; the outcomes were logged with their SIDs
                logger.error("staff-text outcomes not written at shutdown: %s", type(error).__name__)
            else:
                if waiting:
                    logger.error("%d staff-text outcome(s) not written; their SIDs are in earlier log lines", waiting)
        _dispose_staff_store(app)


def create_app(
    settings: Settings | None = None,
    *,
    staff_policy: StaffPolicy | None = None,
    sms_transport: httpx.AsyncBaseTransport | None = None,
    notify_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the web app.

    ``settings`` defaults to :func:`load_settings`; ``staff_policy`` to
    :func:`load_staff_policy` (idle logoff, lockout). ``sms_transport`` replaces the network
    for staff texts to patients, ``notify_transport`` for the red-flag webhook (tests pass an
    ``httpx.MockTransport``).
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
            Middleware(ErrorTypeOnlyMiddleware),
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
        lifespan=_lifespan,
        debug=False,
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=TEMPLATES_DIR)
    app.state.chat_token_key = secret  # the socket.io channel checks chat tokens with SECRET_KEY
    app.state.staff_policy = staff_policy or load_staff_policy(settings)
    app.state.staff_store = None  # built on the first staff request (bot.web.staff.auth.store)
    app.state.sms_transport = sms_transport  # None: Twilio's API over the network (bot.sms_outbound)
    app.state.notify_transport = notify_transport  # None: the red-flag webhook over the network
    app.state.unrecorded_texts = texts.UnrecordedOutcomes()
    return app
