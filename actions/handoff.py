"""Human handoff: "can I talk to a person?" becomes a call-back request in the staff queue."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import channel_of, request_kept_text, resume_questions, slots_of
from actions.scheduling import ContactDetailsValidator, sms_phone_of
from bot import booking
from bot.dialogue import repair
from bot.intake import facts_from_slots
from bot.settings import load_settings
from bot.storage import outbox
from bot.storage.outbox import Delivery, get_outbox

logger = logging.getLogger(__name__)
CALLBACK = "callback"
REQUEST_KIND = "request_kind"


class ValidateCallbackForm(ContactDetailsValidator):
    """Name and number for a call-back: the consultation request's own checks and repair."""

    def name(self) -> str:
        return "validate_callback_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Marks the conversation as asking for a call-back (the name question words it so)."""
        events = await super().run(dispatcher, tracker, domain)
        if tracker.get_slot(REQUEST_KIND) != CALLBACK:
            events.insert(0, SlotSet(REQUEST_KIND, CALLBACK))
        return events


class ActionSubmitCallback(Action):
    """Saves the call-back request for staff, with whatever facts the patient gave so far."""

    def name(self) -> str:
        return "action_submit_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        slots = slots_of(tracker)
        done = [SlotSet(REQUEST_KIND, None), SlotSet("requested_slot", None)]
        phone = str(slots.get("phone") or "")
        if phone in ("", repair.UNKNOWN):
            return done  # the patient was told to call the clinic (utter_gave_up_phone)
        # Saved, or, when the database is down or slow, kept in the outbox: the request keeps its
        # number and reaches the staff queue when the database answers (bot.storage.outbox).
        try:
            record = outbox.request_record(
                conversation_id=tracker.sender_id,
                channel=channel_of(tracker),
                patient_name=str(slots.get("patient_name") or repair.NAME_NOT_GIVEN),
                phone=phone,
                preferred_time="Asked to talk to a person: call back",
                findings=list(slots.get("findings") or []),
                facts=facts_from_slots(slots).as_payload(),
                kind=CALLBACK,
            )
            delivery = get_outbox().deliver(record, wait=outbox.REQUEST_WAIT_SECONDS)
        except Exception as error:  # noqa: BLE001 - the patient gets a way forward whatever failed
            logger.error("Could not save a call-back request: %s", type(error).__name__)
            delivery = Delivery.LOST
        if delivery is Delivery.LOST:
            dispatcher.utter_message(response="utter_callback_failed")
            return done
        public_id = str(record.payload["public_id"])
        if delivery is Delivery.QUEUED:
            dispatcher.utter_message(text=request_kept_text(public_id, settings.clinic_phone, callback=True))
            return done
        dispatcher.utter_message(
            text=booking.callback_confirmation(public_id, phone, sms_phone_of(tracker, settings.phone_region))
        )
        return done + resume_questions(tracker, offer=False)  # the questions go on meanwhile
