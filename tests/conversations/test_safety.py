"""Red flags at any moment stop the flow; denied signs do not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.storage.db import make_engine, session_factory
from bot.storage.models import AppointmentRequest, RedFlagEvent
from tests.conversations.harness import BotServer, Conversation, Turn

pytestmark = pytest.mark.servers


def red_flag_events(bot: BotServer, conversation: Conversation) -> list[list[str]]:
    engine = make_engine(bot.database_url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(RedFlagEvent).where(RedFlagEvent.conversation_id == conversation.sender)
            ).scalars()
            return [list(row.red_flags) for row in rows]
    finally:
        engine.dispose()


def assert_emergency(turn: Turn, code: str) -> None:
    assert turn.payload("emergency") == {"type": "emergency", "red_flags": [code]}
    assert not turn.asks, "no question (and no booking offer) in an emergency turn"
    assert not turn.payloads("assessment")


def test_saddle_numbness_in_the_first_message(bot: BotServer) -> None:
    conversation = bot.conversation()
    turn = conversation.say("I had back surgery and now I'm numb in my groin and can't hold my bladder")
    assert_emergency(turn, "cauda_equina")
    assert "911" in turn.text
    assert red_flag_events(bot, conversation) == [["cauda_equina"]]


def test_worsening_weakness_in_the_middle_of_the_questions(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("hi")
    conversation.say("a fusion")
    turn = conversation.say("my leg is getting weaker every day and now my foot drags")
    assert_emergency(turn, "progressive_weakness")
    after = conversation.say("6 weeks ago")
    assert not after.asks
    assert "911" in after.text


def test_fever_while_booking_stops_the_booking(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("discectomy 8 weeks ago, slowly getting better, leg pain")
    assert conversation.say("yes please").asks == ["patient_name"]
    turn = conversation.say("I also have a fever of 101 and chills")
    assert_emergency(turn, "infection")
    assert "surgeon" in turn.text
    later = conversation.say("I want to book an appointment")
    assert not later.asks
    assert not later.payloads("appointment_requested")
    engine = make_engine(bot.database_url)
    with session_factory(engine)() as session:
        saved = session.execute(
            select(AppointmentRequest).where(AppointmentRequest.conversation_id == conversation.sender)
        ).scalars()
        assert list(saved) == []
    engine.dispose()


def test_calf_swelling_is_a_blood_clot_sign(bot: BotServer) -> None:
    turn = bot.conversation().say("my calf is swollen and painful since yesterday")
    assert_emergency(turn, "blood_clot")


def test_denied_signs_are_not_red_flags(bot: BotServer) -> None:
    conversation = bot.conversation()
    turn = conversation.say(
        "I had a fusion 10 weeks ago. No fever, my wound healed well and I can control my bladder fine"
    )
    assert not turn.payloads("emergency")
    assert turn.asks == ["pain_course"]


def test_a_leg_that_gives_out_now_and_then_is_a_symptom(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("laminectomy 10 weeks ago and it's slowly getting better")
    turn = conversation.say("my leg gives out now and then")
    assert not turn.payloads("emergency")
    assert turn.payload("assessment")["facts"]["symptoms"] == ["weakness"]
