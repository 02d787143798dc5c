"""The REST channel clients rely on, with patient text cleaned and bad requests refused.

Load it from ``credentials.yml`` as::

    bot.channels.rest.ClinicRestInput:

It keeps Rasa's URL ``POST /webhooks/rest/webhook`` and answer format (a JSON list of
``{"recipient_id", "text"/"buttons"/"custom"}``). Do not list Rasa's own ``rest:`` beside
it: both would claim the same URL.
"""

from __future__ import annotations

import inspect
import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.channels.text import clean_incoming_text

logger = logging.getLogger(__name__)

MAX_SENDER_LENGTH = 256
"""Longest conversation id accepted from a client."""


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
    except (ValueError, UnicodeDecodeError):
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
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> ResponseStream | HTTPResponse:
            try:
                sender_id, text = parse_rest_body(request.body)
            except BadRestRequest as error:
                return response.json({"error": str(error)}, status=400)
            metadata = self.get_metadata(request)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender_id, self.name(), metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender_id,
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
            return response.json(collector.messages)

        return webhook
