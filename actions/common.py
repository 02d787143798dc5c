"""Small helpers shared by the action modules."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction

from bot.intake import PatientMessage
from bot.language.symptoms import body_part_pains
from bot.language.unknown import says_dont_know


def latest_message(tracker: Tracker) -> PatientMessage:
    """The latest user message as the intake logic reads it."""
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    return PatientMessage(
        intent=intent.get("name"),
        entities=tuple(latest.get("entities") or ()),
        confidence=float(intent.get("confidence") or 0.0),
        says_dont_know=says_dont_know(str(latest.get("text") or "")),
        body_part_pains=tuple(body_part_pains(str(latest.get("text") or ""))),
    )


def latest_text(tracker: Tracker) -> str:
    """The latest user message's text ("" when there is none)."""
    return str((tracker.latest_message or {}).get("text") or "")


def channel_of(tracker: Tracker) -> str:
    """The input channel of the conversation's latest message."""
    return tracker.get_latest_input_channel() or "unknown"


def request_kept_text(public_id: str, clinic_phone: str, *, callback: bool = False) -> str:
    """The patient's answer when their request waits in the outbox (the database is down).

    It gives the request's number, says staff will see it once the records system is back,
    and how not to wait. Within two SMS segments.
    """
    what = "call-back request" if callback else "request"
    then = "" if callback else ", and will call you to set a time"
    return (
        f"Thank you. Our records system can't be reached right now, so I've kept your {what} here; "
        f"its number is {public_id}. The clinic's staff will see it as soon as the system is back{then}. "
        f"If you'd rather not wait, call the clinic at {clinic_phone}."
    )


def slots_of(tracker: Tracker) -> dict[str, Any]:
    """A copy of the tracker's slots."""
    return dict(tracker.slots)


class FromUpdates:
    """For form validators whose ``extract_<slot>`` methods all read one dict of updates."""

    def _updates(self, tracker: Tracker) -> dict[str, Any]:
        """The slot values the latest message sets (implemented by each validator)."""
        raise NotImplementedError

    def _extract(self, slot: str, tracker: Tracker) -> dict[str, Any]:
        """``{slot: value}`` if the latest message sets this slot, else ``{}``."""
        updates = self._updates(tracker)
        return {slot: updates[slot]} if slot in updates else {}


def resume_questions(tracker: Tracker, offer: bool = True) -> list[dict[str, Any]]:
    """Back to the questions an interruption (a safety question, a call-back) left open, if any;
    with ``offer``, the consultation offer too."""
    if not tracker.get_slot("assessment_done"):
        return [FollowupAction("intake_form")]
    if tracker.get_slot("emergency_reported"):
        return []  # after a red flag no routine consultation is offered
    if offer and tracker.get_slot("consent_to_schedule") is None and not tracker.get_slot("booking_request_id"):
        return [FollowupAction("booking_form")]
    return []
