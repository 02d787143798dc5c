"""Tests for bot.sessions and the session-start action that applies it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import (
    ActionResolveRedFlagFollowup,
    ActionSessionStart,
    ActionStartOver,
    ValidateRedFlagFollowupForm,
    followup_answer,
)
from bot.sessions import (
    SessionStart,
    carried_over_slots,
    emergencies_in,
    last_patient_message_at,
    pending_red_flags,
    session_start,
)
from bot.storage import repository
from bot.storage.models import RedFlagEvent
from bot.storage.store import get_store, reset_store

DAY = 24 * 60 * 60
NOW = 1_800_000_000.0
SLOTS = {
    "surgery_type": "fusion",
    "weeks_since_surgery": 20.0,
    "requested_slot": "pain_course",
    "session_started_metadata": {"channel": "twilio"},
    "symptoms": None,
}
SENDER = "sender"
DOMAIN: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parents[1] / "domain.yml").read_text())


@pytest.fixture(autouse=True)
def _own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The actions read the conversation's red flags from DATABASE_URL: a throwaway SQLite file here."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sessions.sqlite3'}")
    reset_store()
    yield
    reset_store()


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
    }


RED_FLAG_STATE = {
    "emergency_reported": True,
    "red_flag_followup": True,
    "red_flag_codes": ["infection"],
    "red_flag_about": "fever",
    "red_flag_followup_answer": "checked",
}


@pytest.mark.parametrize("start", list(SessionStart))
def test_the_red_flag_state_is_worked_out_afresh_and_the_check_is_always_kept(start: SessionStart) -> None:
    carried = carried_over_slots(start, {**SLOTS, **RED_FLAG_STATE, "red_flag_checked_at": NOW})
    assert carried["red_flag_checked_at"] == NOW
    assert not set(RED_FLAG_STATE) & set(carried)


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


def _tracker(
    channel: str,
    idle_days: float | None,
    active_loop: str | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    latest: dict[str, Any] | None = None,
) -> Tracker:
    history: list[dict[str, Any]] = list(events or [])
    if idle_days is not None:
        history.append(
            {"event": "user", "timestamp": time.time() - idle_days * DAY, "input_channel": channel, "text": "x"}
        )
    return Tracker(
        SENDER,
        {**SLOTS, **(slots or {})},
        latest or {"intent": {}, "entities": [], "input_channel": channel},
        history,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def _run(action: Any, tracker: Tracker) -> tuple[list[Any], list[Any]]:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return result, dispatcher.messages


def _session_start(
    channel: str,
    idle_days: float | None,
    active_loop: str | None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> tuple[list[Any], list[Any]]:
    return _run(ActionSessionStart(), _tracker(channel, idle_days, active_loop, slots, events))


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


# ---------------------------------------------------------------------------------------------
# The red-flag gate: a red flag is never forgotten by a new session or by "start over".


def _emergency_sent(codes: list[str], days_ago: float = 0.5) -> dict[str, Any]:
    """The bot's urgent message with its ``emergency`` payload, as the tracker keeps it."""
    return {
        "event": "bot",
        "timestamp": time.time() - days_ago * DAY,
        "text": "Please call 911",
        "data": {"custom": {"type": "emergency", "red_flags": codes}},
    }


def _stored(codes: list[str], kind: str = "emergency", when: datetime | None = None) -> None:
    with get_store().transaction() as session:
        event = repository.record_red_flags(session, SENDER, "twilio", codes, kind=kind)
        if when is not None:
            event.created_at = when


def _stored_rows() -> list[tuple[str, list[str]]]:
    with get_store().transaction() as session:
        rows = session.query(RedFlagEvent).order_by(RedFlagEvent.id).all()
        return [(row.conversation_id, list(row.red_flags)) for row in rows]


def test_pending_red_flags_from_the_tracker_the_database_and_the_alarm() -> None:
    events = [_emergency_sent(["infection"]), {"event": "bot", "data": {"custom": {"type": "ask"}}}]
    assert emergencies_in(events) == ["infection"]
    assert pending_red_flags({}, events) == ["infection"]
    assert pending_red_flags({}, [], [(["blood_clot", "cauda_equina"], NOW)]) == ["cauda_equina", "blood_clot"]
    alarm = {"emergency_reported": True, "red_flag_codes": ["progressive_weakness"]}
    assert pending_red_flags(alarm, []) == ["progressive_weakness"]
    assert pending_red_flags({}, []) == []
    # Once the patient says a doctor has checked it, only later red flags count.
    checked = {"red_flag_checked_at": time.time()}
    assert pending_red_flags(checked, events, [(["infection"], time.time() - DAY)]) == []
    assert pending_red_flags(checked, events, [(["blood_clot"], time.time() + 1)]) == ["blood_clot"]


@pytest.mark.parametrize(
    ("channel", "idle_days"),
    [("socketio", 1), ("rest", 0.2), ("twilio", 0.2), ("twilio", 2), ("twilio", 30)],
    ids=["website-return", "rest-return", "sms-hours-later", "sms-continue", "sms-afresh"],
)
def test_a_new_session_keeps_an_unchecked_red_flag_and_asks_about_it(channel: str, idle_days: float) -> None:
    events, messages = _session_start(
        channel, idle_days, "intake_form", {"emergency_reported": True}, [_emergency_sent(["cauda_equina"], idle_days)]
    )
    slots = _slots(events)
    assert slots["emergency_reported"] is True
    assert slots["red_flag_followup"] is True
    assert slots["red_flag_codes"] == ["cauda_equina"]
    assert slots["red_flag_about"] == "new bladder or bowel trouble or groin numbness"
    assert slots["requested_slot"] is None  # the unfinished question waits
    assert not any(e["event"] == "active_loop" for e in events)
    continues_by_sms = channel == "twilio" and idle_days <= 7
    assert [m["response"] for m in messages] == ([] if continues_by_sms else ["utter_intro"])


def test_a_red_flag_only_in_the_staff_record_still_opens_the_gate() -> None:
    _stored(["progressive_weakness"])  # e.g. texted after STOP: never answered, raised for staff
    events, _ = _session_start("twilio", 30, None)
    assert _slots(events)["red_flag_codes"] == ["progressive_weakness"]
    assert _slots(events)["red_flag_followup"] is True


def test_a_checked_red_flag_is_not_asked_about_again_but_a_later_one_is() -> None:
    checked_at = time.time() - DAY
    _stored(["infection"], when=datetime.now(timezone.utc) - timedelta(days=2))
    _stored(["infection"], kind="review")  # a "no" to a safety question is for staff only
    slots = {"red_flag_checked_at": checked_at}
    events, _ = _session_start("socketio", 1, None, slots, [_emergency_sent(["infection"], 2)])
    assert _slots(events)["red_flag_checked_at"] == checked_at
    assert "red_flag_followup" not in _slots(events)
    _stored(["blood_clot"])
    events, _ = _session_start("socketio", 1, None, slots)
    assert _slots(events)["red_flag_codes"] == ["blood_clot"]


def test_a_database_failure_still_keeps_the_red_flag_seen_in_the_conversation(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("connection refused for +14155550100")

    monkeypatch.setattr("actions.session.get_store", broken)
    with caplog.at_level(logging.ERROR):
        events, _ = _session_start("socketio", 1, None, {}, [_emergency_sent(["blood_clot"])])
    assert _slots(events)["red_flag_codes"] == ["blood_clot"]
    assert "RuntimeError" in caplog.text and "+1415" not in caplog.text


def test_a_session_for_a_text_from_an_opted_out_number_says_nothing() -> None:
    metadata = {"channel": "twilio", "phone": "+14155550100", "sms_opted_out": True}
    events, messages = _session_start("twilio", None, None, {"session_started_metadata": metadata})
    assert messages == []
    assert events[0]["event"] == "session_started"


def test_start_over_forgets_the_facts_but_not_the_red_flag() -> None:
    _stored(["infection"])
    tracker = _tracker(
        "rest",
        0.01,
        "booking_form",
        {"emergency_reported": True, "red_flag_checked_at": None},
        [_emergency_sent(["infection"], 0.01)],
    )
    events, messages = _run(ActionStartOver(), tracker)
    assert [m["response"] for m in messages] == ["utter_restart"]
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["active_loop", "reset_slots"]
    slots = _slots(events)
    assert "surgery_type" not in slots
    assert slots["emergency_reported"] is True and slots["red_flag_followup"] is True
    assert slots["red_flag_codes"] == ["infection"]
    assert _stored_rows() == [(SENDER, ["infection"])]  # the staff's record is untouched


def test_start_over_without_a_red_flag_just_forgets() -> None:
    events, _ = _run(ActionStartOver(), _tracker("rest", 0.01, "intake_form", {"red_flag_checked_at": NOW}))
    assert set(_slots(events)) == {"clinic_name", "clinic_phone", "red_flag_checked_at"}


@pytest.mark.parametrize(
    ("text", "intent", "answer"),
    [
        ("yes", "affirm", "checked"),
        ("Yes, my surgeon saw me yesterday", "inform", "checked"),
        ("I went to the ER", "inform", "checked"),
        ("no", "deny", "not_checked"),
        ("not yet", "inform", "not_checked"),
        ("I never had it checked", "inform", "not_checked"),
        ("no, something is still wrong", "deny", "not_checked"),
        ("I don't know", "dont_know", "not_checked"),
        ("maybe", "inform", "not_checked"),
        ("you misunderstood me", "inform", "misread"),
        ("I never said that", "inform", "misread"),
        ("hmm", "out_of_scope", None),
        ("purple", "affirm", None),  # the classifier alone never makes a yes
        ("whatever", "deny", "not_checked"),  # but may make a no
        ("", "nlu_fallback", None),
    ],
)
def test_the_answer_to_the_gate_question(text: str, intent: str, answer: str | None) -> None:
    assert followup_answer(text, intent) == answer


def _gate_tracker(text: str, intent: str, answers_before: int = 0, requested: str | None = None) -> Tracker:
    events: list[dict[str, Any]] = [{"event": "user", "text": "hi"}]
    events.append({"event": "active_loop", "name": "red_flag_followup_form"})
    events += [{"event": "user", "text": "hmm"}] * answers_before
    events.append({"event": "user", "text": text})
    slots = {
        "requested_slot": requested,
        "red_flag_followup": True,
        "emergency_reported": True,
        "red_flag_codes": ["infection"],
        "red_flag_followup_answer": None,
    }
    latest = {"text": text, "intent": {"name": intent}, "entities": [], "input_channel": "rest"}
    return _tracker("rest", None, "red_flag_followup_form", slots, events, latest)


def test_the_gate_form_asks_again_once_then_takes_no_clear_answer_as_not_checked() -> None:
    form = ValidateRedFlagFollowupForm()
    # The message that brought the question up is not its answer.
    events, _ = _run(form, _gate_tracker("hi", "greet"))
    assert "red_flag_followup_answer" not in _slots(events) or _slots(events)["red_flag_followup_answer"] is None
    events, messages = _run(form, _gate_tracker("hmm", "out_of_scope", 0, "red_flag_followup_answer"))
    assert _slots(events)["red_flag_followup_answer"] is None
    assert [m["response"] for m in messages] == ["utter_red_flag_followup_unclear"]
    events, _ = _run(form, _gate_tracker("hmm", "out_of_scope", 1, "red_flag_followup_answer"))
    assert _slots(events)["red_flag_followup_answer"] == "not_checked"
    events, _ = _run(form, _gate_tracker("yes", "affirm", 0, "red_flag_followup_answer"))
    assert _slots(events)["red_flag_followup_answer"] == "checked"
    events, _ = _run(form, _gate_tracker("start over", "start_over", 0, "red_flag_followup_answer"))
    assert "red_flag_followup_answer" not in _slots(events)


def test_yes_carries_on_and_no_repeats_the_urgent_instruction_for_staff_too() -> None:
    resolve = ActionResolveRedFlagFollowup()
    checked = _gate_tracker("yes", "affirm")
    checked.slots["red_flag_followup_answer"] = "checked"
    events, messages = _run(resolve, checked)
    slots = _slots(events)
    assert slots["emergency_reported"] is False and slots["red_flag_followup"] is False
    assert abs(slots["red_flag_checked_at"] - time.time()) < 60
    assert [m["response"] for m in messages] == ["utter_red_flag_followup_checked"]
    assert {"event": "followup", "name": "intake_form", "timestamp": None} in events
    assert _stored_rows() == []

    not_checked = _gate_tracker("no", "deny")
    not_checked.slots["red_flag_followup_answer"] = "not_checked"
    events, messages = _run(resolve, not_checked)
    slots = _slots(events)
    assert slots["emergency_reported"] is True and slots["red_flag_followup"] is False
    assert "red_flag_checked_at" not in slots
    (message,) = messages
    assert "call your surgeon now" in message["text"].lower()
    assert message["custom"] == {"type": "emergency", "red_flags": ["infection"]}
    assert _stored_rows() == [(SENDER, ["infection"])]  # raised for staff again
