"""Which booking answers a patient's message gives: the logic behind ``validate_booking_form``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.intake import PatientMessage
from bot.scheduling.names import clean_patient_name
from bot.scheduling.phone import normalize_phone
from bot.scheduling.preferred_time import read_preferred_time

BOOKING_SLOTS = ("consent_to_schedule", "patient_name", "phone", "preferred_time")
# Messages with these intents are never taken as a name, phone or time: rules answer them.
NOT_AN_ANSWER = frozenset({"report_red_flag", "start_over"})
SIDE_INTENTS = frozenset(
    {
        "ask_billing",
        "ask_medication",
        "ask_surgeon_quality",
        "out_of_scope",
        "bot_challenge",
        "ask_capabilities",
        "goodbye",
    }
)
CLINICAL_ENTITIES = frozenset({"surgery_type", "time", "pain_course", "symptom"})
# Below this confidence a side intent ("call me anytime" read as goodbye) does not stop the booking.
SIDE_INTENT_CONFIDENCE = 0.8


@dataclass(frozen=True)
class BookingContext:
    """What the booking logic needs to know about the conversation."""

    message: PatientMessage
    text: str
    requested: str | None
    slots: Mapping[str, Any]
    today: date
    region: str = "US"


def required_booking_slots(slots: Mapping[str, Any]) -> list[str]:
    """After a "no" only the consent question remains (and it is answered)."""
    if slots.get("consent_to_schedule") is False:
        return ["consent_to_schedule"]
    return list(BOOKING_SLOTS)


def _carries_clinical_facts(message: PatientMessage, requested: str | None = None) -> bool:
    """Facts that make the message a correction; a time answers the preferred-time question."""
    ignored = {"time", "time_problem"} if requested == "preferred_time" else set()
    return any(e.get("entity") in CLINICAL_ENTITIES - ignored for e in message.entities)


def consent_update(ctx: BookingContext) -> bool | None:
    """True/False for a yes/no to the offer (or a request for a visit), else ``None``."""
    intent = ctx.message.intent
    if intent == "request_appointment":
        return True
    if ctx.requested != "consent_to_schedule":
        return None
    if intent == "affirm":
        return True
    if intent == "deny" and not _carries_clinical_facts(ctx.message):
        return False
    return None


def _free_text_answer(ctx: BookingContext, is_valid: bool) -> bool:
    """Whether the message is meant as the answer to a free-text booking question."""
    intent = ctx.message.intent
    if intent in NOT_AN_ANSWER:
        return False
    if is_valid:
        return True
    side_question = intent in SIDE_INTENTS and ctx.message.confidence >= SIDE_INTENT_CONFIDENCE
    return not side_question and not _carries_clinical_facts(ctx.message, ctx.requested)


def booking_updates(ctx: BookingContext) -> dict[str, Any]:
    """The booking slots this message sets (a phone number given for the name counts as phone)."""
    updates: dict[str, Any] = {}
    consent = consent_update(ctx)
    if consent is not None:
        updates["consent_to_schedule"] = consent
    text = ctx.text.strip()
    if ctx.requested == "patient_name":
        phone = normalize_phone(text, ctx.region)
        if phone and ctx.slots.get("phone") is None:
            updates["phone"] = phone
        if _free_text_answer(ctx, clean_patient_name(text) is not None):
            updates["patient_name"] = text
    elif ctx.requested == "phone":
        if _free_text_answer(ctx, normalize_phone(text, ctx.region) is not None):
            updates["phone"] = text
    elif ctx.requested == "preferred_time":
        valid = read_preferred_time(text, ctx.today).problem is None
        if _free_text_answer(ctx, valid):
            updates["preferred_time"] = text
    return updates
