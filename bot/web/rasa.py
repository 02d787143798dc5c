"""The web app's client for Rasa's REST channel."""

from __future__ import annotations

import logging
from typing import Any

import httpx

logger = logging.getLogger(__name__)

REST_WEBHOOK_PATH = "/webhooks/rest/webhook"


class RasaUnavailable(Exception):
    """Rasa could not be reached or gave no usable answer (the message holds no patient text)."""


class RasaClient:
    """Forwards one patient message to Rasa's REST webhook and returns the bot's messages."""

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        """Talk to the Rasa server at ``base_url`` (through ``transport`` in tests)."""
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.timeout_seconds = timeout_seconds

    @property
    def webhook_url(self) -> str:
        """The REST webhook's URL."""
        return self.base_url + REST_WEBHOOK_PATH

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Send ``text`` as ``sender``; the bot's messages, or raise :class:`RasaUnavailable`."""
        try:
            # trust_env=False: no proxy from the environment may see patient text.
            async with httpx.AsyncClient(
                transport=self.transport, timeout=self.timeout_seconds, trust_env=False
            ) as client:
                answer = await client.post(self.webhook_url, json={"sender": sender, "message": text})
        except httpx.HTTPError as error:
            raise RasaUnavailable(type(error).__name__) from None
        if answer.status_code != 200:
            raise RasaUnavailable(f"HTTP {answer.status_code}")
        try:
            messages = answer.json()
        except ValueError:
            raise RasaUnavailable("answer is not JSON") from None
        if not isinstance(messages, list):
            raise RasaUnavailable("answer is not a list")
        return [message for message in messages if isinstance(message, dict)]
