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
  listens in silently. The conversation's sockets are the members of its socket.io room, so
  this holds across several Rasa servers too: with ``REDIS_URL`` the server is built with
  python-socketio's ``AsyncRedisManager`` (:class:`ConversationRedisManager`), which carries
  the notice, the closing of the room and the replies to whichever server holds the socket.
  While Redis can't be reached, the sockets on this server are still answered.
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

import asyncio
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
from socketio import AsyncManager, AsyncRedisManager, AsyncServer  # type: ignore[import-untyped]  # no stubs

from bot.channels.text import clean_incoming_text
from bot.chat_tokens import confirmation_handle, new_conversation_id, verify_token
from bot.settings import Settings, load_settings
from bot.shared_state import SOCKET_TIMEOUT_SECONDS, RedisBreaker, socketio_channel

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


async def _disconnect_members(manager: Any, namespace: str, room: str, close: Awaitable[Any]) -> None:
    """Close ``room`` (awaiting ``close``), then disconnect the sockets this server had in it."""
    members = [sid for sid, _ in manager.get_participants(namespace, room)]
    await close
    for sid in members:
        await manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class ConversationManager(AsyncManager):
    """python-socketio's in-process manager; closing a conversation's room disconnects its sockets."""

    async def close_room(self, room: str, namespace: str) -> None:
        """Empty ``room`` and disconnect whoever was in it."""
        await _disconnect_members(self, namespace, room, super().close_room(room, namespace))


class ConversationRedisManager(AsyncRedisManager):
    """python-socketio's Redis manager; closing a room on any server disconnects its sockets on every server.

    python-socketio hands a ``close_room`` to every server (this one included) through
    ``_handle_close_room``, which only empties the room; here it also disconnects the sockets
    that were in it. (pinned python-socketio: requirements.txt)

    Without Redis the sockets on this server are still answered: python-socketio delivers an
    emit here first and then publishes it for the other servers, and a failed publish is
    logged and dropped, not raised. Here a publish also gives up after
    :data:`~bot.shared_state.SOCKET_TIMEOUT_SECONDS` (a Redis that accepts the connection but
    never answers would hold the turn's next reply forever), and after a failure publishing
    is skipped for a few seconds (:class:`~bot.shared_state.RedisBreaker`).
    """

    def __init__(self, url: str, channel: str) -> None:
        """python-socketio's manager on ``url`` and ``channel``; connecting gives up after a second."""
        # No read timeout: the listening connection waits on pub/sub for as long as it takes.
        super().__init__(url, channel=channel, redis_options={"socket_connect_timeout": SOCKET_TIMEOUT_SECONDS})
        self.breaker = RedisBreaker("socket.io manager")

    async def _publish(self, data: Any) -> Any:
        """Publish to the other servers, unless Redis failed a moment ago; never raises."""
        if not self.breaker.allows():
            return None
        try:
            published = await asyncio.wait_for(super()._publish(data), SOCKET_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            self.connected = False  # the next publish connects afresh
            published = None
        if published is None:  # gave up (python-socketio logs why when it gives up itself)
            self.breaker.failed("publish failed")
        else:
            self.breaker.succeeded()
        return published

    async def _handle_close_room(self, message: dict[str, Any]) -> None:
        namespace, room = message.get("namespace") or "/", message.get("room")
        await _disconnect_members(self, namespace, str(room), super()._handle_close_room(message))


def client_manager(settings: Settings) -> AsyncManager:
    """The socket.io manager: :class:`ConversationRedisManager` on ``REDIS_URL``, else in-process."""
    if settings.redis_url:
        return ConversationRedisManager(settings.redis_url, socketio_channel(settings))
    return ConversationManager()


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

    def get_output_channel(self) -> OutputChannel | None:
        """An output channel on the live server, or None before the blueprint exists."""
        if self.sio is None:
            return None
        return ClinicSocketIOOutput(self.sio, self.bot_message_evt, self.namespace)

    def create_server(self) -> AsyncServer:
        """The socket.io server, accepting browsers only from the allowed origins (manager: :func:`client_manager`)."""
        # An empty list would switch python-socketio's origin check off entirely, so an
        # empty configuration falls back to its same-origin default (None).
        return AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=list(self.cors_allowed_origins) or None,
            client_manager=client_manager(load_settings()),
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

    def _holds(self, sio: AsyncServer, sid: str, conversation: str) -> bool:
        """Whether the socket is still in its conversation's room (nobody took it over)."""
        return conversation in sio.rooms(sid, namespace=self.namespace)

    async def on_session_request(self, sio: AsyncServer, sid: str, data: Any) -> None:
        """Confirm a conversation to the socket and, with persistence, join its room."""
        if not self.session_persistence:
            await sio.emit("session_confirm", sid, room=sid, namespace=self.namespace)
            return
        token = data.get("session_id") if isinstance(data, dict) else None
        conversation = verify_token(self.token_key, token) or new_conversation_id()
        previous = self._conversation_of_sid.get(sid)
        if previous != conversation or not self._holds(sio, sid, conversation):
            if previous is not None:
                await _maybe_await(sio.leave_room(sid, previous, namespace=self.namespace))
                await self.on_disconnect(sid)
            await self._take_over(sio, conversation)
            # python-socketio >= 5.10 made enter_room a coroutine; Rasa 3.6 drops it.
            await _maybe_await(sio.enter_room(sid, conversation, namespace=self.namespace))
            self._conversation_of_sid[sid] = conversation
        handle = confirmation_handle(self.token_key, conversation)
        await sio.emit("session_confirm", handle, room=sid, namespace=self.namespace)

    async def _take_over(self, sio: AsyncServer, conversation: str) -> None:
        """Tell whoever holds ``conversation``, on any server, that it moved elsewhere; disconnect them.

        The notice goes to the conversation's room; closing the room disconnects its sockets
        (:class:`ConversationManager`, :class:`ConversationRedisManager`).
        """
        await sio.emit(SESSION_TAKEN_EVENT, {}, room=conversation, namespace=self.namespace)
        await sio.close_room(conversation, namespace=self.namespace)

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
            if not self._holds(sio, sid, sender_id):
                logger.warning("Ignored a socket.io message for a conversation taken over elsewhere.")
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
