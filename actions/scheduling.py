"""The consultation offer and request: logic in ``bot.booking``, ``bot.scheduling``, ``bot.storage``."""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import FromUpdates, channel_of, request_kept_text, slots_of
from actions.repair import RepairingValidator, answer_of
from bot import booking
from bot.dialogue import repair
from bot.intake import facts_from_slots
from bot.scheduling.names import clean_patient_name
from bot.scheduling.phone import normalize_phone
from bot.scheduling.preferred_time import read_preferred_time
from bot.settings import load_settings
from bot.storage import outbox
from bot.storage.outbox import Delivery, get_outbox

logger = logging.getLogger(__name__)

PAST_TIME = "That time has already passed. When in the coming days or weeks would suit you?"
PHONE_AS_NAME = "Thanks, I've noted that phone number. And what name should the clinic use for you?"
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


class ContactDetailsValidator(RepairingValidator, FromUpdates, FormValidationAction):
    """The patient's name and phone number, for a consultation or a call-back request."""

    fact_slots = (*booking.BOOKING_SLOTS, booking.SENDER_PHONE_DECLINED)
    interruptions = repair.CONTACT_INTERRUPTIONS

    @abstractmethod
    def name(self) -> str:
        """Each form's validator names itself (abstract: the action server skips this class)."""

    def answers_elsewhere(self, tracker: Tracker) -> bool:
        """Facts about the pain correct the intake (a rule goes back to its questions)."""
        context = self._context(tracker)
        return booking.carries_clinical_facts(context.message, context.requested)

    def give_up_value(self, slot: str, tracker: Tracker) -> Any:
        """By SMS, a phone number the patient could not give is the one they text from."""
        if slot == "phone":
            sms_phone = sms_phone_of(tracker, load_settings().phone_region)
            if sms_phone:
                return sms_phone
        return super().give_up_value(slot, tracker)

    def _context(self, tracker: Tracker) -> booking.BookingContext:
        settings = load_settings()
        message, text = answer_of(tracker)
        return booking.BookingContext(
            message=message,
            text=text,
            requested=tracker.get_slot("requested_slot"),
            slots=slots_of(tracker),
            today=settings.today(),
            region=settings.phone_region,
            sms_phone=sms_phone_of(tracker, settings.phone_region),
        )

    def _updates(self, tracker: Tracker) -> dict[str, Any]:
        return booking.booking_updates(self._context(tracker))

    async def extract_patient_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("patient_name", tracker)

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("phone", tracker)

    def validate_patient_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == repair.NAME_NOT_GIVEN:
            return {"patient_name": value}
        name = clean_patient_name(str(value))
        if name is None and normalize_phone(str(value), load_settings().phone_region):
            dispatcher.utter_message(text=PHONE_AS_NAME)
        # Otherwise the question's repair variation says what would help (domain.yml).
        return {"patient_name": name}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # An unreadable number: the question's repair variation says how to type it (domain.yml).
        return booking.check_phone(value, self._context(tracker)).slots


class ValidateBookingForm(ContactDetailsValidator):
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
        # A fact just given up on stays given up on: the unreadable answer ("blah" for the phone)
        # must not replace "unknown", or the form went on to ask for a preferred time that is
        # never used, and the patient's next message got no reply at all.
        given_up = {slot: value for slot, value in tracker.slots.items() if value == repair.UNKNOWN}
        wanted = booking.required_booking_slots({**tracker.slots, **self._updates(tracker), **given_up})
        return [slot for slot in domain_slots if slot in wanted]

    async def extract_consent_to_schedule(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("consent_to_schedule", tracker)

    async def extract_preferred_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("preferred_time", tracker)

    def validate_consent_to_schedule(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"consent_to_schedule": value if isinstance(value, bool) else None}

    def validate_preferred_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        preferred = read_preferred_time(str(value), load_settings().today())
        if preferred.problem:
            if preferred.problem == "past":
                dispatcher.utter_message(text=PAST_TIME)
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
        if slots.get("phone") == repair.UNKNOWN:
            return [SlotSet("consent_to_schedule", None)]  # told to call the clinic (utter_gave_up_phone)
        facts = facts_from_slots(slots)
        findings = list(slots.get("findings") or [])
        existing = slots.get("booking_request_id")
        # Saved, or, when the database is down or slow, kept in the outbox: the request keeps its
        # number and reaches the staff queue when the database answers (bot.storage.outbox).
        try:
            if existing:
                record = outbox.request_update_record(existing, tracker.sender_id, findings, facts.as_payload())
            else:
                preferred = read_preferred_time(str(slots.get("preferred_time") or ""), settings.today())
                record = outbox.request_record(
                    conversation_id=tracker.sender_id,
                    channel=channel_of(tracker),
                    patient_name=str(slots.get("patient_name")),
                    phone=str(slots.get("phone")),
                    preferred_time=preferred.text,
                    preferred_date=preferred.date,
                    findings=findings,
                    facts=facts.as_payload(),
                )
            delivery = get_outbox().deliver(record, wait=outbox.REQUEST_WAIT_SECONDS)
        except Exception as error:  # noqa: BLE001 - the patient gets a way forward whatever failed
            # The error type only: database errors can quote the patient's values.
            logger.error("Could not save a consultation request: %s", type(error).__name__)
            delivery = Delivery.LOST
        if delivery is Delivery.LOST:
            dispatcher.utter_message(text=SAVE_FAILED.format(phone=settings.clinic_phone))
            return []
        if existing:
            dispatcher.utter_message(response="utter_already_requested")
            return []
        public_id = str(record.payload["public_id"])
        if delivery is Delivery.QUEUED:
            dispatcher.utter_message(
                text=request_kept_text(public_id, settings.clinic_phone),
                json_message={"type": "appointment_requested", "request_id": public_id, "kept": True},
            )
            return [SlotSet("booking_request_id", public_id)]
        dispatcher.utter_message(
            text=booking.booking_confirmation(
                public_id, str(slots.get("phone")), sms_phone_of(tracker, settings.phone_region)
            ),
            json_message={"type": "appointment_requested", "request_id": public_id},
        )
        return [SlotSet("booking_request_id", public_id)]
