"""Session start, "start over", and the red-flag gate for a patient who comes back.

The gate (see :mod:`bot.sessions`): a red flag stays on the conversation. When a new session
starts, or the patient says "start over", while a reported red flag has not been said to be
checked by a doctor, ``emergency_reported`` is kept and ``red_flag_followup`` is set; the next
routine message (data/rules/red_flag_gate.yml) gets "Last time you told me about <…>. Has that
been checked by a doctor?" (``red_flag_followup_form``). A yes (or "you misunderstood me")
carries on normally; a no, or no clear answer twice, repeats the urgent instruction, and the
red flag is raised for staff again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, AllSlotsReset, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import channel_of, latest_text
from actions.safety import send_emergency
from bot.clinical.red_flags import reminder_text
from bot.dialogue.answers import yes_or_no
from bot.sessions import (
    SessionStart,
    carried_over_slots,
    last_patient_message_at,
    pending_red_flags,
    session_start,
)
from bot.settings import load_settings
from bot.storage import repository
from bot.storage.store import get_store
from bot.vocabulary import RED_FLAG_CODES

logger = logging.getLogger(__name__)

FOLLOWUP_FORM = "red_flag_followup_form"
ANSWER = "red_flag_followup_answer"
CHECKED, MISREAD, NOT_CHECKED = "checked", "misread", "not_checked"
# These end the gate question without answering it (their own rules take over).
_NOT_AN_ANSWER = frozenset({"start_over", "report_red_flag", "request_human"})

_MISREAD = re.compile(
    r"\b(?:misunderst\w*|misread|misheard|mistaken|by mistake|(?:it|that) was a mistake|"
    r"got (?:it|that|me) wrong|(?:you're|you are|that's|that is|you were) wrong|wrong (?:person|number|chat)|"
    r"never (?:said|told you)|did(?:n'?t| not) (?:say|mean) (?:that|it)|not what i (?:said|meant)|"
    r"i was joking|typo|wasn'?t me)\b"
)
_CHECKED = re.compile(
    r"\b(?:been (?:checked|seen|treated|looked at)|(?:doctor|dr|surgeon|er|hospital|urgent care)\b.*"
    r"\b(?:checked|saw|seen|looked|examined|treated|cleared)|(?:went|been|go) to (?:the )?"
    r"(?:er|emergency|hospital|urgent care|doctor|surgeon)|all (?:good|clear|fine)|sorted|taken care of)\b"
)
_NOT_YET = re.compile(
    r"\b(?:not yet|never (?:had|got|been|went)|haven'?t|have not|hasn'?t|has not|didn'?t|did not|not been|"
    r"no one|nobody)\b"
)
_UNSURE = re.compile(r"\b(?:maybe|not sure|(?:don'?t|do not) know|dunno|idk|unsure)\b")
_FIRST_YES = frozenset({"yes", "yeah", "yep", "yup", "ya", "yea", "y", "sure", "ok", "okay"})
_FIRST_NO = frozenset({"no", "nope", "nah", "n", "not"})


def _plain(text: str) -> str:
    lowered = text.lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", lowered).split())


def followup_answer(text: str, intent: str | None = None) -> str | None:
    """The answer to "Has that been checked by a doctor?": checked, misread, not_checked, or None (unclear).

    Anything unsure counts as not checked: a missed emergency is the worst mistake.
    """
    words = _plain(text)
    if not words:
        return None
    if _UNSURE.search(words) or intent == "dont_know":
        return NOT_CHECKED
    if _MISREAD.search(words):
        return MISREAD
    # The intent alone may say no (the safe side), never yes: "purple" can be classified as affirm.
    answer = yes_or_no(text, "deny" if intent == "deny" else None)
    if answer is not None:
        return CHECKED if answer else NOT_CHECKED
    first = words.split()[0]
    if first in _FIRST_NO or _NOT_YET.search(words):
        return NOT_CHECKED
    if first in _FIRST_YES or _CHECKED.search(words):
        return CHECKED
    return None


def _stored_emergencies(sender_id: str) -> list[tuple[list[str], float]]:
    """The conversation's ``emergency`` rows of ``clinic_red_flag_events`` as (codes, unix time)."""
    try:
        with get_store().transaction() as session:
            rows = repository.list_red_flag_events(session, conversation_id=sender_id, limit=1000)
            return [
                ([str(code) for code in row.red_flags or []], row.created_at.timestamp())
                for row in rows
                if row.kind == "emergency" and row.created_at is not None
            ]
    except Exception as error:  # noqa: BLE001 - the tracker still has what this session saw
        logger.error("Could not read the red flags of a conversation: %s", type(error).__name__)
        return []


def gate_events(tracker: Tracker, slots: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The slots that keep a not-yet-checked red flag's gate (none when there is nothing to ask)."""
    pending = pending_red_flags(
        tracker.slots if slots is None else slots, tracker.events, _stored_emergencies(tracker.sender_id)
    )
    if not pending:
        return []
    return [
        SlotSet("emergency_reported", True),
        SlotSet("red_flag_followup", True),
        SlotSet("red_flag_codes", pending),
        SlotSet("red_flag_about", reminder_text(pending)),
    ]


def _opted_out_metadata(tracker: Tracker) -> bool:
    """True when the session starts for a text from an opted-out number (nothing is sent)."""
    metadata = tracker.get_slot("session_started_metadata")
    return isinstance(metadata, dict) and bool(metadata.get("sms_opted_out"))


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
        gate = gate_events(tracker)
        events += gate
        loop = (tracker.active_loop or {}).get("name")
        if gate:
            events.append(SlotSet("requested_slot", None))  # the red flag is asked about first
        elif start is SessionStart.SMS_CONTINUE and loop:
            events.append(ActiveLoop(loop))  # the patient is answering the question we left them with
        if start is not SessionStart.SMS_CONTINUE and not _opted_out_metadata(tracker):
            dispatcher.utter_message(
                response="utter_intro", clinic_name=settings.clinic_name, clinic_phone=settings.clinic_phone
            )
        events.append(ActionExecuted("action_listen"))
        return events


class ActionStartOver(Action):
    """Forgets what the patient told us (the transcript stays for staff) and stops any question.

    A red flag not yet said to be checked is not forgotten: its gate is set again (:func:`gate_events`).
    """

    def name(self) -> str:
        return "action_start_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        dispatcher.utter_message(response="utter_restart")
        checked_at = tracker.get_slot("red_flag_checked_at")
        events: list[dict[str, Any]] = [
            ActiveLoop(None),
            AllSlotsReset(),
            SlotSet("clinic_name", settings.clinic_name),
            SlotSet("clinic_phone", settings.clinic_phone),
        ]
        if checked_at is not None:
            events.append(SlotSet("red_flag_checked_at", checked_at))
        return events + gate_events(tracker)


def _answers_so_far(tracker: Tracker) -> int:
    """How many patient messages came since the gate question was first asked."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FOLLOWUP_FORM:
            return count
        if event.get("event") == "user":
            count += 1
    return count


class ValidateRedFlagFollowupForm(FormValidationAction):
    """Reads the answer to "Has that been checked by a doctor?"; asked again once, then taken as a no."""

    def name(self) -> str:
        return "validate_red_flag_followup_form"

    async def extract_red_flag_followup_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != ANSWER:
            return {}  # the message that brought the question up is not its answer
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent in _NOT_AN_ANSWER:
            return {}
        answer = followup_answer(latest_text(tracker), intent)
        if answer is None and _answers_so_far(tracker) < 2:
            dispatcher.utter_message(response="utter_red_flag_followup_unclear")
            return {ANSWER: None}  # asked again
        return {ANSWER: answer or NOT_CHECKED}

    def validate_red_flag_followup_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {ANSWER: value if value in (CHECKED, MISREAD, NOT_CHECKED) else None}


class ActionResolveRedFlagFollowup(Action):
    """Yes: noted, and the conversation carries on. No: the urgent instruction again, raised for staff."""

    def name(self) -> str:
        return "action_resolve_red_flag_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        answer = tracker.get_slot(ANSWER)
        done = [SlotSet(ANSWER, None), SlotSet("red_flag_followup", False)]
        if answer not in (CHECKED, MISREAD):
            codes = tracker.get_slot("red_flag_codes") or []
            codes = [code for code in codes if isinstance(code, str)]
            return done + send_emergency(dispatcher, tracker, codes or _all_codes())
        dispatcher.utter_message(
            response="utter_red_flag_followup_checked" if answer == CHECKED else "utter_red_flag_followup_misread"
        )
        return [
            *done,
            SlotSet("emergency_reported", False),
            SlotSet("red_flag_codes", None),
            SlotSet("red_flag_about", None),
            SlotSet("red_flag_checked_at", time.time()),
            *_carry_on(tracker),
        ]


class ActionRedFlagDuringFollowup(Action):
    """A new red flag while the gate is open: the urgent instruction, and the gate is closed (it's answered)."""

    def name(self) -> str:
        return "action_red_flag_during_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        codes = [
            e["value"] for e in (tracker.latest_message or {}).get("entities") or [] if e.get("entity") == "red_flag"
        ]
        done = [ActiveLoop(None), SlotSet(ANSWER, None), SlotSet("red_flag_followup", False)]
        return done + send_emergency(dispatcher, tracker, codes or tracker.get_slot("red_flag_codes") or _all_codes())


def _all_codes() -> list[str]:
    return list(RED_FLAG_CODES)


def _carry_on(tracker: Tracker) -> list[dict[str, Any]]:
    """Back to where a routine conversation would be: the questions, the offer, or an open question."""
    if not tracker.get_slot("assessment_done"):
        return [FollowupAction("intake_form")]
    if tracker.get_slot("consent_to_schedule") is None and not tracker.get_slot("booking_request_id"):
        return [FollowupAction("booking_form")]
    return [FollowupAction("utter_anything_else")]
