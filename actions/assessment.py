"""Explain the possible causes: the findings engine lives in ``bot.clinical``."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import channel_of, slots_of
from bot.clinical.engine import assess
from bot.clinical.explain import explain
from bot.dialogue import readback
from bot.intake import UNKNOWN, facts_from_slots
from bot.settings import load_settings


class ActionAssess(Action):
    """Reads back what was understood, then sends the explanation and the ``assessment`` payload."""

    def name(self) -> str:
        return "action_assess"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        slots = slots_of(tracker)
        facts = facts_from_slots(slots)
        assessment = assess(facts)
        sms = channel_of(tracker) == "twilio"
        understood = readback.summary(facts, load_settings().today(), symptoms_known=slots.get("symptoms") != UNKNOWN)
        dispatcher.utter_message(response="utter_readback", summary=understood)
        dispatcher.utter_message(text=explain(assessment, sms=sms), json_message=assessment.payload())
        return [SlotSet("assessment_done", True), SlotSet("findings", assessment.codes())]
