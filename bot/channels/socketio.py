"""Rasa's socket.io channel, fixed for python-socketio >= 5.10 and locked to known origins.

Load it from ``credentials.yml`` as::

    bot.channels.socketio.ClinicSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      cors_allowed_origins: ["https://www.example-clinic.com"]

What differs from :class:`rasa.core.channels.socketio.SocketIOInput`:

* ``enter_room`` is awaited when it is a coroutine (python-socketio >= 5.10); Rasa 3.6
  drops that coroutine, so with ``session_persistence: true`` the socket never joins its
  session's room and no reply is ever delivered.
* With ``session_persistence: true`` the conversation id comes from a token the clinic's
  web app sealed with ``SECRET_KEY`` (:mod:`bot.chat_tokens`), sent as ``session_id`` in
  ``session_request``. Anything else (no token, an expired, forged or foreign one, a bare id)
  gets a brand-new server-made conversation. The ``session_id`` inside a message is never
  trusted: a socket writes only into the conversation confirmed to it. ``session_confirm``
  carries an opaque handle of the conversation (:func:`~bot.chat_tokens.confirmation_handle`),
  never its id, so the id is not in the page or the tab's storage.
* One socket per conversation: a second socket presenting the same token takes the
  conversation over, and the first is told (``session_taken``) and disconnected, so nobody
  listens in silently.
* After each patient message the bot's turn ends with ``turn_complete`` (``{"ok": bool}``),
  so the widget knows when the assistant has finished answering.
* Patient text goes through :func:`~bot.channels.text.clean_incoming_text`; the metadata
  is always ``{"channel": "socketio"}`` (client metadata is dropped).
* ``cors_allowed_origins`` is an explicit list (default: ``CHAT_ALLOWED_ORIGINS``, else the
  clinic web app on ``localhost``/``127.0.0.1`` at ``WEB_PORT``); ``"*"`` is refused.
* ``custom`` payloads are emitted as ``{"custom": {...}}`` on the bot event (Rasa passes
  them to ``emit`` as keyword arguments, which fails for payloads like ``{"type": "ask"}``).
* Replies go to the configured namespace (Rasa always emits on ``/``).
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rasa.core.channels.channel import (
    InputChannel,
    OutputChannel,
    UserMessage,
    decode_bearer_token,
)
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer  # type: ignore[import-untyped]  # no stubs or py.typed

from bot.channels.text import clean_incoming_text
from bot.chat_tokens import confirmation_handle, new_conversation_id, verify_token
from bot.settings import load_settings

logger = logging.getLogger(__name__)

TURN_COMPLETE_EVENT = "turn_complete"
SESSION_TAKEN_EVENT = "session_taken"


def default_allowed_origins() -> list[str]:
    """``CHAT_ALLOWED_ORIGINS``, else the clinic web app's local origins at ``WEB_PORT``."""
    return load_settings().chat_origins()


def default_token_key() -> str:
    """``SECRET_KEY``, or (with a warning) a random key: no web-app token will then verify."""
    key = load_settings().secret_key
    if key:
        return key
    logger.warning(
        "SECRET_KEY is not set: the socket.io channel cannot check the web app's chat tokens, "
        "so every connection starts a new conversation. 'make run' sets a shared key."
    )
    return secrets.token_urlsafe(32)


def _origins(configured: object) -> list[str]:
    """Validate ``cors_allowed_origins`` from the credentials into a list of origins."""
    if configured is None:
        return default_allowed_origins()
    origins = [configured] if isinstance(configured, str) else configured
    if not isinstance(origins, (list, tuple)) or not all(isinstance(origin, str) and origin for origin in origins):
        raise ValueError("socket.io 'cors_allowed_origins' must be a list of origins.")
    if "*" in origins:
        raise ValueError("socket.io 'cors_allowed_origins' must list origins, not '*'.")
    return [origin.rstrip("/") for origin in origins]


class ClinicSocketIOOutput(SocketIOOutput):
    """Sends bot messages to one socket.io room in the channel's namespace."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str, namespace: str | None = None) -> None:
        """Emit ``bot_message_evt`` on ``sio`` in ``namespace`` (``/`` when None)."""
        super().__init__(sio, bot_message_evt)
        self.namespace = namespace

    async def _send_message(self, socket_id: str, response: Any) -> None:
        """Emit one message to the room ``socket_id``."""
        await self.sio.emit(self.bot_message_evt, response, room=socket_id, namespace=self.namespace)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        """Emit a custom payload as ``{"custom": json_message}``."""
        await self._send_message(recipient_id, {"custom": json_message})


class ClinicSocketIOInput(SocketIOInput):
    """The socket.io channel (name ``socketio``, path ``/socket.io``); see the module doc."""

    @classmethod
    def name(cls) -> str:
        """The channel name, used for ``input_channel`` and the blueprint's URL prefix."""
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` section."""
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            session_persistence=bool(credentials.get("session_persistence", False)),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            jwt_key=credentials.get("jwt_key"),
            jwt_method=credentials.get("jwt_method", "HS256"),
            cors_allowed_origins=_origins(credentials.get("cors_allowed_origins")),
            token_key=credentials.get("token_key"),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        session_persistence: bool = False,
        socketio_path: str | None = "/socket.io",
        jwt_key: str | None = None,
        jwt_method: str | None = "HS256",
        cors_allowed_origins: Sequence[str] | None = None,
        token_key: str | None = None,
    ) -> None:
        """Create the channel; None means the defaults (allowed origins, ``SECRET_KEY``)."""
        super().__init__(
            user_message_evt,
            bot_message_evt,
            namespace,
            session_persistence,
            socketio_path,
            jwt_key,
            jwt_method,
        )
        self.cors_allowed_origins = _origins(None if cors_allowed_origins is None else list(cors_allowed_origins))
        self.token_key = token_key or default_token_key()
        self._conversation_of_sid: dict[str, str] = {}
        self._sid_of_conversation: dict[str, str] = {}

    def get_output_channel(self) -> OutputChannel | None:
        """An output channel on the live server, or None before the blueprint exists."""
        if self.sio is None:
            return None
        return ClinicSocketIOOutput(self.sio, self.bot_message_evt, self.namespace)

    def create_server(self) -> AsyncServer:
        """The socket.io server, accepting browsers only from the allowed origins."""
        # An empty list would switch python-socketio's origin check off entirely, so an
        # empty configuration falls back to its same-origin default (None).
        return AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=list(self.cors_allowed_origins) or None,
        )

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> bool:
        """Accept a socket; with ``jwt_key`` set, only one bearing a valid token."""
        if not self.jwt_key:
            return True
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token or not isinstance(token, str):
            return False
        return bool(decode_bearer_token(token, self.jwt_key, self.jwt_algorithm or ""))

    async def on_disconnect(self, sid: str) -> None:
        """Forget which conversation the socket belonged to."""
        conversation = self._conversation_of_sid.pop(sid, None)
        if conversation is not None and self._sid_of_conversation.get(conversation) == sid:
            del self._sid_of_conversation[conversation]

    async def on_session_request(self, sio: AsyncServer, sid: str, data: Any) -> None:
        """Confirm a conversation to the socket and, with persistence, join its room."""
        if not self.session_persistence:
            await sio.emit("session_confirm", sid, room=sid, namespace=self.namespace)
            return
        token = data.get("session_id") if isinstance(data, dict) else None
        conversation = verify_token(self.token_key, token) or new_conversation_id()
        previous = self._conversation_of_sid.get(sid)
        if previous is not None and previous != conversation:
            await _maybe_await(sio.leave_room(sid, previous, namespace=self.namespace))
            await self.on_disconnect(sid)
        holder = self._sid_of_conversation.get(conversation)
        if holder is not None and holder != sid:
            await self._take_over(sio, holder, conversation)
        # python-socketio >= 5.10 made enter_room a coroutine; Rasa 3.6 drops it.
        await _maybe_await(sio.enter_room(sid, conversation, namespace=self.namespace))
        self._conversation_of_sid[sid] = conversation
        self._sid_of_conversation[conversation] = sid
        handle = confirmation_handle(self.token_key, conversation)
        await sio.emit("session_confirm", handle, room=sid, namespace=self.namespace)

    async def _take_over(self, sio: AsyncServer, holder: str, conversation: str) -> None:
        """Tell the socket that held ``conversation`` it moved elsewhere, and disconnect it."""
        await _maybe_await(sio.leave_room(holder, conversation, namespace=self.namespace))
        await self.on_disconnect(holder)
        await sio.emit(SESSION_TAKEN_EVENT, {}, room=holder, namespace=self.namespace)
        await sio.disconnect(holder, namespace=self.namespace)

    async def on_user_message(
        self,
        sio: AsyncServer,
        sid: str,
        data: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Hand one patient message to the bot; replies go to the conversation's room."""
        if not isinstance(data, dict):
            logger.warning("Ignored a socket.io message that is not an object.")
            return
        if self.session_persistence:
            sender_id = self._conversation_of_sid.get(sid)
            if sender_id is None:
                logger.warning("Ignored a socket.io message sent before 'session_request'.")
                return
        else:
            sender_id = sid
        message = UserMessage(
            clean_incoming_text(data.get("message", "")),
            ClinicSocketIOOutput(sio, self.bot_message_evt, self.namespace),
            sender_id,
            input_channel=self.name(),
            metadata={"channel": self.name()},
        )
        handled = True
        try:
            await on_new_message(message)
        except Exception as error:  # noqa: BLE001 - log without patient text
            handled = False
            logger.error("socket.io message handling failed: %s", type(error).__name__)
            logger.debug("socket.io message handling failure", exc_info=True)
        await sio.emit(TURN_COMPLETE_EVENT, {"ok": handled}, room=sender_id, namespace=self.namespace)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """A blueprint that attaches the socket.io server at ``socketio_path``."""
        sio = self.create_server()
        self.sio = sio
        module = inspect.getmodule(self)
        webhook = SocketBlueprint(
            sio,
            self.socketio_path or "/socket.io",
            f"socketio_webhook_{type(self).__name__}",
            module.__name__ if module else None,
        )

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None = None) -> bool:
            return await self.on_connect(sid, environ, auth)

        async def disconnect(sid: str, *_: Any) -> None:
            await self.on_disconnect(sid)

        async def session_request(sid: str, data: Any = None) -> None:
            await self.on_session_request(sio, sid, data)

        async def user_message(sid: str, data: Any = None) -> None:
            await self.on_user_message(sio, sid, data, on_new_message)

        sio.on("connect", connect, namespace=self.namespace)
        sio.on("disconnect", disconnect, namespace=self.namespace)
        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, user_message, namespace=self.namespace)
        return webhook


async def _maybe_await(result: Any) -> None:
    """Await ``result`` if it is awaitable (python-socketio changed sync calls to async)."""
    if inspect.isawaitable(result):
        await result
