"""Red flags: urgent-care instruction, the ``emergency`` payload, and a mark for staff."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import channel_of
from bot.clinical.red_flags import emergency_payload, emergency_text
from bot.storage import repository
from bot.storage.store import get_store

logger = logging.getLogger(__name__)


class ActionHandleRedFlag(Action):
    """Tells the patient to get urgent care now and records the red flag for staff follow-up."""

    def name(self) -> str:
        return "action_handle_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        codes = [
            e["value"] for e in (tracker.latest_message or {}).get("entities") or [] if e.get("entity") == "red_flag"
        ]
        payload = emergency_payload(codes)
        ordered = [str(code) for code in payload["red_flags"]]  # type: ignore[attr-defined]
        sms = channel_of(tracker) == "twilio"
        # The instruction goes out first, whatever happens to the record below.
        dispatcher.utter_message(text=emergency_text(ordered, sms=sms), json_message=payload)
        try:
            with get_store().transaction() as session:
                repository.record_red_flags(session, tracker.sender_id, channel_of(tracker), ordered)
        except Exception as error:  # noqa: BLE001 - the patient's instruction must never fail
            # The error type only: database errors can quote the patient's values.
            logger.error(
                "Could not record a red flag (conversation kept in the tracker store): %s",
                type(error).__name__,
            )
        return [SlotSet("emergency_reported", True), SlotSet("requested_slot", None)]
