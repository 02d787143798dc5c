"""The public chat page and the endpoints that give its widget a sealed conversation token.

The widget talks to Rasa's socket.io channel directly (``bot.channels.socketio``). This app
makes each browser's conversation id (:func:`bot.chat_tokens.new_conversation_id`), keeps it
sealed (encrypted and authenticated with ``SECRET_KEY``) in its own HttpOnly, SameSite=Lax
cookie ``clinic_chat`` (Secure behind HTTPS, see :func:`cookie_secure`), and hands the page only
short-lived tokens for it (:func:`bot.chat_tokens.issue_token`), which the channel opens with the
same ``SECRET_KEY``. The browser never chooses its conversation id, and never sees it: the
cookie, the token and the socket's confirmation are all opaque.

Earlier versions kept the id in clear text in the signed ``clinic_session`` cookie; such a cookie
is read once, its conversation carried over into ``clinic_chat``, and the old cookie cleared.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.chat_tokens import (
    CONVERSATION_ID,
    COOKIE_LIFETIME_SECONDS,
    TOKEN_LIFETIME_SECONDS,
    issue_token,
    new_conversation_id,
    open_cookie,
    seal_cookie,
)
from bot.settings import Settings
from bot.web.security import SECURITY_HEADERS, is_same_origin_ajax

CHAT_COOKIE = "clinic_chat"
LEGACY_CONVERSATION_KEY = "conversation_id"
"""Where earlier versions kept the id, in clear text, in the ``clinic_session`` cookie."""
NO_STORE = {"Cache-Control": "no-store"}
SOCKET_PATH = "/socket.io"


def cookie_secure(settings: Settings, request: Request) -> bool:
    """Whether the chat cookie gets the Secure flag: whenever the site is served over HTTPS.

    That is: the request came in over HTTPS, or ``STAFF_COOKIE_SECURE`` is set (the deployment
    says it is behind HTTPS), or ``PUBLIC_URL`` or ``CHAT_SOCKET_URL`` is an ``https://`` URL.
    """
    return (
        request.url.scheme == "https"
        or settings.staff_cookie_secure
        or settings.public_url.lower().startswith("https://")
        or settings.chat_socket_url.lower().startswith("https://")
    )


def conversation_id(request: Request) -> str:
    """This browser's conversation id from its chat cookie, made on first use.

    A cookie of an earlier version (the id in the session) is carried over once and cleared.
    """
    key: str = request.app.state.chat_token_key
    current = open_cookie(key, request.cookies.get(CHAT_COOKIE))
    legacy = request.session.pop(LEGACY_CONVERSATION_KEY, None) if "session" in request.scope else None
    if current is not None:
        return current
    if isinstance(legacy, str) and CONVERSATION_ID.fullmatch(legacy):
        return legacy
    return new_conversation_id()


def unavailable_text(settings: Settings) -> str:
    """What the patient reads when the assistant cannot answer."""
    return f"The assistant is not available right now; please call {settings.clinic_name} at {settings.clinic_phone}."


def socket_origin(settings: Settings, request: Request) -> str:
    """Where the widget opens its socket: ``CHAT_SOCKET_URL``, else this host at ``RASA_PORT``."""
    if settings.chat_socket_url:
        return settings.chat_socket_url
    return f"{request.url.scheme}://{request.url.hostname}:{settings.rasa_port}"


def chat_page_policy(socket_url: str) -> str:
    """The page's Content-Security-Policy: the default one, plus the socket's origin."""
    parts = urlsplit(socket_url)
    websocket_scheme = "wss" if parts.scheme == "https" else "ws"
    origin = f"{parts.scheme}://{parts.netloc}"
    default = SECURITY_HEADERS["Content-Security-Policy"]
    return default.replace("connect-src 'self'", f"connect-src 'self' {origin} {websocket_scheme}://{parts.netloc}")


def _error(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status, headers=NO_STORE)


def _token_answer(request: Request, conversation: str) -> JSONResponse:
    """The token for ``conversation``, with the chat cookie (re)set for another working day."""
    key: str = request.app.state.chat_token_key
    token = issue_token(key, conversation)
    answer = JSONResponse({"token": token, "expires_in": TOKEN_LIFETIME_SECONDS}, headers=NO_STORE)
    answer.set_cookie(
        CHAT_COOKIE,
        seal_cookie(key, conversation),
        max_age=COOKIE_LIFETIME_SECONDS,
        path="/",
        secure=cookie_secure(request.app.state.settings, request),
        httponly=True,
        samesite="lax",
    )
    return answer


async def chat_page(request: Request) -> Response:
    """``GET /``: the chat widget."""
    settings: Settings = request.app.state.settings
    socket_url = socket_origin(settings, request)
    page = request.app.state.templates.TemplateResponse(
        request,
        "chat/index.html",
        {
            "clinic_name": settings.clinic_name,
            "clinic_phone": settings.clinic_phone,
            "clinic_phone_href": "tel:" + re.sub(r"[^0-9+]", "", settings.clinic_phone),
            "unavailable_text": unavailable_text(settings),
            "socket_url": socket_url,
            "socket_path": SOCKET_PATH,
        },
    )
    page.headers["Content-Security-Policy"] = chat_page_policy(socket_url)
    return page


async def chat_session(request: Request) -> Response:
    """``POST /chat/session``: a fresh token for this browser's conversation."""
    if not is_same_origin_ajax(request):
        return _error(403, "forbidden")
    return _token_answer(request, conversation_id(request))


async def new_conversation(request: Request) -> Response:
    """``POST /chat/new``: start a new conversation for this browser; its token."""
    if not is_same_origin_ajax(request):
        return _error(403, "forbidden")
    if "session" in request.scope:
        request.session.pop(LEGACY_CONVERSATION_KEY, None)
    return _token_answer(request, new_conversation_id())


def routes() -> list[BaseRoute]:
    """The chat area's routes."""
    return [
        Route("/", chat_page, methods=["GET"], name="chat_page"),
        Route("/chat/session", chat_session, methods=["POST"], name="chat_session"),
        Route("/chat/new", new_conversation, methods=["POST"], name="chat_new"),
    ]
