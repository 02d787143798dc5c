"""Whole conversations by SMS: signed Twilio webhooks to the real server, answered in TwiML."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest
import requests
from twilio.request_validator import RequestValidator

from bot.channels.sms_segments import segments
from tests.conversations.harness import TWILIO_TEST_TOKEN, BotServer

pytestmark = pytest.mark.servers
PATH = "/webhooks/twilio/webhook"
_sids = itertools.count(1)


class Phone:
    """A patient's phone texting the clinic's Twilio number."""

    def __init__(self, bot: BotServer, number: str) -> None:
        self.bot = bot
        self.number = number

    def text(self, body: str) -> list[str]:
        form = {
            "From": self.number,
            "To": "+15550100999",
            "Body": body,
            "MessageSid": f"SM{next(_sids):032d}{self.number[-4:]}",
            "AccountSid": "AC" + "0" * 32,
        }
        url = self.bot.rasa_url + PATH
        signature = RequestValidator(TWILIO_TEST_TOKEN).compute_signature(url, form)
        response = requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        return [message.text or "" for message in ET.fromstring(response.text)]


def test_a_whole_conversation_to_a_booking_by_sms(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550142")
    first = phone.text("hi")
    assert any("911" in text for text in first)
    phone.text("I had a microdiscectomy 8 weeks ago and it's slowly getting better")
    offer = phone.text("leg pain")
    assert any("YES" in text.upper() for text in offer)
    phone.text("yes")
    # The sender's number fills the phone slot: after the name comes the preferred time.
    asked = " ".join(phone.text("Ana Ruiz")).lower()
    assert "when would suit you" in asked and "phone number" not in asked
    done = phone.text("weekday mornings")
    assert any("this number" in text for text in done)
    confirmation = next(text for text in done if "CR-" in text)
    request_id = "CR-" + confirmation.split("CR-")[1][:8]
    for text in done:
        assert segments(text) <= 2
    saved = bot.saved_request(request_id)
    assert saved["phone"] == "+14155550142"
    assert saved["channel"] == "twilio"


def test_a_red_flag_by_sms(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550143")
    replies = phone.text("I had surgery last month and now I can't hold my bladder and my groin is numb")
    assert any("911" in text for text in replies)
    for text in replies:
        assert segments(text) <= 2


def test_stop_silences_the_number_until_start(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550144")
    phone.text("hi")
    assert len(phone.text("STOP")) == 1
    assert phone.text("hello?") == []
    assert phone.text("START")
    assert phone.text("hi")


def test_an_unsigned_request_never_reaches_the_bot(bot: BotServer) -> None:
    response = requests.post(
        bot.rasa_url + PATH, data={"From": "+14155550145", "Body": "hi"}, timeout=30
    )
    assert response.status_code == 403
