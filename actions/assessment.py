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
from bot.intake import facts_from_slots


class ActionAssess(Action):
    """Sends the explanation and the ``assessment`` payload for the facts gathered."""

    def name(self) -> str:
        return "action_assess"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        assessment = assess(facts_from_slots(slots_of(tracker)))
        sms = channel_of(tracker) == "twilio"
        dispatcher.utter_message(text=explain(assessment, sms=sms), json_message=assessment.payload())
        return [SlotSet("assessment_done", True), SlotSet("findings", assessment.codes())]
