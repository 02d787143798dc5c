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
* The conversation id is the one the server confirmed to this socket in
  ``session_confirm``; the ``session_id`` inside a message is not trusted, so a client
  cannot write into another conversation. A requested ``session_id`` that does not look
  like a server-made random id is replaced by a fresh one.
* Patient text goes through :func:`~bot.channels.text.clean_incoming_text`; the metadata
  is always ``{"channel": "socketio"}`` (client metadata is dropped).
* ``cors_allowed_origins`` is an explicit list (default: the clinic web app on
  ``localhost``/``127.0.0.1`` at ``WEB_PORT``); ``"*"`` is refused.
* ``custom`` payloads are emitted as ``{"custom": {...}}`` on the bot event (Rasa passes
  them to ``emit`` as keyword arguments, which fails for payloads like ``{"type": "ask"}``).
* Replies go to the configured namespace (Rasa always emits on ``/``).
"""

from __future__ import annotations

import inspect
import logging
import re
import uuid
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
from bot.settings import load_settings

logger = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22,128}")
"""What a reusable session id looks like (Rasa makes ``uuid4().hex``: 32 hex digits)."""


def default_allowed_origins() -> list[str]:
    """The clinic web app's local origins, at ``WEB_PORT``."""
    port = load_settings().web_port
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


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
    ) -> None:
        """Create the channel; ``cors_allowed_origins`` None means the local web app."""
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
        self._conversation_of_sid: dict[str, str] = {}

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
        self._conversation_of_sid.pop(sid, None)

    async def on_session_request(self, sio: AsyncServer, sid: str, data: Any) -> None:
        """Confirm a conversation id to the socket and, with persistence, join its room."""
        requested = data.get("session_id") if isinstance(data, dict) else None
        if isinstance(requested, str) and _SESSION_ID.fullmatch(requested):
            session_id = requested
        else:
            session_id = uuid.uuid4().hex
        if self.session_persistence:
            previous = self._conversation_of_sid.get(sid)
            if previous is not None and previous != session_id:
                await _maybe_await(sio.leave_room(sid, previous, namespace=self.namespace))
            # python-socketio >= 5.10 made enter_room a coroutine; Rasa 3.6 drops it.
            await _maybe_await(sio.enter_room(sid, session_id, namespace=self.namespace))
            self._conversation_of_sid[sid] = session_id
        await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

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
        try:
            await on_new_message(message)
        except Exception as error:  # noqa: BLE001 - log without patient text
            logger.error("socket.io message handling failed: %s", type(error).__name__)
            logger.debug("socket.io message handling failure", exc_info=True)

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
