"""The outbox: kept on disk first, delivered in order, once, with the patient's number and time."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage import outbox
from bot.storage.conversations import EVENTS
from bot.storage.models import AppointmentRequest, RedFlagEvent
from bot.storage.outbox import Delivery, Outbox, Record
from bot.storage.store import ClinicStore
from bot.storage.tracker_store import ClinicTrackerStore

PHONE = "+14155552671"


def _request(conversation: str = "conv-1", kind: str = "consultation") -> Record:
    return outbox.request_record(
        conversation_id=conversation,
        channel="rest",
        patient_name="Maria Lopez",
        phone=PHONE,
        preferred_time="weekday mornings",
        findings=["too_early_to_judge"],
        facts={"surgery_type": "decompression", "weeks_since_surgery": 6.0},
        kind=kind,
    )


def _dated(record: Record, minutes_ago: int) -> Record:
    moment = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return Record(record.kind, record.key, {**record.payload, "created_at": moment.isoformat()})


@pytest.fixture
def box(tmp_path: Path, db_url: str) -> Iterator[Outbox]:
    ClinicStore(db_url).dispose()  # the tables
    created = Outbox(tmp_path / "outbox.sqlite3", db_url, retry_every=60)
    yield created
    created.close()


def _rows(url: str, model: type) -> list:
    store = ClinicStore(url)
    try:
        with store.transaction() as session:
            return list(session.execute(select(model)).scalars().all())
    finally:
        store.dispose()


def test_entries_are_kept_on_disk_for_the_next_process_and_only_its_owner_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "var" / "outbox.sqlite3"
    first = Outbox(path, "sqlite:///unused.sqlite3")
    assert not path.exists() and first.entries() == []  # nothing is created before the first entry
    entry_id = first.add(outbox.red_flag_record("conv-1", "rest", ["infection"]))
    second = Outbox(path, "sqlite:///unused.sqlite3")
    (entry,) = second.entries()
    assert (entry.id, entry.kind, entry.key) == (entry_id, "red_flag", "red_flag:conv-1")
    assert entry.payload["codes"] == ["infection"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_each_database_has_its_own_outbox(tmp_path: Path) -> None:
    sqlite = outbox.outbox_path_for(f"sqlite:///{tmp_path / 'clinic.sqlite3'}", environ={})
    assert sqlite == tmp_path / "clinic.outbox.sqlite3"
    one = outbox.outbox_path_for("postgresql://u:secret@db:5432/clinic", environ={})
    assert one == outbox.outbox_path_for("postgresql://u:changed@db:5432/clinic", environ={})
    assert one != outbox.outbox_path_for("postgresql://u:secret@db:5432/other", environ={})
    assert one.parent.name == "var"
    assert outbox.outbox_path_for("postgresql://db/x", environ={"CLINIC_OUTBOX": "/srv/o.sqlite3"}) == Path(
        "/srv/o.sqlite3"
    )


def test_requests_and_red_flags_arrive_with_their_number_and_time_and_only_once(box: Outbox, db_url: str) -> None:
    request = _dated(_request(), minutes_ago=30)
    flag = _dated(outbox.red_flag_record("conv-1", "twilio", ["infection", "infection"], kind="review"), 20)
    for record in (request, flag, request, flag):  # delivered twice: e.g. a crash before the entry was removed
        box.add(record)
    assert box.flush() is True
    assert box.entries() == []
    (saved,) = _rows(db_url, AppointmentRequest)
    assert saved.public_id == request.payload["public_id"]
    assert saved.created_at == datetime.fromisoformat(request.payload["created_at"])
    assert (saved.conversation_id, saved.phone, saved.kind, saved.status) == ("conv-1", PHONE, "consultation", "new")
    assert saved.facts == {"surgery_type": "decompression", "weeks_since_surgery": 6.0}
    (event,) = _rows(db_url, RedFlagEvent)
    assert (event.red_flags, event.kind, event.channel) == (["infection"], "review", "twilio")
    assert event.created_at == datetime.fromisoformat(flag.payload["created_at"])


def test_an_update_follows_its_request(box: Outbox, db_url: str) -> None:
    request = _request()
    public_id = request.payload["public_id"]
    box.add(request)
    box.add(outbox.request_update_record(public_id, "conv-1", ["post_surgical_swelling"], {"surgery_type": "fusion"}))
    assert box.flush([f"request:{public_id}"]) is True
    (saved,) = _rows(db_url, AppointmentRequest)
    assert (saved.findings, saved.facts) == (["post_surgical_swelling"], {"surgery_type": "fusion"})


def test_a_request_the_repository_would_refuse_is_refused_before_it_is_kept() -> None:
    with pytest.raises(ValueError):
        outbox.request_record(
            conversation_id="c", channel="rest", patient_name="M", phone="415-555-2671", preferred_time="x"
        )
    with pytest.raises(ValueError):
        outbox.red_flag_record("c", "rest", [])


def test_an_entry_the_database_refuses_is_set_aside_and_does_not_hold_up_the_others(box: Outbox, db_url: str) -> None:
    bad = Record(outbox.RED_FLAG, "red_flag:conv-9", {**outbox.red_flag_record("conv-9", "rest", ["x"]).payload})
    bad.payload["codes"] = []  # record_red_flags refuses an event without codes
    box.add(bad)
    box.add(_request("conv-2"))
    assert box.flush() is True  # nothing left to retry
    (kept,) = box.entries(include_failed=True)
    assert kept.failed and kept.last_error == "ValueError"
    assert [row.conversation_id for row in _rows(db_url, AppointmentRequest)] == ["conv-2"]


def test_while_the_database_is_unreachable_entries_wait_and_the_caller_does_not(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3", "postgresql://postgres@127.0.0.1:1/clinic", retry_every=60)
    try:
        started = time.monotonic()
        assert box.deliver(_request(), wait=2) is Delivery.QUEUED
        assert box.deliver(outbox.red_flag_record("conv-1", "rest", ["blood_clot"]), wait=2) is Delivery.QUEUED
        assert time.monotonic() - started < 4
        assert [entry.kind for entry in box.entries()] == ["request", "red_flag"]
        assert box.flush() is False
        assert [(entry.attempts, entry.last_error) for entry in box.entries()] == [(1, "OperationalError"), (0, None)]
    finally:
        box.close()


def test_nothing_kept_and_nothing_saved_is_reported_as_lost(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    box = Outbox(tmp_path / "file" / "outbox.sqlite3", "postgresql://postgres@127.0.0.1:1/clinic")
    try:
        assert box.deliver(_request(), wait=2) is Delivery.LOST
    finally:
        box.close()


def test_a_reachable_database_gets_the_record_at_once_and_nothing_is_kept(box: Outbox, db_url: str) -> None:
    assert box.deliver(_request(), wait=5) is Delivery.SAVED
    assert not box.path.exists()
    assert len(_rows(db_url, AppointmentRequest)) == 1


def test_a_record_the_database_refuses_is_lost_not_kept(box: Outbox) -> None:
    refused = _request()
    refused.payload["channel"] = ""  # the repository refuses an empty channel
    assert box.deliver(refused, wait=5) is Delivery.LOST
    assert box.entries(include_failed=True) == []


def test_a_record_waits_behind_the_kept_ones_of_its_key(box: Outbox, db_url: str) -> None:
    request = _request()
    box.add(request)
    update = outbox.request_update_record(request.payload["public_id"], "conv-1", ["x"], {"surgery_type": "fusion"})
    assert box.deliver(update, wait=5) is Delivery.QUEUED  # not applied before its request exists
    assert box.flush() is True
    (saved,) = _rows(db_url, AppointmentRequest)
    assert saved.facts == {"surgery_type": "fusion"}


def _event(kind: str, at: float, **extra: object) -> dict:
    return {"event": kind, "timestamp": at, **extra}


def _stored(url: str, sender: str) -> list[dict]:
    store = ClinicStore(url)
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(
                select(EVENTS.c.data).where(EVENTS.c.sender_id == sender).order_by(EVENTS.c.id)
            ).scalars()
            return [json.loads(row) for row in rows]
    finally:
        store.dispose()


def test_conversation_events_are_written_as_they_are_when_nobody_wrote_meanwhile(box: Outbox, db_url: str) -> None:
    ClinicTrackerStore(database_url=db_url).engine.dispose()  # Rasa's events table
    now = time.time()
    start = [_event("action", now, name="action_session_start"), _event("session_started", now + 0.001)]
    box.add(outbox.tracker_record("conv-1", start, base=0))
    turn = [
        _event("user", now + 1, text="6 weeks ago", parse_data={"intent": {"name": "inform"}}),
        _event("slot", now + 1.1, name="weeks_since_surgery", value=6.0),
        _event("bot", now + 1.2, text="How has your pain behaved?"),
    ]
    box.add(outbox.tracker_record("conv-1", turn, base=1))  # the session started with one event
    box.add(outbox.tracker_record("conv-1", turn, base=1))  # the same turn again: not written twice
    assert box.flush() is True
    assert [event["event"] for event in _stored(db_url, "conv-1")] == [
        "action",
        "session_started",
        "user",
        "slot",
        "bot",
    ]


def test_turns_that_began_on_another_state_are_kept_as_transcript(box: Outbox, db_url: str) -> None:
    ClinicTrackerStore(database_url=db_url).engine.dispose()
    now = time.time()
    header = [_event("action", now, name="action_session_start"), _event("session_started", now)]
    while_down = [
        _event("user", now + 1, text="hello?", parse_data={"intent": {"name": "greet"}}),
        _event("action", now + 1.1, name="utter_records_unavailable"),
        _event("bot", now + 1.2, text="I can't reach our records right now"),
        _event("slot", now + 1.3, name="emergency_reported", value=True),
        _event("active_loop", now + 1.4, name=None),
    ]
    box.add(outbox.tracker_record("new-conv", while_down, base=None, header=header))
    box.add(outbox.tracker_record("conv-2", header, base=0))
    box.add(outbox.tracker_record("conv-2", while_down, base=5))  # the database holds 2, not 5
    assert box.flush() is True
    transcript = ["user", "bot", "slot"]
    assert [event["event"] for event in _stored(db_url, "new-conv")] == ["action", "session_started", *transcript]
    assert [event["event"] for event in _stored(db_url, "conv-2")] == ["action", "session_started", *transcript]
