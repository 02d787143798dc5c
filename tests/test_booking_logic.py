"""The booking logic: consent, free-text answers, a phone number in the wrong place."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.booking import BookingContext, booking_updates, required_booking_slots
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
    assert booking_updates(ctx("yesterday", "preferred_time", entities=yesterday)) == {
        "preferred_time": "yesterday"
    }
    assert booking_updates(ctx("4 months ago", "patient_name", entities=yesterday)) == {}
