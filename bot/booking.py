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
    sms_phone: str | None = None
    """The sender's number (E.164) in an SMS conversation (see :func:`sms_sender_phone`)."""


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


def sms_sender_phone(input_channel: str | None, *metadata: object, region: str = "US") -> str | None:
    """The patient's own number (E.164) when the conversation is an SMS one, else ``None``.

    Our Twilio channel sends ``{"channel": "twilio", "phone": From}`` as the user message's
    metadata (Rasa puts it in ``latest_message["metadata"]``; the session's first message's is
    also in the ``session_started_metadata`` slot). The first mapping of ``metadata`` that names
    the twilio channel and holds a usable number wins; other channels never get one.
    """
    if input_channel != "twilio":
        return None
    for candidate in metadata:
        if not isinstance(candidate, Mapping) or candidate.get("channel") != "twilio":
            continue
        phone = candidate.get("phone")
        if isinstance(phone, str) and phone.strip():
            normalized = normalize_phone(phone.strip(), region)
            if normalized:
                return normalized
    return None


def _phone_is_next(ctx: BookingContext, updates: Mapping[str, Any]) -> bool:
    """Whether, after this message, the form's next question would be the phone number."""
    if ctx.slots.get("phone") is not None or "phone" in updates or ctx.message.intent in NOT_AN_ANSWER:
        return False
    if updates.get("consent_to_schedule", ctx.slots.get("consent_to_schedule")) is not True:
        return False
    if ctx.slots.get("patient_name"):
        return True
    name = updates.get("patient_name")
    return isinstance(name, str) and clean_patient_name(name) is not None


def booking_confirmation(public_id: str, phone: str, sms_phone: str | None = None) -> str:
    """The text confirming a saved request; by SMS to the sender's own number, "this number"."""
    said = f"Thank you. I've sent your request to the clinic; its number is {public_id}. "
    if sms_phone and phone == sms_phone:
        return said + "The clinic will call you at this number to set a time."
    return said + f"The clinic will call you at the number ending in {phone[-4:]} to set a time."


def booking_updates(ctx: BookingContext) -> dict[str, Any]:
    """The booking slots this message sets (a phone number given for the name counts as phone).

    In an SMS conversation (``ctx.sms_phone``) the phone is never asked: once the next question
    would be the phone number, the sender's number fills it.
    """
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
        typed = normalize_phone(text, ctx.region)
        if _free_text_answer(ctx, typed is not None):
            # By SMS, anything but another number ("this one", "same") means the sender's own.
            updates["phone"] = text if typed or not ctx.sms_phone else ctx.sms_phone
    elif ctx.requested == "preferred_time":
        valid = read_preferred_time(text, ctx.today).problem is None
        if _free_text_answer(ctx, valid):
            updates["preferred_time"] = text
    if ctx.sms_phone and _phone_is_next(ctx, updates):
        updates["phone"] = ctx.sms_phone
    return updates
