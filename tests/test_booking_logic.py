"""The booking logic: consent, free-text answers, a phone number in the wrong place."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.booking import (
    SENDER_PHONE_DECLINED,
    BookingContext,
    PhoneCheck,
    booking_confirmation,
    booking_updates,
    check_phone,
    required_booking_slots,
    sender_phone_reply,
    sms_sender_phone,
)
from bot.intake import PatientMessage

TODAY = date(2026, 6, 15)


def ctx(
    text: str,
    requested: str | None,
    intent: str = "inform",
    confidence: float = 0.99,
    slots: dict[str, Any] | None = None,
    entities: tuple[dict[str, Any], ...] = (),
) -> BookingContext:
    return BookingContext(
        message=PatientMessage(intent=intent, entities=entities, confidence=confidence),
        text=text,
        requested=requested,
        slots=slots or {},
        today=TODAY,
    )


def test_yes_and_no_answer_the_offer_only_when_it_was_asked() -> None:
    assert booking_updates(ctx("yes", "consent_to_schedule", "affirm")) == {"consent_to_schedule": True}
    assert booking_updates(ctx("no thanks", "consent_to_schedule", "deny")) == {"consent_to_schedule": False}
    assert booking_updates(ctx("no", None, "deny")) == {}
    assert booking_updates(ctx("book me in", None, "request_appointment")) == {"consent_to_schedule": True}


def test_a_no_with_facts_is_a_correction_not_a_refusal() -> None:
    fusion = ({"entity": "surgery_type", "value": "fusion"},)
    assert booking_updates(ctx("no, it was a fusion", "consent_to_schedule", "deny", entities=fusion)) == {}


def test_after_a_no_only_the_offer_remains() -> None:
    assert required_booking_slots({"consent_to_schedule": False}) == ["consent_to_schedule"]
    assert len(required_booking_slots({"consent_to_schedule": True})) == 4


def test_a_phone_number_given_for_the_name_fills_the_phone() -> None:
    updates = booking_updates(ctx("415-555-2671", "patient_name"))
    assert updates["phone"] == "+14155552671"


def test_an_unsure_side_intent_is_still_an_answer() -> None:
    assert booking_updates(ctx("call me anytime", "phone", "goodbye", 0.53)) == {"phone": "call me anytime"}
    assert booking_updates(ctx("bye", "phone", "goodbye", 0.97)) == {}


def test_a_red_flag_is_never_an_answer() -> None:
    assert booking_updates(ctx("Ann", "patient_name", "report_red_flag")) == {}


def test_a_time_answers_the_preferred_time_question_not_the_surgery_date() -> None:
    yesterday = ({"entity": "time", "value": 0.14, "role": "ago"},)
    assert booking_updates(ctx("yesterday", "preferred_time", entities=yesterday)) == {"preferred_time": "yesterday"}
    assert booking_updates(ctx("4 months ago", "patient_name", entities=yesterday)) == {}


SMS_PHONE = "+14155552671"


def sms_ctx(
    text: str, requested: str | None, intent: str = "inform", slots: dict[str, Any] | None = None
) -> BookingContext:
    return BookingContext(
        message=PatientMessage(intent=intent, entities=(), confidence=0.99),
        text=text,
        requested=requested,
        slots=slots or {},
        today=TODAY,
        sms_phone=SMS_PHONE,
    )


BOOKING = {"consent_to_schedule": True, "patient_name": "Maria Lopez"}


def test_by_sms_the_phone_is_asked_not_taken_from_the_sender() -> None:
    updates = booking_updates(sms_ctx("Maria Lopez", "patient_name", slots={"consent_to_schedule": True}))
    assert updates == {"patient_name": "Maria Lopez"}
    assert booking_updates(sms_ctx("yes", "consent_to_schedule", "affirm")) == {"consent_to_schedule": True}
    assert booking_updates(sms_ctx("my leg hurts", None)) == {}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("YES", "affirm"),
        ("yes", "inform"),
        ("Yeah", "inform"),
        ("yep!", "inform"),
        ("sure", "inform"),
        ("ok", "inform"),
        ("okay thanks", "thank"),
        ("that's fine", "inform"),
        ("That\u2019s fine", "inform"),
        ("this number", "inform"),
        ("this one is fine", "inform"),
        ("same number", "inform"),
        ("call me here", "inform"),
        ("the one I'm texting from", "inform"),
        ("yes no problem", "inform"),
        ("absolutely", "affirm"),
        ("go for it", "affirm"),  # the affirm intent alone is a yes
    ],
)
def test_by_sms_a_yes_to_the_phone_question_fills_the_sender(text: str, intent: str) -> None:
    assert booking_updates(sms_ctx(text, "phone", intent, slots=BOOKING)) == {"phone": SMS_PHONE}


@pytest.mark.parametrize(
    "text", ["415-555-0132", "(415) 555-0132", "no, call 415 555 0132", "yes but 4155550132 is better"]
)
def test_by_sms_a_typed_number_fills_the_phone_with_that_number(text: str) -> None:
    assert booking_updates(sms_ctx(text, "phone", slots=BOOKING)) == {"phone": text}
    context = sms_ctx(text, "phone", slots=BOOKING)
    assert check_phone(text, context).slots == {"phone": "+14155550132"}
    assert check_phone(text, context).problem is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("no", "deny"),
        ("No", "inform"),
        ("nope", "inform"),
        ("not this one", "inform"),
        ("don't use this number", "inform"),
        ("call a different number", "inform"),
        ("my landline instead", "inform"),
    ],
)
def test_by_sms_a_no_without_a_number_asks_for_the_number_to_call(text: str, intent: str) -> None:
    context = sms_ctx(text, "phone", intent, slots=BOOKING)
    assert sender_phone_reply(context.message, text) == "declined"
    # the text goes to validate_phone, which keeps the phone empty and notes the "no" ...
    assert booking_updates(context) == {"phone": text}
    assert check_phone(text, context) == PhoneCheck({"phone": None, SENDER_PHONE_DECLINED: True})
    # ... and once a number comes, the note is cleared
    declined = {**BOOKING, SENDER_PHONE_DECLINED: True}
    then = sms_ctx("415-555-0132", "phone", slots=declined)
    assert booking_updates(then) == {"phone": "415-555-0132"}
    assert check_phone("415-555-0132", then).slots == {"phone": "+14155550132", SENDER_PHONE_DECLINED: None}
    # a yes after all still means the sender's number
    assert booking_updates(sms_ctx("this one then", "phone", slots=declined)) == {"phone": SMS_PHONE}


@pytest.mark.parametrize("text", ["hm", "???", "\U0001f44d", "call my husband", "maybe later", "asdf qwer"])
def test_by_sms_anything_else_at_the_phone_question_is_asked_again_kindly(text: str) -> None:
    context = sms_ctx(text, "phone", "nlu_fallback", slots=BOOKING)
    assert sender_phone_reply(context.message, text) == "unclear"
    assert booking_updates(context) == {"phone": text}
    checked = check_phone(text, context)
    assert checked.slots == {"phone": None}
    assert checked.problem == "unclear"


def test_by_sms_side_questions_and_red_flags_at_the_phone_question_are_not_answers() -> None:
    assert booking_updates(sms_ctx("numb saddle", "phone", "report_red_flag", slots=BOOKING)) == {}
    assert booking_updates(sms_ctx("start over", "phone", "start_over", slots=BOOKING)) == {}


def test_by_sms_a_phone_typed_for_the_name_or_already_known_wins() -> None:
    typed = booking_updates(sms_ctx("415-555-0132", "patient_name", slots={"consent_to_schedule": True}))
    assert typed["phone"] == "+14155550132"
    known = {"consent_to_schedule": True, "patient_name": "Ann Lee", "phone": "+14155550132"}
    assert "phone" not in booking_updates(sms_ctx("tomorrow morning", "preferred_time", slots=known))


@pytest.mark.parametrize("text", ["yes", "this number", "no", "hm"])
def test_without_sms_the_phone_is_still_asked_and_typed(text: str) -> None:
    updates = booking_updates(ctx("Maria Lopez", "patient_name", slots={"consent_to_schedule": True}))
    assert updates == {"patient_name": "Maria Lopez"}
    # on the web a yes is no phone number: the usual "type it with the area code"
    intent = {"yes": "affirm", "no": "deny"}.get(text, "inform")
    context = ctx(text, "phone", intent, slots=BOOKING)
    assert booking_updates(context) == {"phone": text}
    assert check_phone(text, context).slots == {"phone": None}
    assert check_phone(text, context).problem == "bad_phone"
    typed = ctx("415-555-2671", "phone", slots=BOOKING)
    assert booking_updates(typed) == {"phone": "415-555-2671"}
    assert check_phone("415-555-2671", typed).slots == {"phone": SMS_PHONE}


def test_sms_sender_phone_needs_the_twilio_channel_and_metadata() -> None:
    twilio = {"channel": "twilio", "phone": SMS_PHONE}
    assert sms_sender_phone("twilio", twilio) == SMS_PHONE
    assert sms_sender_phone("twilio", None, twilio) == SMS_PHONE  # from session_started_metadata
    assert sms_sender_phone("twilio", {"channel": "twilio", "phone": None}, twilio) == SMS_PHONE
    assert sms_sender_phone("rest", twilio) is None
    assert sms_sender_phone(None, twilio) is None
    assert sms_sender_phone("twilio", {"phone": SMS_PHONE}) is None
    assert sms_sender_phone("twilio", {"channel": "twilio", "phone": "12345"}) is None
    assert sms_sender_phone("twilio", "junk", [], {}) is None
    assert sms_sender_phone("twilio", {"channel": "twilio", "phone": " +442071838750 "}) == "+442071838750"


def test_booking_confirmation_says_this_number_by_sms() -> None:
    assert booking_confirmation("CR-23456789", SMS_PHONE, SMS_PHONE).endswith(
        "The clinic will call you at this number to set a time."
    )
    other = booking_confirmation("CR-23456789", "+14155550132", SMS_PHONE)
    assert other.endswith("at the number ending in 0132 to set a time.")
    assert booking_confirmation("CR-23456789", SMS_PHONE) == (
        "Thank you. I've sent your request to the clinic; its number is CR-23456789. "
        "The clinic will call you at the number ending in 2671 to set a time."
    )
    assert SMS_PHONE not in booking_confirmation("CR-23456789", SMS_PHONE, SMS_PHONE)


def _tracker(text: str, slots: dict[str, Any], channel: str, metadata: dict[str, Any] | None) -> Any:
    from rasa_sdk import Tracker

    message = {
        "text": text,
        "intent": {"name": "inform", "confidence": 0.99},
        "entities": [],
        "metadata": metadata,
    }
    all_slots = {
        "consent_to_schedule": None,
        "patient_name": None,
        "phone": None,
        "preferred_time": None,
        "requested_slot": None,
        "session_started_metadata": None,
        **slots,
    }
    events = [{"event": "user", "text": text, "input_channel": channel, "metadata": metadata, "parse_data": message}]
    return Tracker("sms-x", all_slots, message, events, False, None, {"name": "booking_form"}, "action_listen")


def _run_validator(tracker: Any) -> dict[str, Any]:
    import asyncio
    from pathlib import Path

    import yaml
    from rasa_sdk.executor import CollectingDispatcher

    from actions.scheduling import ValidateBookingForm

    domain = yaml.safe_load((Path(__file__).resolve().parents[1] / "domain.yml").read_text())
    events = asyncio.run(ValidateBookingForm().run(CollectingDispatcher(), tracker, domain))
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_validator_by_sms_asks_then_takes_the_confirmed_sender_phone() -> None:
    slots = {"consent_to_schedule": True, "requested_slot": "patient_name"}
    twilio = {"channel": "twilio", "phone": SMS_PHONE}
    sms = _tracker("Maria Lopez", slots, "twilio", twilio)
    assert _run_validator(sms) == {"patient_name": "Maria Lopez"}
    asked = {"consent_to_schedule": True, "patient_name": "Maria Lopez", "requested_slot": "phone"}
    assert _run_validator(_tracker("yes", asked, "twilio", twilio)) == {"phone": SMS_PHONE}
    assert _run_validator(_tracker("415-555-0132", asked, "twilio", twilio)) == {"phone": "+14155550132"}
    assert _run_validator(_tracker("no", asked, "twilio", twilio)) == {"phone": None, SENDER_PHONE_DECLINED: True}
    # the sender's number from session_started_metadata when the message has none
    no_metadata = _tracker("yes", {**asked, "session_started_metadata": twilio}, "twilio", None)
    assert _run_validator(no_metadata) == {"phone": SMS_PHONE}
    # never on the web, even with SMS-looking metadata: the question is asked again, with a hint
    repaired = {"phone": None, "repair_step": "hint", "repair_slot": "phone"}
    assert _run_validator(_tracker("yes", asked, "rest", twilio)) == repaired


def test_validator_leaves_the_sorry_to_the_questions_repair_variation() -> None:
    import asyncio
    from pathlib import Path

    import yaml
    from rasa_sdk.executor import CollectingDispatcher

    from actions.scheduling import ValidateBookingForm

    domain = yaml.safe_load((Path(__file__).resolve().parents[1] / "domain.yml").read_text())
    asked = {"consent_to_schedule": True, "patient_name": "Maria Lopez", "requested_slot": "phone"}
    twilio = {"channel": "twilio", "phone": SMS_PHONE}
    for channel, text, step in (("twilio", "hm", "hint"), ("twilio", "no", None), ("rest", "hm", "hint")):
        dispatcher = CollectingDispatcher()
        events = asyncio.run(ValidateBookingForm().run(dispatcher, _tracker(text, asked, channel, twilio), domain))
        assert dispatcher.messages == []  # utter_ask_phone's hint variation says it (domain.yml)
        slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        assert slots.get("repair_step") == step


def test_submit_by_sms_says_this_number(sqlite_url: str, monkeypatch: Any) -> None:
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    from actions.scheduling import ActionSubmitBooking
    from bot.storage.store import reset_store

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CLINIC_TODAY", "2026-06-15")
    reset_store()
    try:
        slots = {
            "consent_to_schedule": True,
            "patient_name": "Maria Lopez",
            "phone": SMS_PHONE,
            "preferred_time": "weekday mornings",
        }
        tracker = _tracker("weekday mornings", slots, "twilio", {"channel": "twilio", "phone": SMS_PHONE})
        dispatcher = CollectingDispatcher()
        asyncio.run(ActionSubmitBooking().run(dispatcher, tracker, {}))
        (message,) = dispatcher.messages
        assert message["text"].endswith("The clinic will call you at this number to set a time.")
        assert message["custom"]["type"] == "appointment_requested"
    finally:
        reset_store()
