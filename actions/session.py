"""Session start: the clinic's details as slots, and the introduction."""

from __future__ import annotations

import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, AllSlotsReset, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import channel_of
from bot.sessions import SessionStart, carried_over_slots, last_patient_message_at, session_start
from bot.settings import load_settings


class ActionSessionStart(Action):
    """Starts a session: keeps what the channel's rule keeps (``bot.sessions``), sets the clinic's details."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        start = session_start(
            channel_of(tracker), last_patient_message_at(tracker.events), time.time(), settings.sms_continue_days
        )
        events: list[dict[str, Any]] = [SessionStarted()]
        events += [SlotSet(name, value) for name, value in carried_over_slots(start, tracker.slots).items()]
        events += [
            SlotSet("clinic_name", settings.clinic_name),
            SlotSet("clinic_phone", settings.clinic_phone),
        ]
        loop = (tracker.active_loop or {}).get("name")
        if start is SessionStart.SMS_CONTINUE and loop:
            events.append(ActiveLoop(loop))  # the patient is answering the question we left them with
        if start is not SessionStart.SMS_CONTINUE:
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
