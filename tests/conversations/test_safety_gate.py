"""The red-flag gate: a red flag never quietly disappears.

Neither "start over" nor an expired session (website/REST after 2 hours, SMS days later) drops it:
the staff's record stays, and a returning patient is asked whether it has been checked by a doctor
before anything routine. Over REST and SMS, on the real servers.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.channels.sms_segments import segments
from bot.channels.twilio import sms_conversation_id
from bot.storage.conversations import EVENTS
from bot.storage.db import make_engine, session_factory
from bot.storage.models import RedFlagEvent
from tests.conversations.harness import TWILIO_TEST_TOKEN, BotServer, Conversation, Turn
from tests.conversations.test_sms import Phone

pytestmark = pytest.mark.servers

FEVER = "I had a fusion in March and now I have a fever of 102"
BLADDER = "I had surgery last month and now I can't hold my bladder and my groin is numb"
ASKED = "Has that been checked by a doctor?"


def red_flag_rows(bot: BotServer, sender: str) -> list[tuple[list[str], str, str]]:
    engine = make_engine(bot.database_url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(RedFlagEvent).where(RedFlagEvent.conversation_id == sender).order_by(RedFlagEvent.id)
            ).scalars()
            return [(list(row.red_flags), row.kind, row.channel) for row in rows]
    finally:
        engine.dispose()


def time_passes(bot: BotServer, sender: str, seconds: float) -> None:
    """Move every event of a conversation ``seconds`` into the past, as if the patient had gone away."""
    engine = make_engine(bot.database_url)
    try:
        with engine.begin() as connection:
            rows = connection.execute(
                EVENTS.select().where(EVENTS.c.sender_id == sender).with_only_columns(EVENTS.c.id, EVENTS.c.data)
            ).all()
            assert rows
            for row in rows:
                data = json.loads(row.data)
                data["timestamp"] -= seconds
                connection.execute(
                    EVENTS.update()
                    .where(EVENTS.c.id == row.id)
                    .values(timestamp=data["timestamp"], data=json.dumps(data))
                )
    finally:
        engine.dispose()


def patient_texts(bot: BotServer, sender: str) -> list[tuple[str, dict[str, object]]]:
    """The patient's messages kept on a conversation, with their metadata."""
    engine = make_engine(bot.database_url)
    try:
        with engine.begin() as connection:
            rows = connection.execute(
                EVENTS.select()
                .where(EVENTS.c.sender_id == sender, EVENTS.c.type_name == "user")
                .order_by(EVENTS.c.id)
                .with_only_columns(EVENTS.c.data)
            ).all()
        return [(json.loads(row.data).get("text"), json.loads(row.data).get("metadata") or {}) for row in rows]
    finally:
        engine.dispose()


def assert_gate_question(turn: Turn, about: str) -> None:
    assert f"Last time you told me about {about}." in turn.text
    assert ASKED in turn.text
    assert not turn.asks, "nothing routine before the answer"
    assert not turn.payloads("emergency")


def assert_urgent_again(turn: Turn, code: str) -> None:
    assert turn.payload("emergency") == {"type": "emergency", "red_flags": [code]}
    assert "911" in turn.text
    assert not turn.asks


# ---------------------------------------------------------------------------------------------
# REST


def test_start_over_after_a_red_flag_asks_about_it_before_booking(bot: BotServer) -> None:
    patient = bot.conversation()
    assert patient.say(FEVER).payload("emergency")["red_flags"] == ["infection"]
    assert "cleared" in patient.say("start over").text
    # The staff's record is untouched by "start over".
    assert red_flag_rows(bot, patient.sender) == [(["infection"], "emergency", "rest")]
    asked = patient.say("I want to book an appointment")
    assert_gate_question(asked, "fever, chills or a red, swollen or draining wound")
    assert not asked.payloads("appointment_requested")
    # Not checked: the urgent instruction again, and staff see it raised again.
    assert_urgent_again(patient.say("no"), "infection")
    assert red_flag_rows(bot, patient.sender) == [(["infection"], "emergency", "rest")] * 2
    after = patient.say("I want to book an appointment")
    assert not after.asks and "urgent help" in after.text
    # "Start over" again: asked again, and a yes carries on normally.
    patient.say("start over")
    assert_gate_question(patient.say("hi"), "fever, chills or a red, swollen or draining wound")
    carried_on = patient.say("yes")
    assert "glad it has been checked" in carried_on.text
    assert carried_on.asks == ["surgery_type"]
    # Once checked, it is not asked about again.
    patient.say("start over")
    assert patient.say("hi").asks == ["surgery_type"]


def test_a_red_flag_survives_an_expired_session(bot: BotServer) -> None:
    patient = bot.conversation()
    patient.say("I had a microdiscectomy 8 weeks ago")
    patient.say("my calf is swollen and painful since yesterday")
    time_passes(bot, patient.sender, 3 * 60 * 60)  # the 2-hour session is over
    back = patient.say("hi, can we go on?")
    assert "front-desk assistant" in back.text  # a new session: greeted again
    assert_gate_question(back, "a swollen calf, chest pain or trouble breathing")
    carried_on = patient.say("yes, the ER checked me yesterday")
    assert "glad it has been checked" in carried_on.text
    assert carried_on.asks == ["pain_course"]  # the facts given earlier are kept
    assert red_flag_rows(bot, patient.sender) == [(["blood_clot"], "emergency", "rest")]


def test_an_unclear_answer_is_asked_again_then_taken_as_not_checked(bot: BotServer) -> None:
    patient = bot.conversation()
    patient.say("my leg is getting weaker every day and now my foot drags")
    patient.say("start over")
    patient.say("hi")
    again = patient.say("hmm")
    assert "didn't quite get that" in again.text and ASKED in again.text
    assert_urgent_again(patient.say("purple"), "progressive_weakness")


def test_a_patient_the_bot_misunderstood_can_carry_on(bot: BotServer) -> None:
    patient = bot.conversation()
    patient.say("I had a fusion in March and now I have a fever of 102")
    patient.say("start over")
    patient.say("hello")
    carried_on = patient.say("you misunderstood me, I never said that")
    assert "sorry for the mix-up" in carried_on.text
    assert carried_on.asks == ["surgery_type"]
    assert red_flag_rows(bot, patient.sender) == [(["infection"], "emergency", "rest")]  # staff still see it


def test_a_new_red_flag_while_asked_gets_the_instruction_at_once(bot: BotServer) -> None:
    patient = bot.conversation()
    patient.say(FEVER)
    patient.say("start over")
    assert ASKED in patient.say("hi").text
    assert_urgent_again(patient.say("now my calf is swollen and painful too"), "blood_clot")
    assert "urgent help" in patient.say("hi").text  # the reminder, not the question again


def test_start_over_or_asking_for_a_person_while_asked_leaves_the_question_open(bot: BotServer) -> None:
    patient = bot.conversation()
    patient.say(FEVER)
    patient.say("start over")
    assert ASKED in patient.say("hi").text
    assert "cleared" in patient.say("start over").text
    assert ASKED in patient.say("hi").text
    assert patient.say("can I talk to a real person?").asks == ["patient_name"]
    patient.say("Maria Lopez")
    done = patient.say("415-555-2671")
    assert "ending in 2671" in done.text
    # The questions go on meanwhile; once they are done, the red flag comes before any offer.
    assert done.asks == ["surgery_type"]
    assert patient.say("I had a microdiscectomy 8 weeks ago and it's slowly getting better").asks == ["symptoms"]
    explained = patient.say("leg pain")
    assert explained.payloads("assessment")
    assert ASKED in explained.text
    assert "consent_to_schedule" not in explained.asks
    offered = patient.say("yes, my surgeon saw me")
    assert offered.asks == ["consent_to_schedule"]


def test_no_gate_without_a_red_flag(bot: BotServer) -> None:
    conversation: Conversation = bot.conversation()
    conversation.say("I had a fusion 2 years ago")
    conversation.say("start over")
    turn = conversation.say("hi")
    assert turn.asks == ["surgery_type"] and ASKED not in turn.text


# ---------------------------------------------------------------------------------------------
# SMS


def test_by_sms_a_red_flag_weeks_ago_is_asked_about_when_the_patient_texts_again(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550181")
    assert any("911" in text for text in phone.text(BLADDER))
    sender = sms_conversation_id(phone.number, TWILIO_TEST_TOKEN)
    time_passes(bot, sender, 30 * 24 * 60 * 60)  # long enough that SMS starts afresh
    back = phone.text("hi, I'd like to book a visit")
    asked = next(text for text in back if ASKED in text)
    assert "Last time you told me about new bladder or bowel trouble or groin numbness." in asked
    assert "Reply YES or NO" in asked
    assert all(segments(text) <= 2 for text in back)
    urgent = phone.text("NO")
    assert any(text.startswith("URGENT: Call 911") for text in urgent)
    assert red_flag_rows(bot, sender) == [(["cauda_equina"], "emergency", "twilio")] * 2


def test_by_sms_a_red_flag_texted_after_stop_is_raised_for_staff_and_asked_about_after_start(bot: BotServer) -> None:
    phone = Phone(bot, "+14155550182")
    phone.text("hi")
    assert len(phone.text("STOP")) == 1
    sender = sms_conversation_id(phone.number, TWILIO_TEST_TOKEN)
    # Nothing is texted back to a number that said STOP ...
    assert phone.text(BLADDER) == []
    # ... but the message is kept on the conversation, and staff have the red flag to call about.
    assert (BLADDER, True) in [(text, meta.get("sms_opted_out")) for text, meta in patient_texts(bot, sender)]
    assert red_flag_rows(bot, sender) == [(["cauda_equina"], "emergency", "twilio")]
    assert phone.text("hello?") == []
    # Back after START: the red flag comes first.
    assert phone.text("START")[0].startswith("You're resubscribed")
    asked = " ".join(phone.text("hi"))
    assert "Last time you told me about new bladder or bowel trouble or groin numbness." in asked
    urgent = phone.text("not yet")
    assert any(text.startswith("URGENT: Call 911") for text in urgent)
    assert all(segments(text) <= 2 for text in urgent)
