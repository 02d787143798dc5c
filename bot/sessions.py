"""What a new Rasa session keeps of the conversation before it, by channel.

Rasa starts a new session after ``session_expiration_time`` (domain.yml: 2 hours) without a
message. On the website that is a patient coming back later: the facts they gave are kept,
the unfinished question is not, and the bot introduces itself again. By SMS a patient often
answers the next day, so a text within ``SMS_CONTINUE_DAYS`` (settings, default 7) just
continues the conversation where it stopped (same question, no introduction); after that, old
answers such as "6 weeks ago" are stale, so the conversation starts afresh.

**A red flag is never forgotten.** Neither a new session (of any kind) nor "start over" drops an
emergency: the staff's record (``clinic_red_flag_events``) is never touched, and the conversation
keeps the red-flag gate (:func:`pending_red_flags`). As long as the patient has not said that a
doctor has checked it, a new session or a "start over" keeps ``emergency_reported`` and sets
``red_flag_followup``: before anything routine, the patient is asked "Last time you told me about
<…>. Has that been checked by a doctor?" (``actions/session.py``). A yes is remembered as
``red_flag_checked_at``, which every kind of session keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from bot.vocabulary import RED_FLAG_CODES

SMS_CHANNELS = frozenset({"twilio"})
SECONDS_PER_DAY = 24 * 60 * 60

NEVER_CARRIED_OVER = frozenset({"session_started_metadata"})
"""Set by Rasa for each session."""

RED_FLAG_STATE = frozenset({"emergency_reported", "red_flag_followup", "red_flag_codes", "red_flag_about"})
"""Worked out afresh at every session start and "start over" (:func:`pending_red_flags`), never copied."""

RED_FLAG_FOLLOWUP_ASKING = frozenset({"red_flag_followup_answer"})
"""The gate question's own answer: never carried into another session."""

ALWAYS_CARRIED = frozenset({"red_flag_checked_at"})
"""When the patient last said a doctor had checked their red flag: kept by every session and "start over"."""

NOT_CARRIED_TO_A_RETURN = NEVER_CARRIED_OVER | {"requested_slot"} | RED_FLAG_STATE | RED_FLAG_FOLLOWUP_ASKING
"""A returning website patient keeps their facts, not an unfinished question (the alarm is re-derived)."""


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
    """The slot values the new session starts with (the clinic's details and the red-flag state are set apart).

    ``red_flag_checked_at`` is kept by every start; the red-flag state itself is worked out by
    :func:`pending_red_flags`, not copied.
    """
    always = {name: slots[name] for name in ALWAYS_CARRIED if slots.get(name) is not None}
    if start in (SessionStart.FIRST, SessionStart.SMS_AFRESH):
        return always
    if start is SessionStart.SMS_CONTINUE:
        dropped = NEVER_CARRIED_OVER | RED_FLAG_STATE | RED_FLAG_FOLLOWUP_ASKING
    else:
        dropped = NOT_CARRIED_TO_A_RETURN
    kept = {name: value for name, value in slots.items() if value is not None and name not in dropped}
    return {**kept, **always}


def _codes(values: object) -> list[str]:
    """The known red-flag codes among ``values``, each once."""
    if not isinstance(values, (list, tuple)):
        return []
    return [code for code in values if isinstance(code, str) and code in RED_FLAG_CODES]


def emergencies_in(events: Sequence[Mapping[str, Any]], since: float | None = None) -> list[str]:
    """The codes of every ``emergency`` payload the bot sent among ``events`` (after ``since``)."""
    codes: list[str] = []
    for event in events:
        if event.get("event") != "bot":
            continue
        timestamp = event.get("timestamp")
        if since is not None and isinstance(timestamp, (int, float)) and timestamp <= since:
            continue
        custom = (event.get("data") or {}).get("custom")
        if isinstance(custom, Mapping) and custom.get("type") == "emergency":
            codes += _codes(custom.get("red_flags"))
    return codes


def pending_red_flags(
    slots: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    stored: Iterable[tuple[Sequence[str], float]] = (),
) -> list[str]:
    """The red flags a returning patient must be asked about, in table order ([] when none).

    A red flag is pending from the moment it is reported (the bot's ``emergency`` payload in
    ``events``, an ``emergency`` row in ``stored`` as ``(codes, unix time)``, or the tracker's
    ``emergency_reported`` with ``red_flag_codes``) until the patient says a doctor has checked it
    (``red_flag_checked_at``, a unix time): only what came later counts then.
    """
    checked_at = slots.get("red_flag_checked_at")
    since = float(checked_at) if isinstance(checked_at, (int, float)) else None
    found = emergencies_in(events, since)
    for codes, created in stored:
        if since is None or created > since:
            found += _codes(list(codes))
    if slots.get("emergency_reported"):
        found += _codes(slots.get("red_flag_codes"))
        if not found:
            found = list(RED_FLAG_CODES)  # an alarm of unknown kind still stops routine booking
    wanted = set(found)
    return [code for code in RED_FLAG_CODES if code in wanted]
