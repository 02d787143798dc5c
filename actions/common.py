"""Small helpers shared by the action modules."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.intake import PatientMessage
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
    )


def latest_text(tracker: Tracker) -> str:
    """The latest user message's text ("" when there is none)."""
    return str((tracker.latest_message or {}).get("text") or "")


def channel_of(tracker: Tracker) -> str:
    """The input channel of the conversation's latest message."""
    return tracker.get_latest_input_channel() or "unknown"


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
