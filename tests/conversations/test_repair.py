"""Conversation repair on every channel: no question is asked more than three times in a row.

Each test plays one patient by REST, by SMS (signed Twilio webhooks) and in the website chat
(socket.io), through the real Rasa and action servers (tests/conversations/patients.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.storage import repository
from bot.storage.db import make_engine, session_factory
from tests.conversations.harness import BotServer
from tests.conversations.patients import CHANNELS, Patient, patient_on

pytestmark = pytest.mark.servers


@pytest.fixture(params=CHANNELS)
def patient(request: pytest.FixtureRequest, bot: BotServer) -> Iterator[Patient]:
    one = patient_on(request.param, bot)
    yield one
    one.close()


def test_unusable_answers_get_a_hint_then_choices_then_the_bot_moves_on(patient: Patient) -> None:
    patient.say("hi")
    hint = patient.say("banana")
    assert "didn't catch the kind of surgery" in hint.text
    choices = patient.say("qwerty")
    if patient.channel == "sms":
        assert "Reply 1 for a discectomy or laminectomy, 2 for a fusion" in choices.text
    else:
        assert choices.buttons == ["A discectomy or laminectomy", "A fusion (rods or screws)", "I'm not sure"]
        assert choices.asks == ["surgery_type"]
    moved_on = patient.say("asdf")
    assert "note the kind of surgery as not known" in moved_on.text
    assert "When was your surgery?" in moved_on.text


def test_a_choice_answers_the_question(patient: Patient) -> None:
    patient.say("hi")
    patient.say("banana")
    patient.say("qwerty")
    chosen = patient.say("2" if patient.channel == "sms" else "A fusion (rods or screws)")
    assert "When was your surgery?" in chosen.text
    patient.say("6 weeks ago")
    patient.say("it's slowly getting better")
    assessment = patient.say("back pain")
    assert "fusion" in assessment.text.lower()
    if patient.channel != "sms":
        (payload,) = assessment.payloads("assessment")
        assert payload["facts"]["surgery_type"] == "fusion"


def test_i_dont_know_in_a_patients_own_words_moves_on(patient: Patient) -> None:
    patient.say("hi")
    assert "When was your surgery?" in patient.say("no clue what they did").text
    assert "How has your pain behaved" in patient.say("can't remember the date, a while back").text
    assert "Which of these do you notice" in patient.say("it's no better than before").text
    told = patient.say("dunno")
    assert "Here's what I understood" in told.text or "I understood" in told.text
    if patient.channel != "sms":
        (payload,) = told.payloads("assessment")
        assert payload["facts"] == {
            "surgery_type": "unknown",
            "weeks_since_surgery": None,
            "pain_course": "no_improvement",
            "pain_return_weeks": None,
            "symptoms": [],
        }


def test_asking_for_a_person_becomes_a_call_back_request(patient: Patient, bot: BotServer) -> None:
    patient.say("I had a fusion 8 weeks ago")
    asked = patient.say("can I talk to a real person?")
    assert "call you back" in asked.text and "What name should the clinic use for you?" in asked.text
    number = patient.say("Maria Lopez")
    if patient.channel == "sms":
        assert "texting from" in number.text
        done = patient.say("yes")
        assert "call you back at this number" in done.text
    else:
        done = patient.say("415-555-2671")
        assert "call you back at the number ending in 2671" in done.text
    engine = make_engine(bot.database_url)
    try:
        with session_factory(engine)() as session:
            saved = repository.list_appointment_requests(session, conversation_id=patient.sender)
    finally:
        engine.dispose()
    assert [(r.kind, r.patient_name) for r in saved] == [("callback", "Maria Lopez")]
    # the questions go on meanwhile
    assert "How has your pain behaved" in done.text


def test_the_explanation_starts_with_what_was_understood_and_one_message_corrects_it(patient: Patient) -> None:
    patient.say("I had a discectomy 9 weeks ago and it's no better")
    first = patient.say("leg pain")
    assert "a decompression surgery (like a discectomy or laminectomy) around mid-April 2026, about 9 weeks ago" in (
        first.text
    )
    corrected = patient.say("actually the surgery was 4 months ago")
    assert "around mid-February 2026, about 4 months ago" in corrected.text
    if patient.channel != "sms":
        (payload,) = corrected.payloads("assessment")
        assert payload["findings"] == ["failed_decompression"]


def test_with_nothing_asked_the_bot_starts_its_questions(patient: Patient) -> None:
    # "what can you do?", "ok", "idk what u need": the conversation moves on to the first question
    capabilities = patient.say("what can you do?")
    assert "What kind of back surgery did you have?" in capabilities.text
    assert "When was your surgery?" in patient.say("dunno").text


def test_side_questions_never_keep_the_offer_going(patient: Patient) -> None:
    # "can't judge a surgeon" answers each time; the offer is asked at most three times in a row
    patient.say("fusion 6 weeks ago, getting better, back pain")
    offers = 0
    said = ""
    for _ in range(5):
        reply = patient.say("is my surgeon any good?")
        said = reply.text
        offers += "consultation" in said and ("Would you like" in said or "Shall I" in said)
        if "won't send a request" in said:
            break
    assert "won't send a request" in said
    assert offers <= 2  # with the first offer, three asks in a row at most


def test_a_no_that_opens_a_longer_answer_declines_the_offer(patient: Patient) -> None:
    patient.say("fusion 6 weeks ago, getting better, back pain")
    declined = patient.say("no, he'll call his surgeon")
    assert "If you change your mind" in declined.text


def test_a_time_corrected_in_the_same_message_and_a_bare_back(patient: Patient) -> None:
    patient.say("had a fusion 2 yrs ago wait no 3")
    patient.say("worse than before the surgery")
    told = patient.say("back")
    assert "about 3 years ago" in told.text
    if patient.channel != "sms":
        (payload,) = told.payloads("assessment")
        assert payload["facts"]["weeks_since_surgery"] == 156.0
        assert payload["facts"]["symptoms"] == ["back_pain"]
