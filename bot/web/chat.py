"""The public chat page and its JSON endpoints, which forward to Rasa's REST channel.

The conversation id (Rasa's ``sender``) is made here with ``secrets.token_urlsafe(24)`` and
kept in the signed, HttpOnly, SameSite=Lax session cookie: the browser never chooses it.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.text import clean_incoming_text
from bot.settings import Settings
from bot.web.rasa import RasaClient, RasaUnavailable
from bot.web.security import BadRequest, is_same_origin_ajax, read_json_object

logger = logging.getLogger(__name__)

CONVERSATION_KEY = "conversation_id"
NO_STORE = {"Cache-Control": "no-store"}


def new_conversation_id() -> str:
    """A fresh, unguessable conversation id."""
    return secrets.token_urlsafe(24)


def conversation_id(request: Request) -> str:
    """This browser's conversation id from its session cookie, made on first use."""
    current = request.session.get(CONVERSATION_KEY)
    if isinstance(current, str) and current:
        return current
    fresh = new_conversation_id()
    request.session[CONVERSATION_KEY] = fresh
    return fresh


def unavailable_text(settings: Settings) -> str:
    """What the patient reads when the assistant cannot answer."""
    return f"The assistant is not available right now; please call {settings.clinic_name} at {settings.clinic_phone}."


def browser_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep only what the widget renders: ``text``, ``buttons`` and ``custom``."""
    shown: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {}
        if isinstance(message.get("text"), str):
            item["text"] = message["text"]
        buttons = message.get("buttons")
        if isinstance(buttons, list):
            item["buttons"] = [
                {"title": str(button["title"]), "payload": str(button.get("payload", ""))}
                for button in buttons
                if isinstance(button, dict) and button.get("title")
            ]
        if isinstance(message.get("custom"), dict):
            item["custom"] = message["custom"]
        if item:
            shown.append(item)
    return shown


def _error(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status, headers=NO_STORE)


async def chat_page(request: Request) -> Response:
    """``GET /``: the chat widget."""
    settings: Settings = request.app.state.settings
    return request.app.state.templates.TemplateResponse(
        request,
        "chat/index.html",
        {
            "clinic_name": settings.clinic_name,
            "clinic_phone": settings.clinic_phone,
            "clinic_phone_href": "tel:" + re.sub(r"[^0-9+]", "", settings.clinic_phone),
            "unavailable_text": unavailable_text(settings),
        },
    )


async def send_message(request: Request) -> Response:
    """``POST /chat/send`` ``{"message": "..."}``: forward to Rasa, answer its messages."""
    if not is_same_origin_ajax(request):
        return _error(403, "forbidden")
    try:
        payload = await read_json_object(request)
    except BadRequest as error:
        return _error(400, str(error))
    message = payload.get("message", "")
    if not isinstance(message, str):
        return _error(400, "'message' must be text.")
    settings: Settings = request.app.state.settings
    rasa: RasaClient = request.app.state.rasa
    try:
        messages = await rasa.send(conversation_id(request), clean_incoming_text(message))
    except RasaUnavailable as error:
        logger.warning("Rasa is unavailable: %s", error)
        return _error(502, "assistant_unavailable", messages=[{"text": unavailable_text(settings)}])
    return JSONResponse({"messages": browser_messages(messages)}, headers=NO_STORE)


async def new_conversation(request: Request) -> Response:
    """``POST /chat/new``: give this browser a fresh conversation id."""
    if not is_same_origin_ajax(request):
        return _error(403, "forbidden")
    request.session[CONVERSATION_KEY] = new_conversation_id()
    return JSONResponse({"ok": True}, headers=NO_STORE)


def routes() -> list[BaseRoute]:
    """The chat area's routes."""
    return [
        Route("/", chat_page, methods=["GET"], name="chat_page"),
        Route("/chat/send", send_message, methods=["POST"], name="chat_send"),
        Route("/chat/new", new_conversation, methods=["POST"], name="chat_new"),
    ]
