"""Whole conversations by SMS: signed Twilio webhooks to the real server, answered in TwiML."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests
from twilio.request_validator import RequestValidator

from bot.channels.sms_segments import segments
from bot.channels.twilio import sms_conversation_id
from bot.storage.conversations import EVENTS
from bot.storage.db import make_engine
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


def _to_the_phone_question(phone: Phone, name: str) -> str:
    """Story, symptoms, a yes to the offer and the name: the phone question by SMS."""
    first = phone.text("hi")
    assert any("911" in text for text in first)
    phone.text("I had a microdiscectomy 8 weeks ago and it's slowly getting better")
    offer = phone.text("leg pain")
    assert any("YES" in text.upper() for text in offer)
    phone.text("yes")
    asked = " ".join(phone.text(name))
    assert "texting from" in asked and "Reply YES" in asked
    assert phone.number[-4:] not in asked  # the number is not repeated back
    return asked


def _saved(bot: BotServer, done: list[str]) -> dict[str, Any]:
    for text in done:
        assert segments(text) <= 2
    confirmation = next(text for text in done if "CR-" in text)
    return bot.saved_request("CR-" + confirmation.split("CR-")[1][:8])


def test_a_whole_conversation_to_a_booking_by_sms(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550142")
    _to_the_phone_question(phone, "Ana Ruiz")
    # The patient confirms the number they text from; then comes the preferred time.
    asked = " ".join(phone.text("YES")).lower()
    assert "when would suit you" in asked
    done = phone.text("weekday mornings")
    assert any("this number" in text for text in done)
    saved = _saved(bot, done)
    assert saved["phone"] == "+14155550142"
    assert saved["channel"] == "twilio"
    assert saved["patient_name"] == "Ana Ruiz"


def test_by_sms_junk_then_another_number_to_call(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550146")
    _to_the_phone_question(phone, "Ben Okafor")
    # Junk is asked again, kindly, with the same question.
    again = phone.text("hmm")
    assert any("didn't quite get that" in text for text in again)
    assert any("texting from" in text for text in again)
    # The patient texts a different number: that one is saved, and not called "this number".
    asked = " ".join(phone.text("call 415-555-0132 please")).lower()
    assert "when would suit you" in asked
    done = phone.text("tuesday afternoon")
    assert not any("this number" in text for text in done)
    assert any("ending in 0132" in text for text in done)
    saved = _saved(bot, done)
    assert saved["phone"] == "+14155550132"


def test_by_sms_a_no_asks_for_the_number_to_call(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550147")
    _to_the_phone_question(phone, "Cleo Park")
    asked = " ".join(phone.text("no"))
    assert "Which number should the clinic call" in asked and "texting from" not in asked
    still = " ".join(phone.text("my work line"))
    assert "doesn't look like a phone number" in still and "area code" in still  # the repair hint
    assert "when would suit you" in " ".join(phone.text("(510) 555-0188")).lower()
    done = phone.text("any weekday morning")
    assert any("ending in 0188" in text for text in done)
    assert _saved(bot, done)["phone"] == "+15105550188"


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
    response = requests.post(bot.rasa_url + PATH, data={"From": "+14155550145", "Body": "hi"}, timeout=30)
    assert response.status_code == 403


def _days_pass(bot: BotServer, phone: Phone, days: float) -> None:
    """Move every event of the phone's conversation ``days`` into the past, as if time had passed."""
    sender = sms_conversation_id(phone.number, TWILIO_TEST_TOKEN)
    shift = days * 24 * 60 * 60
    engine = make_engine(bot.database_url)
    try:
        with engine.begin() as connection:
            rows = connection.execute(
                EVENTS.select().where(EVENTS.c.sender_id == sender).with_only_columns(EVENTS.c.id, EVENTS.c.data)
            ).all()
            assert rows
            for row in rows:
                data = json.loads(row.data)
                data["timestamp"] -= shift
                connection.execute(
                    EVENTS.update()
                    .where(EVENTS.c.id == row.id)
                    .values(timestamp=data["timestamp"], data=json.dumps(data))
                )
    finally:
        engine.dispose()


def test_an_answer_texted_two_days_later_continues_the_conversation(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550177")
    phone.text("hi")
    asked = " ".join(phone.text("I had a lumbar fusion 5 months ago"))
    assert "How has your pain behaved" in asked
    _days_pass(bot, phone, 2)
    # No introduction again: the reply answers the question the patient was left with.
    answer = " ".join(phone.text("it never got better"))
    assert "911" not in answer and "front-desk assistant" not in answer
    assert "Which of these do you notice" in answer


def test_a_text_weeks_later_starts_afresh(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550178")
    phone.text("hi")
    phone.text("I had a lumbar fusion 5 months ago")
    _days_pass(bot, phone, 30)
    again = " ".join(phone.text("hello again"))
    assert "front-desk assistant" in again
    # "5 months ago" was a month ago: the old facts are forgotten, so the surgery is asked again.
    assert "What kind of back surgery" in " ".join(phone.text("my back still hurts"))
