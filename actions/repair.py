"""Conversation repair for every form: the steps are in ``bot.dialogue.repair``."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import latest_message, latest_text
from bot.dialogue import repair
from bot.intake import PatientMessage
from bot.language.entities import extract_entities
from bot.settings import load_settings

REQUESTED_SLOT = "requested_slot"


def answer_of(tracker: Tracker) -> tuple[PatientMessage, str]:
    """The latest message as an answer: a numbered reply to offered choices reads as the choice."""
    message, text = latest_message(tracker), latest_text(tracker)
    requested = tracker.get_slot(REQUESTED_SLOT)
    if repair.RepairState.from_slots(tracker.slots).for_question(requested) != repair.CHOICES:
        return message, text
    buttons = repair.offered_buttons(tracker.events)
    chosen = repair.choice_answer(text, buttons, requested, answers=bool(message.values(requested)))
    if chosen is None:
        return message, text
    entities = tuple(extract_entities(chosen, load_settings().today()))
    return PatientMessage(repair.chosen_intent(chosen), entities), chosen


class RepairingValidator:
    """Mixin for a ``FormValidationAction``: hint, then choices, then "not known" and move on.

    Runs after the form's own extraction and validation. A message meant as an answer that set
    no fact moves the question one repair step on; the third one records the fact as not known
    (:func:`bot.dialogue.repair.give_up_value`, or :meth:`give_up_value` of the form).
    """

    #: The facts this form asks for (a message that sets any of them made progress).
    fact_slots: tuple[str, ...] = ()
    #: Intents that interrupt this form's questions (a rule answers them).
    interruptions: frozenset[str] = repair.NOT_AN_ATTEMPT

    def answers_elsewhere(self, tracker: Tracker) -> bool:
        """Whether the message is for another form (a correction of a fact while booking):
        then the form rejects it, as without repair, and a rule takes it there."""
        return False

    def give_up_value(self, slot: str, tracker: Tracker) -> Any:
        """What ``slot`` records after three unusable answers (a form may override it)."""
        return repair.give_up_value(slot)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """The form's own events, then the repair step's."""
        requested = tracker.get_slot(REQUESTED_SLOT)
        state = repair.RepairState.from_slots(tracker.slots)
        message = latest_message(tracker)
        events: list[dict[str, Any]] = await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
        progressed = any(
            e.get("event") == "slot" and e.get("name") in self.fact_slots and e.get("value") is not None for e in events
        )
        attempted = repair.is_attempt(message.intent, message.confidence, self.interruptions)
        attempted = attempted and not self.answers_elsewhere(tracker)
        asked = repair.times_asked_in_a_row(tracker.events, requested)
        decision = repair.decide(requested, state, progressed, attempted, asked)
        forced = not attempted and (decision.gave_up or decision.step != state.for_question(requested))
        if forced and message.intent in repair.SIDE_ANSWERS:
            # The repair step moves on, so the form does not hand the turn back to the side
            # question's rule (data/rules/side_questions.yml): the answer is given here.
            dispatcher.utter_message(response=repair.SIDE_ANSWERS[message.intent])
        if decision.gave_up:
            value = self.give_up_value(decision.gave_up, tracker)
            dispatcher.utter_message(response=f"utter_gave_up_{decision.gave_up}")
            events = [e for e in events if e.get("name") not in (decision.gave_up, REQUESTED_SLOT)]
            events.append(SlotSet(decision.gave_up, value))
            tracker.slots[decision.gave_up] = value
            following = await self.next_requested_slot(dispatcher, tracker, domain)  # type: ignore[attr-defined]
            if following is not None:
                events.append(following)
        updates = decision.slot_updates(requested)
        if any(tracker.slots.get(name) != value for name, value in updates.items()):
            events += [SlotSet(name, value) for name, value in updates.items()]
        return events
