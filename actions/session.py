"""Session start: the clinic's details as slots, and the introduction."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, AllSlotsReset, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.settings import load_settings

# A new session keeps the patient's facts, not the state of an unfinished question or alarm.
NOT_CARRIED_OVER = frozenset({"session_started_metadata", "requested_slot", "emergency_reported"})


class ActionSessionStart(Action):
    """Starts a session: keeps what the patient told us, sets the clinic's details, introduces itself."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        events: list[dict[str, Any]] = [SessionStarted()]
        events += [
            SlotSet(name, value)
            for name, value in tracker.slots.items()
            if value is not None and name not in NOT_CARRIED_OVER
        ]
        events += [
            SlotSet("clinic_name", settings.clinic_name),
            SlotSet("clinic_phone", settings.clinic_phone),
        ]
        dispatcher.utter_message(
            response="utter_intro", clinic_name=settings.clinic_name, clinic_phone=settings.clinic_phone
        )
        events.append(ActionExecuted("action_listen"))
        return events


class ActionStartOver(Action):
    """Forgets what the patient told us (the transcript stays for staff) and stops any question."""

    def name(self) -> str:
        return "action_start_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        dispatcher.utter_message(response="utter_restart")
        return [
            ActiveLoop(None),
            AllSlotsReset(),
            SlotSet("clinic_name", settings.clinic_name),
            SlotSet("clinic_phone", settings.clinic_phone),
        ]
