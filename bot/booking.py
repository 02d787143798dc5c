"""Which booking answers a patient's message gives: the logic behind ``validate_booking_form``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from bot.dialogue import repair
from bot.dialogue.answers import leading_yes_or_no, yes_or_no
from bot.intake import PatientMessage
from bot.scheduling.names import clean_patient_name, looks_like_a_name
from bot.scheduling.phone import normalize_phone
from bot.scheduling.preferred_time import read_preferred_time

BOOKING_SLOTS = ("consent_to_schedule", "patient_name", "phone", "preferred_time")
CLINICAL_ENTITIES = frozenset({"surgery_type", "time", "pain_course", "symptom"})
# Set (True) when, by SMS, the patient said no to being called on the number they text from;
# the SMS phone question then asks for the number to call (a conditional response variation).
SENDER_PHONE_DECLINED = "sender_phone_declined"


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
    if slots.get("phone") == repair.UNKNOWN:  # no number could be given: nothing more to ask
        return list(BOOKING_SLOTS[: BOOKING_SLOTS.index("phone") + 1])
    return list(BOOKING_SLOTS)


def carries_clinical_facts(message: PatientMessage, requested: str | None = None) -> bool:
    """Facts that make the message a correction; a time answers the preferred-time question."""
    ignored = {"time", "time_problem"} if requested == "preferred_time" else set()
    return any(e.get("entity") in CLINICAL_ENTITIES - ignored for e in message.entities)


def consent_update(ctx: BookingContext) -> bool | None:
    """True/False for a yes/no to the offer (or a request for a visit), else ``None``."""
    intent = ctx.message.intent
    if intent == "request_appointment" or (intent == "request_human" and ctx.requested == "consent_to_schedule"):
        return True  # "can someone just call me?" to the offer of a consultation is a yes
    if ctx.requested != "consent_to_schedule":
        return None
    if carries_clinical_facts(ctx.message):
        return True if intent == "affirm" else None
    answer = yes_or_no(ctx.text, intent)
    return answer if answer is not None else leading_yes_or_no(ctx.text)


def _free_text_answer(ctx: BookingContext, is_valid: bool) -> bool:
    """Whether the message is meant as the answer to a free-text booking question."""
    if ctx.message.intent in repair.CONTACT_INTERRUPTIONS:
        return False
    if is_valid:
        return True
    attempted = repair.is_attempt(ctx.message.intent, ctx.message.confidence, repair.CONTACT_INTERRUPTIONS)
    return attempted and not carries_clinical_facts(ctx.message, ctx.requested)


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


SenderPhoneReply = Literal["number", "sender", "declined", "unclear"]
"""How an SMS patient answered "can the clinic call you back on the number you're texting from?"."""

# Whole words or phrases that say "yes, that number" (the text lower-cased, punctuation dropped).
_YES = re.compile(
    r"\b(?:y|ya+|yea+h?|yeah+|ye+s+|yess*ir|yep+|yup+|ok+|okay+|k+|sure|fine|correct|right|alright|"
    r"absolutely|definitely|perfect|please do|of course|go ahead|sounds good|that works|works for me|"
    r"(?:this|that|the same|same|my) (?:one|number|phone|cell|mobile)|same|here|"
    r"(?:i am|im|i m) texting from|texting from|call me (?:here|on this|at this))\b"
)
# Words that say "not this number"; "no problem" and "no worries" are a yes.
_NO = re.compile(r"\b(?:n|no+|nope|nah|not|dont|don t|do not|different|another|other|wrong|instead)\b")
_NOT_A_NO = re.compile(r"\bno (?:problem|worries)\b")


def _plain_words(text: str) -> str:
    """Lower-case words separated by single spaces ("That's fine!" -> "thats fine")."""
    lowered = text.lower().replace("\u2019", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", lowered).split())


def sender_phone_reply(message: PatientMessage, text: str, region: str = "US") -> SenderPhoneReply:
    """The patient's answer to the SMS phone question ("call you back on this number?").

    A typed phone number wins ("no, call 415-555-0132"); then a "no" without a number
    (``declined``: ask for the number); then a yes, by the affirm intent or in words ("yeah",
    "that's fine", "this number"; ``sender``); anything else is ``unclear`` (asked again).
    """
    if normalize_phone(text, region):
        return "number"
    words = _plain_words(text)
    said_no = message.intent == "deny" or bool(_NO.search(_NOT_A_NO.sub("", words)))
    said_yes = message.intent == "affirm" or bool(_YES.search(words))
    if said_no:
        return "declined"
    if said_yes:
        return "sender"
    return "unclear"


# "skip", offered when a name could not be read twice (utter_ask_patient_name, domain.yml).
_SKIP_NAME = re.compile(r"^(?:skip|skip it|pass|id rather not|i d rather not|rather not|rather not say|no name)$")

PhoneProblem = Literal["bad_phone", "unclear"]


@dataclass(frozen=True)
class PhoneCheck:
    """What ``validate_phone`` sets, and what it tells the patient (``None``: nothing)."""

    slots: dict[str, Any]
    problem: PhoneProblem | None = None


def check_phone(value: Any, ctx: BookingContext) -> PhoneCheck:
    """The phone slot for an extracted value: an E.164 number, or ``None`` and why.

    By SMS, at the phone question, a "no" sets :data:`SENDER_PHONE_DECLINED` and says nothing
    more (the next question asks for the number to call); anything else unreadable gets a short
    "didn't catch that" before the question is asked again. Elsewhere an unreadable number gets
    ``bad_phone`` (how to type it).
    """
    phone = normalize_phone(str(value), ctx.region)
    if phone:
        # a "no" noted earlier is cleared once a number is given
        cleared = {SENDER_PHONE_DECLINED: None} if ctx.slots.get(SENDER_PHONE_DECLINED) else {}
        return PhoneCheck({"phone": phone, **cleared})
    if ctx.sms_phone and ctx.requested == "phone":
        if sender_phone_reply(ctx.message, ctx.text, ctx.region) == "declined":
            return PhoneCheck({"phone": None, SENDER_PHONE_DECLINED: True})
        return PhoneCheck({"phone": None}, "unclear")
    return PhoneCheck({"phone": None}, "bad_phone")


def callback_confirmation(public_id: str, phone: str, sms_phone: str | None = None) -> str:
    """The text confirming a saved call-back request (the number never repeated in full)."""
    where = "this number" if sms_phone and phone == sms_phone else f"the number ending in {phone[-4:]}"
    return (
        f"Thank you. I've asked the clinic to call you back at {where}; your request number is {public_id}. "
        "Meanwhile, you can keep telling me about your pain here."
    )


def booking_confirmation(public_id: str, phone: str, sms_phone: str | None = None) -> str:
    """The text confirming a saved request; by SMS to the sender's own number, "this number"."""
    said = f"Thank you. I've sent your request to the clinic; its number is {public_id}. "
    if sms_phone and phone == sms_phone:
        return said + "The clinic will call you at this number to set a time."
    return said + f"The clinic will call you at the number ending in {phone[-4:]} to set a time."


def booking_updates(ctx: BookingContext) -> dict[str, Any]:
    """The booking slots this message sets (a phone number given for the name counts as phone).

    In an SMS conversation (``ctx.sms_phone``) the phone question asks whether the number the
    patient texts from will do: a yes fills the phone with it, a typed number with that number
    (see :func:`sender_phone_reply`); other answers go to ``validate_phone`` (:func:`check_phone`).
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
        if _SKIP_NAME.match(_plain_words(text)):
            updates["patient_name"] = repair.NAME_NOT_GIVEN
        elif ctx.message.intent != "report_red_flag" and not ctx.message.unsure and looks_like_a_name(text):
            updates["patient_name"] = text  # a bare name, however the classifier read it
        elif not ctx.message.unsure and _free_text_answer(ctx, clean_patient_name(text) is not None):
            updates["patient_name"] = text
    elif ctx.requested == "phone":
        typed = normalize_phone(text, ctx.region)
        if _free_text_answer(ctx, typed is not None):
            said = sender_phone_reply(ctx.message, text, ctx.region) if ctx.sms_phone else "number"
            updates["phone"] = ctx.sms_phone if said == "sender" else text
    elif ctx.requested == "preferred_time":
        valid = read_preferred_time(text, ctx.today).problem is None
        if _free_text_answer(ctx, valid):
            updates["preferred_time"] = text
    return updates
