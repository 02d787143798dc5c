"""Accepting the offer saves a consultation request; bad values are asked again kindly."""

from __future__ import annotations

import pytest

from tests.conversations.harness import BotServer

pytestmark = pytest.mark.servers


def test_a_request_is_saved_with_its_id(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("discectomy 8 weeks ago, slowly getting better")
    offer = conversation.say("leg pain")
    assert offer.asks == ["consent_to_schedule"]
    assert conversation.say("yes please").asks == ["patient_name"]
    assert conversation.say("my name is Maria O'Neil").asks == ["phone"]
    bad_phone = conversation.say("call me anytime")
    assert bad_phone.asks == ["phone"]
    assert "phone number" in bad_phone.text
    assert conversation.say("(415) 555-2671").asks == ["preferred_time"]
    past = conversation.say("yesterday")
    assert past.asks == ["preferred_time"]
    assert "passed" in past.text
    done = conversation.say("weekday mornings")
    request_id = done.payload("appointment_requested")["request_id"]
    assert request_id in done.text
    saved = bot.saved_request(request_id)
    assert saved["patient_name"] == "Maria O'Neil"
    assert saved["phone"] == "+14155552671"
    assert saved["preferred_time"] == "weekday mornings"
    assert saved["status"] == "new"
    assert saved["findings"] == ["on_track"]
    assert saved["facts"]["surgery_type"] == "decompression"
    assert saved["conversation_id"] == conversation.sender


def test_a_phone_number_given_as_the_name_is_kept_as_the_phone(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("I want to book an appointment")
    turn = conversation.say("415-555-2671")
    assert turn.asks == ["patient_name"]
    assert "phone number" in turn.text
    assert conversation.say("Sam Lee").asks == ["preferred_time"]
    done = conversation.say("next Tuesday afternoon")
    assert done.payloads("appointment_requested")


def test_declining_ends_politely_with_the_clinic_phone(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("fusion 30 weeks ago, it's slowly getting better")
    conversation.say("back pain")
    turn = conversation.say("no thanks")
    assert "555" in turn.text  # the clinic's phone number
    assert not turn.asks
    assert not turn.payloads("appointment_requested")
