"""Red flags: urgent-care instruction, the ``emergency`` payload, and a mark for staff.

A red flag the lexicon doesn't confirm gets one direct safety question first
(``red_flag_check_form``): a yes is the red flag; either way staff see the conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import channel_of, latest_message, latest_text, resume_questions, slots_of
from bot import intake
from bot.clinical.red_flags import emergency_payload, emergency_text
from bot.dialogue.answers import safety_yes
from bot.storage import outbox
from bot.storage.outbox import Delivery, get_outbox
from bot.vocabulary import RED_FLAG_CODES

logger = logging.getLogger(__name__)
SUSPECTED = "red_flag_suspected"
CONFIRMED = "red_flag_confirmed"
CHECKED = "red_flags_checked"  # the red flags already asked about (the patient said no)
REPEATED = "red_flag_check_repeat"
ANY_RED_FLAG = "any"  # the question about all of them, when no one red flag was guessed


def _record(tracker: Tracker, codes: Sequence[str], kind: str) -> None:
    """Keeps the red-flag event for staff without holding up the patient's instruction.

    The database gets at most ``RED_FLAG_WAIT_SECONDS``; when it is down or slower, the event
    is kept in the outbox (a local file) and delivered as soon as the database answers again
    (``bot.storage.outbox``). A failure is logged by type only, never raised.
    """
    try:
        record = outbox.red_flag_record(tracker.sender_id, channel_of(tracker), codes, kind)
        delivery = get_outbox().deliver(record, wait=outbox.RED_FLAG_WAIT_SECONDS)
    except Exception as error:  # noqa: BLE001 - the patient's instruction must never fail
        # The error type only: database errors can quote the patient's values.
        logger.error("Could not record a red flag (conversation kept in the tracker store): %s", type(error).__name__)
        return
    if delivery is Delivery.LOST:
        logger.error("A red flag could be neither saved nor kept in the outbox (see the errors above).")


def send_emergency(dispatcher: CollectingDispatcher, tracker: Tracker, codes: Sequence[str]) -> list[dict[str, Any]]:
    """The urgent instruction and ``emergency`` payload first, then the record for staff.

    The record never holds the instruction up for long: see :func:`_record`.
    """
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
        """On activation: which red flag the question is about (the guard's guess), and the facts
        the message gave for the question it interrupted. A red flag already asked about in this
        conversation is not asked about again (the answer was no)."""
        if tracker.get_slot("requested_slot") == CONFIRMED:
            events: list[dict[str, Any]] = await super().run(dispatcher, tracker, domain)
            return events
        guesses = [
            e.get("value")
            for e in (tracker.latest_message or {}).get("entities") or []
            if e.get("entity") == "suspected_red_flag" and e.get("value") in RED_FLAG_CODES
        ]
        code = guesses[0] if guesses else None
        kept = intake.checked_updates(latest_message(tracker), _question_before(tracker.events), slots_of(tracker))
        events = [SlotSet(SUSPECTED, code), *(SlotSet(name, value) for name, value in kept.items())]
        if (code or ANY_RED_FLAG) in (tracker.get_slot(CHECKED) or []):
            return [*events, SlotSet(REPEATED, True), SlotSet(CONFIRMED, False), SlotSet("requested_slot", None)]
        return events + await super().run(dispatcher, tracker, domain)

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
        checked = [*(tracker.get_slot(CHECKED) or []), suspected or ANY_RED_FLAG]
        reset = [SlotSet(SUSPECTED, None), SlotSet(CONFIRMED, None), SlotSet(REPEATED, None), SlotSet(CHECKED, checked)]
        if tracker.get_slot(CONFIRMED):
            return send_emergency(dispatcher, tracker, codes) + reset
        if not tracker.get_slot(REPEATED):
            dispatcher.utter_message(response="utter_red_flag_check_cleared")
            _record(tracker, codes, "review")
        return reset + resume_questions(tracker)


def _question_before(events: Sequence[dict[str, Any]]) -> str | None:
    """The question the latest user message answered (``requested_slot`` before it)."""
    seen_user = False
    for event in reversed(events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == "requested_slot":
            value = event.get("value")
            return str(value) if value else None
    return None
