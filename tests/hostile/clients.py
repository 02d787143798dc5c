"""Clients for the hostile-input tests: REST, socket.io (python-socketio's AsyncClient) and signed SMS.

Each returns what came back as plain data, so that the tests can assert on every answer after a
whole run: the HTTP status, the bot's messages, and (socket.io) whether the turn completed.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import socketio
from sanic.request import RequestParameters
from twilio.request_validator import RequestValidator

from bot.chat_tokens import issue_token, new_conversation_id
from bot.settings import load_settings
from tests.conversations.harness import TWILIO_TEST_TOKEN, BotServer

REST_PATH = "/webhooks/rest/webhook"
SMS_PATH = "/webhooks/twilio/webhook"
FORM = "application/x-www-form-urlencoded"
TURN_SECONDS = 120.0
"""Longest wait for one answer (a 100 KB message on a busy 2-core machine included)."""

_message_sids = itertools.count(1)

# Markup in what the bot says: a tag opening ("<b", "</", "<!", "<?"). The bot's own words never
# hold one, so any is an echo of what a patient typed.
MARKUP = re.compile(r"<\s*[A-Za-z!/?]")


@dataclass
class Answer:
    """What one request got back."""

    status: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    body: str = ""

    @property
    def texts(self) -> list[str]:
        """Every piece of text the bot sent: message texts and button titles."""
        found: list[str] = []
        for message in self.messages:
            if isinstance(message.get("text"), str):
                found.append(message["text"])
            for button in message.get("buttons") or message.get("quick_replies") or []:
                if isinstance(button, dict):
                    found.append(str(button.get("title", "")))
        return found

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        """The custom payloads of one ``type``."""
        return [
            m["custom"] for m in self.messages if isinstance(m.get("custom"), dict) and m["custom"].get("type") == kind
        ]


# --- REST ------------------------------------------------------------------------------------


async def rest_post(client: httpx.AsyncClient, body: bytes, content_type: str = "application/json") -> Answer:
    """One raw body to the REST webhook."""
    response = await client.post(REST_PATH, content=body, headers={"Content-Type": content_type}, timeout=TURN_SECONDS)
    answer = Answer(response.status_code, body=response.text)
    if response.status_code == 200:
        decoded = response.json()
        assert isinstance(decoded, list), response.text[:300]
        answer.messages = decoded
    return answer


async def rest_say(client: httpx.AsyncClient, sender: str, message: Any) -> Answer:
    """One message (any JSON value) from ``sender``; lone surrogates are sent as JSON escapes."""
    import json

    return await rest_post(client, json.dumps({"sender": sender, "message": message}).encode("ascii"))


# --- SMS -------------------------------------------------------------------------------------


def sign(url: str, body: bytes) -> str:
    """Twilio's signature of ``body`` as the channel will read it (``parse_qs`` with blank values)."""
    params = RequestParameters(parse_qs(body.decode("utf-8"), keep_blank_values=True))
    return str(RequestValidator(TWILIO_TEST_TOKEN).compute_signature(url, params))


def sms_form(number: str, text: str) -> bytes:
    """A webhook body as Twilio sends it; text that UTF-8 can't hold goes as its raw bytes."""
    form = {
        "From": number,
        "To": "+15550100999",
        "Body": text,
        "MessageSid": f"SM{next(_message_sids):032d}",
        "AccountSid": "AC" + "0" * 32,
    }
    return urlencode(form, encoding="utf-8", errors="surrogatepass").encode("ascii")


async def sms_post(client: httpx.AsyncClient, bot: BotServer, body: bytes, signed: bool = True,
                   content_type: str = FORM) -> Answer:  # fmt: skip
    """One webhook body (signed as the channel will parse it); the TwiML's messages."""
    headers = {"Content-Type": content_type, "X-Twilio-Signature": "unsigned"}
    if signed:
        headers["X-Twilio-Signature"] = sign(bot.rasa_url + SMS_PATH, body)
    response = await client.post(SMS_PATH, content=body, headers=headers, timeout=TURN_SECONDS)
    answer = Answer(response.status_code, body=response.text)
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("text/xml"), response.headers
        answer.messages = [{"text": text} for text in twiml_messages(response.text)]
    return answer


def twiml_messages(twiml: str) -> list[str]:
    """The texts of a TwiML answer, which must be ``<Response>`` with only plain ``<Message>``s."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response", twiml[:300]
    texts = []
    for element in root:
        assert element.tag == "Message" and len(element) == 0 and not element.attrib, twiml[:300]
        texts.append(element.text or "")
    return texts


# --- socket.io -------------------------------------------------------------------------------


class WidgetSocket:
    """The website widget's side of Rasa's socket.io channel (python-socketio's AsyncClient).

    One socket serves many conversations in turn: each ``start`` presents a fresh token from
    the web app's key, as the widget does after "Start a new conversation".
    """

    def __init__(self, bot: BotServer) -> None:
        self.bot = bot
        self.settings = load_settings(bot.env)
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: list[Any] = []
        self.turns: list[Any] = []
        self.confirmed = asyncio.Event()
        self.conversation = ""
        self.client.on("bot_uttered", self._on_bot)
        self.client.on("turn_complete", self._on_turn)
        self.client.on("session_confirm", self._on_confirm)

    async def _on_bot(self, data: Any) -> None:
        self.received.append(data)

    async def _on_turn(self, data: Any) -> None:
        self.turns.append(data)

    async def _on_confirm(self, data: Any) -> None:
        self.confirmed.set()

    async def connect(self) -> None:
        origin = self.settings.chat_origins()[0]
        await self.client.connect(
            self.bot.rasa_url, headers={"Origin": origin}, transports=["polling"], wait_timeout=20
        )

    async def request_session(self, payload: Any) -> bool:
        """Send a ``session_request``; whether it was confirmed."""
        self.confirmed.clear()
        await self.client.emit("session_request", payload)
        try:
            await asyncio.wait_for(self.confirmed.wait(), 20)
        except asyncio.TimeoutError:
            return False
        return True

    async def start(self) -> str:
        """A brand-new conversation for this socket, entered with a valid token."""
        self.conversation = new_conversation_id()
        token = issue_token(self.settings.secret_key, self.conversation)
        assert await self.request_session({"session_id": token}), "no session_confirm"
        return self.conversation

    async def send(self, payload: Any, wait: float = TURN_SECONDS) -> Answer | None:
        """Emit ``user_uttered``; the turn's messages, or None when no ``turn_complete`` came."""
        self.received.clear()
        done = len(self.turns)
        await self.client.emit("user_uttered", payload)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while len(self.turns) == done:
            if loop.time() > deadline:
                return None
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # the last bot_uttered can trail turn_complete by a tick
        ok = self.turns[-1].get("ok") if isinstance(self.turns[-1], dict) else None
        messages = [m if isinstance(m, dict) else {"unexpected": m} for m in self.received]
        return Answer(200 if ok else 500, messages)

    async def say(self, text: str) -> Answer | None:
        """Patient text as the widget sends it."""
        return await self.send({"message": text, "session_id": "not-trusted"})

    async def close(self) -> None:
        """Close the connection without waiting out the long poll (up to a 25 s ping cycle)."""
        if self.client.connected:
            await self.client.eio.disconnect(abort=True)
