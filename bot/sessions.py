"""What a new Rasa session keeps of the conversation before it, by channel.

Rasa starts a new session after ``session_expiration_time`` (domain.yml: 2 hours) without a
message. On the website that is a patient coming back later: the facts they gave are kept,
the unfinished question is not, and the bot introduces itself again. By SMS a patient often
answers the next day, so a text within ``SMS_CONTINUE_DAYS`` (settings, default 7) just
continues the conversation where it stopped (same question, no introduction); after that, old
answers such as "6 weeks ago" are stale, so the conversation starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

SMS_CHANNELS = frozenset({"twilio"})
SECONDS_PER_DAY = 24 * 60 * 60

NEVER_CARRIED_OVER = frozenset({"session_started_metadata"})
"""Set by Rasa for each session."""

NOT_CARRIED_TO_A_RETURN = NEVER_CARRIED_OVER | {"requested_slot", "emergency_reported"}
"""A returning website patient keeps their facts, not an unfinished question or alarm."""


class SessionStart(Enum):
    """How a session begins."""

    FIRST = "first"  # the conversation's first session: introduction
    RETURN = "return"  # a later session: facts kept, introduction again
    SMS_CONTINUE = "sms_continue"  # by SMS within a few days: everything kept, no introduction
    SMS_AFRESH = "sms_afresh"  # by SMS after longer: nothing kept, introduction again


def last_patient_message_at(events: Sequence[Mapping[str, Any]]) -> float | None:
    """The timestamp of the latest patient message among ``events``, or None."""
    for event in reversed(events):
        if event.get("event") == "user" and isinstance(event.get("timestamp"), (int, float)):
            return float(event["timestamp"])
    return None


def session_start(channel: str, last_message_at: float | None, now: float, sms_continue_days: int) -> SessionStart:
    """How the session starting at ``now`` begins, given the previous patient message's time."""
    if last_message_at is None:
        return SessionStart.FIRST
    if channel not in SMS_CHANNELS:
        return SessionStart.RETURN
    if now - last_message_at <= sms_continue_days * SECONDS_PER_DAY:
        return SessionStart.SMS_CONTINUE
    return SessionStart.SMS_AFRESH


def carried_over_slots(start: SessionStart, slots: Mapping[str, Any]) -> dict[str, Any]:
    """The slot values the new session starts with (the clinic's details are set apart)."""
    if start in (SessionStart.FIRST, SessionStart.SMS_AFRESH):
        return {}
    dropped = NEVER_CARRIED_OVER if start is SessionStart.SMS_CONTINUE else NOT_CARRIED_TO_A_RETURN
    return {name: value for name, value in slots.items() if value is not None and name not in dropped}
