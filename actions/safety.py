"""Red flags: urgent-care instruction, the ``emergency`` payload, and a mark for staff.

A red flag the lexicon doesn't confirm gets one direct safety question first
(``red_flag_check_form``): a yes is the red flag; either way staff see the conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import channel_of, latest_text
from bot.clinical.red_flags import emergency_payload, emergency_text
from bot.dialogue.answers import safety_yes
from bot.storage import repository
from bot.storage.store import get_store
from bot.vocabulary import RED_FLAG_CODES

logger = logging.getLogger(__name__)
SUSPECTED = "red_flag_suspected"
CONFIRMED = "red_flag_confirmed"


def _record(tracker: Tracker, codes: Sequence[str], kind: str) -> None:
    """Saves the red-flag event for staff; a failure is logged by type only, never raised."""
    try:
        with get_store().transaction() as session:
            repository.record_red_flags(session, tracker.sender_id, channel_of(tracker), codes, kind=kind)
    except Exception as error:  # noqa: BLE001 - the patient's instruction must never fail
        # The error type only: database errors can quote the patient's values.
        logger.error("Could not record a red flag (conversation kept in the tracker store): %s", type(error).__name__)


def send_emergency(dispatcher: CollectingDispatcher, tracker: Tracker, codes: Sequence[str]) -> list[dict[str, Any]]:
    """The urgent instruction and ``emergency`` payload first, then the record for staff."""
    payload = emergency_payload(codes)
    ordered = [str(code) for code in payload["red_flags"]]  # type: ignore[attr-defined]
    sms = channel_of(tracker) == "twilio"
    dispatcher.utter_message(text=emergency_text(ordered, sms=sms), json_message=payload)
    _record(tracker, ordered, "emergency")
    return [SlotSet("emergency_reported", True), SlotSet("requested_slot", None)]


class ActionHandleRedFlag(Action):
    """Tells the patient to get urgent care now and records the red flag for staff follow-up."""

    def name(self) -> str:
        return "action_handle_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        codes = [
            e["value"] for e in (tracker.latest_message or {}).get("entities") or [] if e.get("entity") == "red_flag"
        ]
        return send_emergency(dispatcher, tracker, codes)


class ValidateRedFlagCheckForm(FormValidationAction):
    """Reads the answer to the safety question; any answer fills it, so it is asked once."""

    def name(self) -> str:
        return "validate_red_flag_check_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """On activation, notes which red flag the question is about (the guard's guess)."""
        events: list[dict[str, Any]] = await super().run(dispatcher, tracker, domain)
        if tracker.get_slot("requested_slot") != CONFIRMED:
            guesses = [
                e.get("value")
                for e in (tracker.latest_message or {}).get("entities") or []
                if e.get("entity") == "suspected_red_flag" and e.get("value") in RED_FLAG_CODES
            ]
            events.insert(0, SlotSet(SUSPECTED, guesses[0] if guesses else None))
        return events

    async def extract_red_flag_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != CONFIRMED:
            return {}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        return {CONFIRMED: safety_yes(latest_text(tracker), intent)}

    def validate_red_flag_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CONFIRMED: bool(value)}


class ActionResolveRedFlagCheck(Action):
    """A yes is the red flag; a no is kept for staff review, and the conversation goes on."""

    def name(self) -> str:
        return "action_resolve_red_flag_check"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        suspected = tracker.get_slot(SUSPECTED)
        codes = [suspected] if suspected in RED_FLAG_CODES else list(RED_FLAG_CODES)
        reset = [SlotSet(SUSPECTED, None), SlotSet(CONFIRMED, None)]
        if tracker.get_slot(CONFIRMED):
            return send_emergency(dispatcher, tracker, codes) + reset
        dispatcher.utter_message(response="utter_red_flag_check_cleared")
        _record(tracker, codes, "review")
        return reset + _resume(tracker)


def _resume(tracker: Tracker) -> list[dict[str, Any]]:
    """Back to the questions the safety question interrupted, if any were still open."""
    if not tracker.get_slot("assessment_done"):
        return [FollowupAction("intake_form")]
    if tracker.get_slot("consent_to_schedule") is None and not tracker.get_slot("booking_request_id"):
        return [FollowupAction("booking_form")]
    return []
