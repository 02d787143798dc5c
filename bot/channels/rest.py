"""The REST channel clients rely on, with patient text cleaned and bad requests refused.

Load it from ``credentials.yml`` as::

    bot.channels.rest.ClinicRestInput:

It keeps Rasa's URL ``POST /webhooks/rest/webhook`` and answer format (a JSON list of
``{"recipient_id", "text"/"buttons"/"custom"}``). Do not list Rasa's own ``rest:`` beside
it: both would claim the same URL.

**Its own id space.** The client names its conversation (``sender``), and the same sender
always continues the same conversation. But a sender can never name a conversation of another
channel: one that has the form of a website conversation id (:mod:`bot.chat_tokens`) or of an
SMS one (``sms-…``, :func:`bot.channels.twilio.sms_conversation_id`) is re-keyed into the REST
namespace, ``rest:<sender>`` (:func:`rest_conversation_id`). Neither form ever contains ``:``,
so a REST conversation can't be a website or SMS conversation, whatever the client sends.
Answers still carry the client's own sender as ``recipient_id``.

``REST_CHANNEL_ENABLED=0`` switches the channel off (404); it is on by default, because the
outside contract (the REST section of the README) promises it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
from asyncio import CancelledError, Queue
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel, RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.channels.text import clean_incoming_text
from bot.chat_tokens import looks_like_website_id
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

REST_NAMESPACE = "rest:"
"""Prefix of a re-keyed REST conversation id; no website or SMS id contains ``:``."""

MAX_SENDER_LENGTH = 250
"""Longest conversation id accepted from a client (255, the database's, less the namespace)."""

_OTHER_CHANNEL_PREFIXES = ("sms-",)
_OFF = ("0", "false", "no", "off")


def rest_conversation_id(sender: str) -> str:
    """The conversation a REST ``sender`` talks in: itself, unless it has another channel's form.

    ``"demo-1"`` and a uuid's hex stay as they are; a website id (32 URL-safe base64 characters,
    not plain hex) or an SMS id (``sms-…``) becomes ``rest:<sender>``, its own REST conversation.
    """
    if looks_like_website_id(sender) or sender.lower().startswith(_OTHER_CHANNEL_PREFIXES):
        return REST_NAMESPACE + sender
    return sender


def rest_channel_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``REST_CHANNEL_ENABLED`` (environment, else ``.env``); on unless 0, false, no or off."""
    if environ is None:
        from bot.settings import _read_dotenv  # the same .env the settings read

        env = {**_read_dotenv(PROJECT_ROOT / ".env"), **os.environ}
    else:
        env = dict(environ)
    return env.get("REST_CHANNEL_ENABLED", "").strip().lower() not in _OFF


class BadRestRequest(ValueError):
    """A request the channel refuses; its message is safe to show (holds no patient text)."""


def parse_rest_body(body: bytes) -> tuple[str, str]:
    """Return ``(sender_id, cleaned_text)`` from a REST body, or raise :class:`BadRestRequest`.

    A missing or non-string ``message`` is treated as empty text, which still reaches the bot.
    """
    if not body:
        raise BadRestRequest("The request body must be a JSON object.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[…" nested too deep
        raise BadRestRequest("The request body must be a JSON object.") from None
    if not isinstance(payload, dict):
        raise BadRestRequest("The request body must be a JSON object.")
    sender = payload.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not sender.strip():
        raise BadRestRequest("'sender' must be a non-empty string.")
    if len(sender) > MAX_SENDER_LENGTH or not sender.isprintable():
        raise BadRestRequest("'sender' is too long or holds control characters.")
    return sender, clean_incoming_text(payload.get("message"))


class ClinicRestInput(RestInput):
    """Rasa's REST channel (name ``rest``) with cleaned text, 400s and no text in logs.

    Differences from :class:`rasa.core.channels.rest.RestInput`: the message goes through
    :func:`~bot.channels.text.clean_incoming_text`; a body that is not a JSON object or has
    no ``sender`` gets a 400 JSON error; ``input_channel`` is always ``rest`` and the
    metadata is always ``{"channel": "rest"}`` (a client cannot pose as the SMS channel or
    plant a phone number for the actions); failures are logged without patient text.
    """

    @classmethod
    def name(cls) -> str:
        """The channel name, which is also its URL prefix: ``/webhooks/rest``."""
        return "rest"

    def __init__(self, enabled: bool | None = None) -> None:
        """``enabled`` defaults to :func:`rest_channel_enabled` (``REST_CHANNEL_ENABLED``)."""
        super().__init__()
        self.enabled = rest_channel_enabled() if enabled is None else enabled
        if not self.enabled:
            logger.info("The REST channel is switched off (REST_CHANNEL_ENABLED).")

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        """Metadata stored with each message: only the channel name, never client data."""
        return {"channel": self.name()}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes ``GET /`` (health) and ``POST /webhook`` under ``/webhooks/rest``."""
        module = inspect.getmodule(self)
        webhook = Blueprint(
            f"custom_webhook_{type(self).__name__}",
            module.__name__ if module else None,
        )

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            if not self.enabled:
                return response.json({"error": "not found"}, status=404)
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> ResponseStream | HTTPResponse:
            if not self.enabled:
                return response.json({"error": "not found"}, status=404)
            try:
                sender, text = parse_rest_body(request.body)
            except BadRestRequest as error:
                return response.json({"error": str(error)}, status=400)
            conversation = rest_conversation_id(sender)
            metadata = self.get_metadata(request)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self._stream(on_new_message, text, sender, conversation, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        conversation,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except CancelledError:
                logger.error("REST message handling timed out.")
            except Exception as error:  # noqa: BLE001 - answer what was collected
                logger.error("REST message handling failed: %s", type(error).__name__)
                logger.debug("REST message handling failure", exc_info=True)
            # Whatever was said before a failure (an emergency notice, say) still goes out.
            return response.json([_addressed(message, sender) for message in collector.messages])

        return webhook

    def _stream(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender: str,
        conversation: str,
        metadata: dict[str, Any] | None,
    ) -> Callable[[Any], Coroutine[Any, Any, None]]:
        """Rasa's streamed answer (one JSON message a line), addressed to the client's sender."""

        async def handle(queue: Queue[Any]) -> None:
            message = UserMessage(
                text, QueueOutputChannel(queue), conversation, input_channel=self.name(), metadata=metadata
            )
            try:
                await on_new_message(message)
            except Exception as error:  # noqa: BLE001 - end the stream with what was said
                logger.error("REST message handling failed: %s", type(error).__name__)
                logger.debug("REST message handling failure", exc_info=True)
            finally:
                await queue.put("DONE")

        async def stream(resp: Any) -> None:
            queue: Queue[Any] = Queue()
            task = asyncio.ensure_future(handle(queue))
            while True:
                result = await queue.get()
                if result == "DONE":
                    break
                await resp.write(json.dumps(_addressed(result, sender)) + "\n")
            await task

        return stream


def _addressed(message: Any, sender: str) -> Any:
    """A bot message with ``recipient_id`` set back to the sender the client chose."""
    if isinstance(message, dict) and "recipient_id" in message:
        return {**message, "recipient_id": sender}
    return message
