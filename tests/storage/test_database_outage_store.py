"""The tracker store and the actions while the database is down, on a private PostgreSQL cluster.

The cluster (tests/storage/pg_cluster.py) is stopped with ``pg_ctl stop -m fast`` (every
connection cut, as when a database server goes down) and started again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    FollowupAction,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.common import request_kept_text
from actions.handoff import ActionSubmitCallback
from actions.safety import ActionHandleRedFlag
from actions.scheduling import ActionSubmitBooking
from bot.channels.sms_segments import segments
from bot.storage.models import AppointmentRequest, RedFlagEvent
from bot.storage.outbox import get_outbox, reset_outboxes
from bot.storage.store import ClinicStore, reset_store
from bot.storage.tracker_store import (
    RECORDS_UNAVAILABLE,
    REST_SECONDS,
    ClinicTrackerStore,
    RecordsUnavailableTracker,
)
from tests.actions.conftest import DOMAIN as ACTIONS_DOMAIN
from tests.actions.conftest import make_tracker
from tests.storage.pg_cluster import PrivateCluster, private_cluster

T = TypeVar("T")
DOMAIN = Domain.from_path(str(Path(__file__).resolve().parents[2] / "domain.yml"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with private_cluster() as running:
        yield running


@pytest.fixture
def database(cluster: PrivateCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the cluster, which the actions' store and outbox use too."""
    url = cluster.create_database()
    ClinicStore(url).dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CLINIC_OUTBOX", str(tmp_path / "outbox.sqlite3"))
    monkeypatch.setenv("CLINIC_OUTBOX_RETRY_SECONDS", "0.3")
    reset_store()
    reset_outboxes()
    yield url
    reset_outboxes()
    reset_store()
    if not _up(cluster):
        cluster.start()


def _up(cluster: PrivateCluster) -> bool:
    try:
        cluster.wait_until_up(timeout=0.5)
        return True
    except OSError:
        return False


def _restart(cluster: PrivateCluster) -> None:
    cluster.start()
    cluster.wait_until_up()
    time.sleep(REST_SECONDS + 0.2)


def _eventually(read: Callable[[], T], timeout: float = 20) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _rows(url: str, model: type) -> list[Any]:
    store = ClinicStore(url)
    try:
        with store.transaction() as session:
            return list(session.execute(select(model)).scalars().all())
    finally:
        store.dispose()


def _store(url: str) -> ClinicTrackerStore:
    return ClinicTrackerStore(domain=DOMAIN, database_url=url)


def _begun(sender: str) -> DialogueStateTracker:
    """A conversation that has told us the surgery and is asked for its date."""
    return DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            SlotSet("clinic_phone", "(555) 010-0123"),
            ActionExecuted("action_listen"),
            UserUttered("I had a microdiscectomy", intent={"name": "inform", "confidence": 1.0}),
            SlotSet("surgery_type", "decompression"),
            BotUttered("When was your surgery?"),
            ActionExecuted("action_listen"),
        ],
        DOMAIN.slots,
    )


def _turn_while_down(tracker: DialogueStateTracker, text: str, intent: str) -> None:
    """What Rasa's processor does with a message on the tracker it was given."""
    tracker.update(UserUttered(text, intent={"name": intent, "confidence": 1.0}))
    followup = tracker.followup_action
    assert followup == RECORDS_UNAVAILABLE
    tracker.clear_followup_action()
    tracker.update(ActionExecuted(followup))
    tracker.update(BotUttered("I can't reach our records right now"))
    assert tracker.followup_action == "action_listen"
    tracker.update(ActionExecuted("action_listen"))


def test_while_down_rasa_never_gets_a_fresh_conversation(cluster: PrivateCluster, database: str) -> None:
    store = _store(database)
    asyncio.run(store.save(_begun("conv-1")))
    fail_safe = FailSafeTrackerStore(store)  # as Rasa's Agent wraps every tracker store
    cluster.stop()
    try:
        tracker = asyncio.run(fail_safe.get_or_create_tracker("conv-1", append_action_listen=False))
        assert isinstance(tracker, RecordsUnavailableTracker)
        assert tracker.applied_events(), "an empty tracker makes Rasa start a session: the introduction"
        assert tracker.get_slot("clinic_phone")
        tracker.update(UserUttered("6 weeks ago", intent={"name": "inform", "confidence": 1.0}))
        assert tracker.followup_action == RECORDS_UNAVAILABLE
        # a red flag goes to the usual rules: the urgent instruction
        flagged = asyncio.run(fail_safe.retrieve("conv-2"))
        assert isinstance(flagged, RecordsUnavailableTracker)
        flagged.update(UserUttered("fever of 102", intent={"name": "report_red_flag", "confidence": 1.0}))
        assert flagged.followup_action is None
        # a way back to the questions after the safety question is the honest answer too
        flagged.update(SlotSet("emergency_reported", True))
        flagged.update(ActionExecuted("action_resolve_red_flag_check"))
        flagged.update(FollowupAction("intake_form"))
        assert flagged.followup_action == "utter_after_emergency"
    finally:
        _restart(cluster)
        store.engine.dispose()


def test_a_turn_whose_save_fails_is_written_back_as_it_was(cluster: PrivateCluster, database: str) -> None:
    store = _store(database)
    asyncio.run(store.save(_begun("conv-1")))
    tracker = asyncio.run(store.retrieve("conv-1"))
    assert tracker is not None and not isinstance(tracker, RecordsUnavailableTracker)
    tracker.update(UserUttered("6 weeks ago", intent={"name": "inform", "confidence": 1.0}))
    tracker.update(SlotSet("weeks_since_surgery", 6.0))
    tracker.update(BotUttered("How has your pain behaved?"))
    tracker.update(ActionExecuted("action_listen"))
    cluster.stop()
    try:
        asyncio.run(store.save(tracker))  # Rasa saves at the end of the turn: the database is gone
        assert [entry.kind for entry in store.outbox.entries()] == ["tracker_events"]
    finally:
        _restart(cluster)
    again = asyncio.run(store.retrieve("conv-1"))
    assert again is not None and not isinstance(again, RecordsUnavailableTracker)
    assert [e.as_dict() for e in again.events] == [e.as_dict() for e in tracker.events]
    assert again.get_slot("weeks_since_surgery") == 6.0
    assert store.outbox.entries() == []
    store.engine.dispose()


def test_turns_answered_while_down_are_added_as_transcript_and_the_facts_stay(
    cluster: PrivateCluster, database: str
) -> None:
    store = _store(database)
    asyncio.run(store.save(_begun("conv-1")))
    cluster.stop()
    try:
        first = asyncio.run(store.retrieve("conv-1"))
        assert isinstance(first, RecordsUnavailableTracker)
        _turn_while_down(first, "6 weeks ago", "inform")
        asyncio.run(store.save(first))
        second = asyncio.run(store.retrieve("conv-1"))  # the same stretch goes on
        assert isinstance(second, RecordsUnavailableTracker)
        assert [e.text for e in second.events if isinstance(e, UserUttered)] == ["6 weeks ago"]
        _turn_while_down(second, "hello?", "greet")
        asyncio.run(store.save(second))
    finally:
        _restart(cluster)
    back = asyncio.run(store.retrieve("conv-1"))
    assert back is not None and not isinstance(back, RecordsUnavailableTracker)
    assert back.get_slot("surgery_type") == "decompression"
    assert back.latest_action_name == "action_listen"
    assert [e.text for e in back.events if isinstance(e, UserUttered)] == [
        "I had a microdiscectomy",
        "6 weeks ago",
        "hello?",
    ]
    assert sum(isinstance(e, SessionStarted) for e in back.events) == 1
    store.engine.dispose()


def test_a_stuck_database_holds_up_no_other_conversation(silent_server: int, tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/clinic"
    built: list[ClinicTrackerStore] = []
    maker = threading.Thread(target=lambda: built.append(_store(url)), daemon=True)
    maker.start()
    maker.join(20)
    assert built, "the tracker store waited for the database without a timeout"
    store = built[0]

    async def turn_and_ticks() -> tuple[DialogueStateTracker | None, int, float]:
        ticks = 0
        task = asyncio.ensure_future(store.retrieve("conv-1"))
        started = time.monotonic()
        while not task.done():
            await asyncio.sleep(0.05)
            ticks += 1
        return task.result(), ticks, time.monotonic() - started

    tracker, ticks, took = asyncio.run(turn_and_ticks())
    assert isinstance(tracker, RecordsUnavailableTracker)
    assert took < 10
    assert ticks >= took / 0.05 * 0.5, "the event loop was blocked while the database call waited"
    started = time.monotonic()
    assert isinstance(asyncio.run(store.retrieve("conv-2")), RecordsUnavailableTracker)
    assert time.monotonic() - started < 1, "after a failure the database is left alone for a moment"
    store.engine.dispose()


def _run(action: Action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, ACTIONS_DOMAIN))
    return dispatcher.messages, events


def test_the_urgent_instruction_does_not_wait_for_a_stuck_database(
    silent_server: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{silent_server}/clinic")
    monkeypatch.setenv("CLINIC_OUTBOX", str(tmp_path / "outbox.sqlite3"))
    reset_store()
    reset_outboxes()
    try:
        answered: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []
        tracker = make_tracker("I have a fever of 102 and chills", intent="report_red_flag")
        started = time.monotonic()
        worker = threading.Thread(target=lambda: answered.append(_run(ActionHandleRedFlag(), tracker)), daemon=True)
        worker.start()
        worker.join(20)
        took = time.monotonic() - started
        assert answered, "the urgent instruction waited for the database"
        messages, _ = answered[0]
        assert any(m.get("custom", {}).get("type") == "emergency" for m in messages)
        assert took < 3
        (entry,) = get_outbox().entries()
        assert (entry.kind, entry.payload["codes"]) == ("red_flag", ["infection"])
    finally:
        reset_outboxes()
        reset_store()


def test_red_flags_and_requests_made_while_down_reach_the_staff_queues_when_it_is_back(
    cluster: PrivateCluster, database: str
) -> None:
    facts = {"surgery_type": "decompression", "weeks_since_surgery": 6.0, "findings": ["too_early_to_judge"]}
    contact = {"patient_name": "Maria Lopez", "phone": "+14155552671", "clinic_phone": "(555) 010-0123"}
    booking = {**facts, **contact, "consent_to_schedule": True, "preferred_time": "weekday mornings"}
    cluster.stop()
    try:
        calf = make_tracker("my calf is swollen and painful", intent="report_red_flag")
        flagged, _ = _run(ActionHandleRedFlag(), calf)
        booked, booked_events = _run(ActionSubmitBooking(), make_tracker("mornings", booking, form="booking_form"))
        person = make_tracker("415-555-2671", {**facts, **contact}, form="callback_form")
        called, _ = _run(ActionSubmitCallback(), person)
    finally:
        _restart(cluster)
    assert any(m.get("custom", {}).get("red_flags") == ["blood_clot"] for m in flagged)
    (booked_text,) = [m["text"] for m in booked if m.get("text")]
    request_id = next(e["value"] for e in booked_events if e.get("name") == "booking_request_id")
    assert request_id in booked_text and "as soon as the system is back" in booked_text
    assert any(m.get("custom", {}).get("request_id") == request_id for m in booked)
    (called_text,) = [m["text"] for m in called if m.get("text")]
    assert "call-back request" in called_text and "(555) 010-0123" in called_text

    flags = _eventually(lambda: _rows(database, RedFlagEvent))
    assert [(row.conversation_id, row.red_flags) for row in flags] == [("conv-x", ["blood_clot"])]
    def both_requests() -> list[Any]:
        rows = _rows(database, AppointmentRequest)
        return rows if len(rows) == 2 else []

    requests = _eventually(both_requests)
    assert requests, "the kept requests never reached the queue"
    assert {row.kind for row in requests} == {"consultation", "callback"}
    assert request_id in {row.public_id for row in requests}
    assert get_outbox().entries() == []


def test_the_kept_request_texts_fit_two_sms_segments() -> None:
    long_phone = "(415) 555-0100 ext. 1234"
    for callback in (False, True):
        assert segments(request_kept_text("CR-7K2M9QXA", long_phone, callback=callback)) <= 2
