"""One patient, three channels: the same conversation by REST, SMS (signed webhooks) and socket.io.

Each patient's ``say`` returns the bot's turn as :class:`Reply`: its texts, the slots it asks
for (``ask`` payloads; SMS carries none, so the texts are the evidence there) and payloads.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import requests
import socketio
from twilio.request_validator import RequestValidator

from bot.channels.twilio import sms_conversation_id
from bot.chat_tokens import issue_token, new_conversation_id
from bot.settings import load_settings
from tests.conversations.harness import TWILIO_TEST_TOKEN, BotServer

CHANNELS = ("rest", "sms", "socketio")
_sids = itertools.count(1)
_numbers = itertools.count(1000)


@dataclass
class Reply:
    """The bot's messages for one patient message."""

    messages: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(str(m["text"]) for m in self.messages if m.get("text"))

    @property
    def asks(self) -> list[str]:
        return [m["custom"]["slot"] for m in self.messages if (m.get("custom") or {}).get("type") == "ask"]

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [m["custom"] for m in self.messages if (m.get("custom") or {}).get("type") == kind]

    @property
    def buttons(self) -> list[str]:
        offered = [b for m in self.messages for b in (m.get("buttons") or m.get("quick_replies") or [])]
        return [str(b.get("title")) for b in offered]


@dataclass
class RestPatient:
    """A patient on the REST channel."""

    bot: BotServer
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex}")
    channel: str = "rest"

    def say(self, text: str) -> Reply:
        return Reply(self.bot.post(self.sender, text))

    def close(self) -> None:
        pass


@dataclass
class SmsPatient:
    """A patient texting the clinic: signed Twilio webhooks, answers read from the TwiML."""

    bot: BotServer
    number: str = field(default_factory=lambda: f"+1415555{next(_numbers):04d}")
    channel: str = "sms"

    @property
    def sender(self) -> str:
        return sms_conversation_id(self.number, TWILIO_TEST_TOKEN)

    def say(self, text: str) -> Reply:
        form = {
            "From": self.number,
            "To": "+15550100999",
            "Body": text,
            "MessageSid": f"SM{next(_sids):032d}",
            "AccountSid": "AC" + "0" * 32,
        }
        url = self.bot.rasa_url + "/webhooks/twilio/webhook"
        signature = RequestValidator(TWILIO_TEST_TOKEN).compute_signature(url, form)
        response = requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=60)
        assert response.status_code == 200, response.text
        return Reply([{"text": m.text or ""} for m in ET.fromstring(response.text)])

    def close(self) -> None:
        pass


class SocketPatient:
    """A patient in the website chat: Rasa's socket.io channel with a token from the web app."""

    channel = "socketio"

    def __init__(self, bot: BotServer) -> None:
        settings = load_settings(bot.env)
        self.sender = new_conversation_id()
        self.client = socketio.Client()
        self._messages: list[dict[str, Any]] = []
        self._done = threading.Event()
        self.client.on("bot_uttered", self._messages.append)
        self.client.on("turn_complete", lambda data: self._done.set())
        confirmed = threading.Event()
        self.client.on("session_confirm", lambda data: confirmed.set())
        origin = f"http://localhost:{settings.web_port}"
        self.client.connect(bot.rasa_url, headers={"Origin": origin}, transports=["polling"], wait_timeout=10)
        self.token = issue_token(settings.secret_key, self.sender)
        self.client.emit("session_request", {"session_id": self.token})
        assert confirmed.wait(10), "no session_confirm"

    def say(self, text: str) -> Reply:
        self._messages.clear()
        self._done.clear()
        self.client.emit("user_uttered", {"message": text, "session_id": self.token})
        assert self._done.wait(60), "no turn_complete"
        time.sleep(0.05)
        return Reply(list(self._messages))

    def close(self) -> None:
        self.client.disconnect()


Patient = RestPatient | SmsPatient | SocketPatient


def patient_on(channel: str, bot: BotServer) -> Patient:
    """A new patient on one channel."""
    if channel == "rest":
        return RestPatient(bot)
    if channel == "sms":
        return SmsPatient(bot)
    return SocketPatient(bot)
