"""The intake form's validation: extraction and checks live in ``bot.intake``."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import FromUpdates, slots_of
from actions.repair import RepairingValidator, answer_of
from bot import intake

PROBLEM_REPLIES = {
    "future": "That date looks like it's still to come. Could you check it for me?",
    "implausible": 'Sorry, I couldn\'t use that time. Could you say it another way, like "6 weeks ago"?',
    "before_surgery": "The pain coming back would be after the surgery. Could you check that time for me?",
    "after_today": "That would be later than today. Could you check that time for me?",
}


class ValidateIntakeForm(RepairingValidator, FromUpdates, FormValidationAction):
    """Fills and checks surgery type, timing, pain course, return time and symptoms."""

    fact_slots = (*intake.INTAKE_SLOTS, "pain_returned")  # "it was fine at first" is progress too

    def name(self) -> str:
        return "validate_intake_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Asks when the pain came back only for the two "relief then return" courses.

        The latest message counts too, so a first message that tells the course and the
        return time keeps both.
        """
        wanted = intake.required_intake_slots({**tracker.slots, **self._updates(tracker)})
        return [slot for slot in domain_slots if slot in wanted]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Also keeps when a return dated from today was (``pain_return_ago``, not a form slot)."""
        updates = self._updates(tracker)
        events = await super().run(dispatcher, tracker, domain)
        if intake.RETURN_AGO in updates:
            events.append(SlotSet(intake.RETURN_AGO, updates[intake.RETURN_AGO]))
        return events

    def _updates(self, tracker: Tracker) -> dict[str, Any]:
        message, _ = answer_of(tracker)
        return intake.intake_updates(message, tracker.get_slot("requested_slot"), slots_of(tracker))

    async def extract_surgery_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("surgery_type", tracker)

    async def extract_weeks_since_surgery(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("weeks_since_surgery", tracker)

    async def extract_pain_course(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("pain_course", tracker)

    async def extract_pain_return_weeks(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("pain_return_weeks", tracker)

    async def extract_symptoms(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("symptoms", tracker)

    def validate_surgery_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"surgery_type": value if value in intake.SURGERY_TYPES else None}

    def validate_weeks_since_surgery(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        problem = intake.check_weeks_since_surgery(value)
        if problem:
            dispatcher.utter_message(text=PROBLEM_REPLIES[problem])
            return {"weeks_since_surgery": None}
        return {"weeks_since_surgery": value}

    def validate_pain_course(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == intake.RETURNED:  # the course question now asks how fast it came back
            return {"pain_course": None, "pain_returned": True}
        valid = value in intake.PAIN_COURSES or value == intake.UNKNOWN
        return {"pain_course": value if valid else None}

    def validate_pain_return_weeks(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        problem = intake.check_pain_return_weeks(value, tracker.get_slot("weeks_since_surgery"))
        if problem:
            dispatcher.utter_message(text=PROBLEM_REPLIES[problem])
            return {"pain_return_weeks": None}
        return {"pain_return_weeks": value}

    def validate_symptoms(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == intake.UNKNOWN:
            return {"symptoms": value}
        if isinstance(value, list):
            return {"symptoms": [s for s in intake.SYMPTOMS if s in value]}
        return {"symptoms": None}
