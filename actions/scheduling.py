"""The consultation offer and request: logic in ``bot.booking``, ``bot.scheduling``, ``bot.storage``."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import FromUpdates, channel_of, latest_message, latest_text, slots_of
from bot import booking
from bot.intake import facts_from_slots
from bot.scheduling.names import clean_patient_name
from bot.scheduling.phone import normalize_phone
from bot.scheduling.preferred_time import read_preferred_time
from bot.settings import load_settings
from bot.storage import repository
from bot.storage.store import get_store

logger = logging.getLogger(__name__)

PAST_TIME = "That time has already passed. When in the coming days or weeks would suit you?"
NO_TIME = 'Sorry, I didn\'t catch a time. A day, or something like "weekday mornings", is fine.'
BAD_NAME = 'Sorry, I just need the name the clinic should use for you, like "Maria Lopez".'
PHONE_AS_NAME = "Thanks, I've noted that phone number. And what name should the clinic use for you?"
BAD_PHONE = "That doesn't look like a phone number I can use. Could you type it with the area code, like 415-555-0132?"
# By SMS, before the phone question is asked again ("Reply YES, or text the best number to call").
PHONE_UNCLEAR = "Sorry, I didn't quite get that."
SAVE_FAILED = (
    "Sorry, something went wrong on our side and I couldn't send your request. Please call the clinic at {phone}."
)


def sms_phone_of(tracker: Tracker, region: str) -> str | None:
    """The SMS sender's number from the Twilio channel's message metadata (see ``bot.booking``)."""
    latest = tracker.latest_message or {}
    return booking.sms_sender_phone(
        channel_of(tracker),
        latest.get("metadata"),
        tracker.get_slot("session_started_metadata"),
        region=region,
    )


class ValidateBookingForm(FromUpdates, FormValidationAction):
    """Fills and checks the consultation offer: consent, name, phone and preferred time."""

    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """A "no" to the offer ends the form after the consent question."""
        wanted = booking.required_booking_slots({**tracker.slots, **self._updates(tracker)})
        return [slot for slot in domain_slots if slot in wanted]

    def _context(self, tracker: Tracker) -> booking.BookingContext:
        settings = load_settings()
        return booking.BookingContext(
            message=latest_message(tracker),
            text=latest_text(tracker),
            requested=tracker.get_slot("requested_slot"),
            slots=slots_of(tracker),
            today=settings.today(),
            region=settings.phone_region,
            sms_phone=sms_phone_of(tracker, settings.phone_region),
        )

    def _updates(self, tracker: Tracker) -> dict[str, Any]:
        return booking.booking_updates(self._context(tracker))

    async def extract_consent_to_schedule(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("consent_to_schedule", tracker)

    async def extract_patient_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("patient_name", tracker)

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("phone", tracker)

    async def extract_preferred_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("preferred_time", tracker)

    def validate_consent_to_schedule(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"consent_to_schedule": value if isinstance(value, bool) else None}

    def validate_patient_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = clean_patient_name(str(value))
        if name is None:
            given_phone = normalize_phone(str(value), load_settings().phone_region)
            dispatcher.utter_message(text=PHONE_AS_NAME if given_phone else BAD_NAME)
        return {"patient_name": name}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        checked = booking.check_phone(value, self._context(tracker))
        if checked.problem:
            dispatcher.utter_message(text=BAD_PHONE if checked.problem == "bad_phone" else PHONE_UNCLEAR)
        return checked.slots

    def validate_preferred_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        preferred = read_preferred_time(str(value), load_settings().today())
        if preferred.problem:
            dispatcher.utter_message(text=PAST_TIME if preferred.problem == "past" else NO_TIME)
            return {"preferred_time": None}
        return {"preferred_time": preferred.text}


class ActionSubmitBooking(Action):
    """Saves the consultation request (or says goodbye politely after a "no")."""

    def name(self) -> str:
        return "action_submit_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        if tracker.get_slot("consent_to_schedule") is not True:
            dispatcher.utter_message(response="utter_booking_declined")
            return [SlotSet("consent_to_schedule", None)]
        slots = slots_of(tracker)
        facts = facts_from_slots(slots)
        findings = list(slots.get("findings") or [])
        existing = slots.get("booking_request_id")
        try:
            with get_store().transaction() as session:
                if existing:
                    repository.update_appointment_assessment(
                        session, existing, facts=facts.as_payload(), findings=findings
                    )
                else:
                    preferred = read_preferred_time(str(slots.get("preferred_time") or ""), settings.today())
                    request = repository.save_appointment_request(
                        session,
                        conversation_id=tracker.sender_id,
                        channel=channel_of(tracker),
                        patient_name=str(slots.get("patient_name")),
                        phone=str(slots.get("phone")),
                        preferred_time=preferred.text,
                        preferred_date=preferred.date,
                        findings=findings,
                        facts=facts.as_payload(),
                    )
                    public_id = request.public_id
        except Exception as error:  # noqa: BLE001 - the patient gets a way forward whatever failed
            # The error type only: database errors can quote the patient's values.
            logger.error("Could not save a consultation request: %s", type(error).__name__)
            dispatcher.utter_message(text=SAVE_FAILED.format(phone=settings.clinic_phone))
            return []
        if existing:
            dispatcher.utter_message(response="utter_already_requested")
            return []
        dispatcher.utter_message(
            text=booking.booking_confirmation(
                public_id, str(slots.get("phone")), sms_phone_of(tracker, settings.phone_region)
            ),
            json_message={"type": "appointment_requested", "request_id": public_id},
        )
        return [SlotSet("booking_request_id", public_id)]
