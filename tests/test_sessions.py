"""Tests for bot.sessions and the session-start action that applies it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from bot.sessions import SessionStart, carried_over_slots, last_patient_message_at, session_start

DAY = 24 * 60 * 60
NOW = 1_800_000_000.0
SLOTS = {
    "surgery_type": "fusion",
    "weeks_since_surgery": 20.0,
    "requested_slot": "pain_course",
    "emergency_reported": True,
    "session_started_metadata": {"channel": "twilio"},
    "symptoms": None,
}


@pytest.mark.parametrize(
    "channel, idle, expected",
    [
        ("socketio", None, SessionStart.FIRST),
        ("twilio", None, SessionStart.FIRST),
        ("socketio", 3 * DAY, SessionStart.RETURN),
        ("rest", 3 * 60 * 60, SessionStart.RETURN),
        ("twilio", 3 * 60 * 60, SessionStart.SMS_CONTINUE),
        ("twilio", 7 * DAY, SessionStart.SMS_CONTINUE),
        ("twilio", 7 * DAY + 1, SessionStart.SMS_AFRESH),
    ],
)
def test_how_a_session_starts(channel: str, idle: float | None, expected: SessionStart) -> None:
    last = None if idle is None else NOW - idle
    assert session_start(channel, last, NOW, sms_continue_days=7) is expected


def test_what_each_start_keeps() -> None:
    assert carried_over_slots(SessionStart.FIRST, SLOTS) == {}
    assert carried_over_slots(SessionStart.SMS_AFRESH, SLOTS) == {}
    assert carried_over_slots(SessionStart.RETURN, SLOTS) == {"surgery_type": "fusion", "weeks_since_surgery": 20.0}
    assert carried_over_slots(SessionStart.SMS_CONTINUE, SLOTS) == {
        "surgery_type": "fusion",
        "weeks_since_surgery": 20.0,
        "requested_slot": "pain_course",
        "emergency_reported": True,
    }


def test_last_patient_message() -> None:
    events: list[dict[str, Any]] = [
        {"event": "user", "timestamp": 10.0},
        {"event": "bot", "timestamp": 11.0},
        {"event": "user", "timestamp": 12},
        {"event": "action", "timestamp": 13.0},
    ]
    assert last_patient_message_at(events) == 12.0
    assert last_patient_message_at([{"event": "bot", "timestamp": 1.0}]) is None
    assert last_patient_message_at([{"event": "user"}]) is None


def _session_start(channel: str, idle_days: float | None, active_loop: str | None) -> tuple[list[Any], list[Any]]:
    events: list[dict[str, Any]] = []
    if idle_days is not None:
        events.append(
            {"event": "user", "timestamp": time.time() - idle_days * DAY, "input_channel": channel, "text": "x"}
        )
    tracker = Tracker(
        "sender",
        dict(SLOTS),
        {"intent": {}, "entities": [], "input_channel": channel},
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionSessionStart().run(dispatcher, tracker, {}))
    return result, dispatcher.messages


def _slots(events: list[Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_an_sms_reply_days_later_continues_the_question_without_an_introduction() -> None:
    events, messages = _session_start("twilio", 2, "intake_form")
    assert messages == []
    assert events[0]["event"] == "session_started"
    assert [e["name"] for e in events if e["event"] == "active_loop"] == ["intake_form"]
    assert _slots(events)["requested_slot"] == "pain_course"
    assert events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"


def test_an_sms_after_a_long_silence_starts_afresh() -> None:
    events, messages = _session_start("twilio", 30, "intake_form")
    assert [m["response"] for m in messages] == ["utter_intro"]
    assert not any(e["event"] == "active_loop" for e in events)
    assert set(_slots(events)) == {"clinic_name", "clinic_phone"}


def test_a_returning_website_patient_keeps_facts_and_is_greeted() -> None:
    events, messages = _session_start("socketio", 1, "intake_form")
    assert [m["response"] for m in messages] == ["utter_intro"]
    assert not any(e["event"] == "active_loop" for e in events)
    assert _slots(events)["surgery_type"] == "fusion"
    assert "requested_slot" not in _slots(events)
