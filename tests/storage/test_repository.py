"""Appointment requests, red-flag events and status changes, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage import repository
from bot.storage.db import init_db
from bot.storage.models import AppointmentRequest, RedFlagEvent, StatusChange
from bot.storage.repository import (
    PUBLIC_ID_ALPHABET,
    change_status,
    get_appointment_by_public_id,
    list_appointment_requests,
    list_red_flag_events,
    normalize_public_id,
    record_red_flags,
    save_appointment_request,
    update_appointment_assessment,
)
from bot.storage.store import ClinicStore

PUBLIC_ID = re.compile(rf"CR-[{PUBLIC_ID_ALPHABET}]{{8}}")
SQL_INJECTION = "'; DROP TABLE clinic_appointment_requests; --"


def _request(session: Session, **overrides: Any) -> AppointmentRequest:
    values: dict[str, Any] = {
        "conversation_id": "conv-1",
        "channel": "rest",
        "patient_name": "Ana García",
        "phone": "+14155552671",
        "preferred_time": "next Tuesday morning",
        "preferred_date": date(2026, 3, 10),
        "findings": ["recurrent_disc_herniation", "nerve_recovery_ongoing"],
        "facts": {"surgery_type": "decompression", "weeks_since_surgery": 10.0},
    }
    values.update(overrides)
    return save_appointment_request(session, **values)


def _count(store: ClinicStore, model: type[Any]) -> int:
    with store.transaction() as session:
        total: int = session.execute(
            select(func.count()).select_from(model)
        ).scalar_one()
        return total


def test_tables_are_ours_only_and_creation_is_repeatable(store: ClinicStore) -> None:
    init_db(store.engine)
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "clinic_appointment_requests",
        "clinic_red_flag_events",
        "clinic_status_changes",
    } <= tables
    assert "events" not in tables
    assert all(name.startswith("clinic_") for name in tables)


def test_saved_request_reads_back_whole(store: ClinicStore) -> None:
    with store.transaction() as session:
        saved = _request(
            session, facts={"symptoms": ["leg_pain"], "pain_return_weeks": None}
        )
        public_id = saved.public_id
    assert PUBLIC_ID.fullmatch(public_id)

    with store.transaction() as session:
        found = get_appointment_by_public_id(session, public_id)
        assert found is not None
        assert found.conversation_id == "conv-1"
        assert found.channel == "rest"
        assert found.patient_name == "Ana García"
        assert found.phone == "+14155552671"
        assert found.preferred_time == "next Tuesday morning"
        assert found.preferred_date == date(2026, 3, 10)
        assert found.findings == ["recurrent_disc_herniation", "nerve_recovery_ongoing"]
        assert found.facts == {"symptoms": ["leg_pain"], "pain_return_weeks": None}
        assert found.status == "new"


def test_timestamps_are_aware_utc(store: ClinicStore) -> None:
    before = datetime.now(timezone.utc)
    with store.transaction() as session:
        public_id = _request(session).public_id
    with store.transaction() as session:
        found = get_appointment_by_public_id(session, public_id)
        assert found is not None
        for stamp in (found.created_at, found.updated_at):
            assert stamp.tzinfo is not None
            assert stamp.utcoffset() == timedelta(0)
            assert before - timedelta(seconds=5) <= stamp <= datetime.now(timezone.utc)


def test_naive_timestamp_is_refused(store: ClinicStore) -> None:
    with (
        pytest.raises(Exception, match="naive datetime"),
        store.transaction() as session,
    ):
        request = _request(session)
        request.created_at = datetime(2026, 1, 1, 12, 0)
        session.flush()


def test_other_zone_is_stored_as_the_same_instant_in_utc(store: ClinicStore) -> None:
    eastern = timezone(timedelta(hours=-5))
    with store.transaction() as session:
        request = _request(session)
        request.created_at = datetime(2026, 1, 1, 7, 0, tzinfo=eastern)
        public_id = request.public_id
    with store.transaction() as session:
        found = get_appointment_by_public_id(session, public_id)
        assert found is not None
        assert found.created_at == datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
        assert found.created_at.utcoffset() == timedelta(0)


def test_public_ids_are_unique_and_unambiguous(store: ClinicStore) -> None:
    with store.transaction() as session:
        ids = [_request(session, conversation_id=f"c{i}").public_id for i in range(40)]
    assert len(set(ids)) == 40
    for public_id in ids:
        assert PUBLIC_ID.fullmatch(public_id)
        assert not set(public_id[3:]) & set("01OILU")


def test_public_id_collision_is_retried(
    store: ClinicStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.transaction() as session:
        taken = _request(session).public_id
    fresh = "CR-ABCDEFGH"
    proposals: Iterator[str] = iter([taken, taken, fresh])
    monkeypatch.setattr(repository, "new_public_id", lambda: next(proposals))

    with store.transaction() as session:
        other = _request(session, conversation_id="conv-2")
        assert other.public_id == fresh

    assert _count(store, AppointmentRequest) == 2


def test_endless_collisions_raise_and_leave_earlier_work_intact(
    store: ClinicStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.transaction() as session:
        taken = _request(session).public_id
    monkeypatch.setattr(repository, "new_public_id", lambda: taken)

    with store.transaction() as session:
        record_red_flags(session, "conv-2", "rest", ["cauda_equina"])
        with pytest.raises(IntegrityError):
            _request(session, conversation_id="conv-2")
        # the failed attempts were rolled back to their savepoints; the transaction lives on
    assert _count(store, AppointmentRequest) == 1
    assert _count(store, RedFlagEvent) == 1


def test_lookup_by_public_id_is_forgiving_in_form_strict_in_content(
    store: ClinicStore,
) -> None:
    with store.transaction() as session:
        public_id = _request(session).public_id
    body = public_id[3:]
    with store.transaction() as session:
        for typed in (
            public_id,
            public_id.lower(),
            f" cr {body[:4]} {body[4:]} ",
            body,
        ):
            found = get_appointment_by_public_id(session, typed)
            assert found is not None and found.public_id == public_id
        for typed in (
            "CR-22222222",
            "",
            "CR-",
            SQL_INJECTION,
            "CR-" + body[:-1],
            "x" * 5000,
        ):
            assert get_appointment_by_public_id(session, typed) is None


def test_normalize_public_id() -> None:
    assert normalize_public_id("cr-7k2m-9qxa") == "CR-7K2M9QXA"
    assert normalize_public_id("7K2M9QXA") == "CR-7K2M9QXA"
    assert normalize_public_id("CR-7K2M9QX0") is None  # 0 is never issued
    assert normalize_public_id("CR-7K2M9QX") is None


def test_hostile_text_is_stored_verbatim(store: ClinicStore) -> None:
    name = "Robert'); DROP TABLE clinic_appointment_requests;--"
    when = SQL_INJECTION + " <script>alert('x')</script> 😀 明天上午 \\ % _ \""
    with store.transaction() as session:
        public_id = _request(
            session,
            patient_name=name,
            preferred_time=when,
            conversation_id=SQL_INJECTION,
        ).public_id
    with store.transaction() as session:
        found = get_appointment_by_public_id(session, public_id)
        assert found is not None
        assert found.patient_name == name
        assert found.preferred_time == when
        assert found.conversation_id == SQL_INJECTION
        assert list_appointment_requests(session, conversation_id=SQL_INJECTION) == [
            found
        ]
        assert list_appointment_requests(session, status=SQL_INJECTION) == []
    assert _count(store, AppointmentRequest) == 1


def test_other_scripts_and_emoji_round_trip(store: ClinicStore) -> None:
    names = [
        "李雷",
        "Ольга Петрова",
        "محمد علي",
        "प्रिया शर्मा",
        "José O'Neil-Smith",
        "👩‍⚕️ Dr. Emoji",
    ]
    with store.transaction() as session:
        ids = {
            _request(session, patient_name=n, facts={"note": n}).public_id: n
            for n in names
        }
    with store.transaction() as session:
        for public_id, name in ids.items():
            found = get_appointment_by_public_id(session, public_id)
            assert found is not None
            assert found.patient_name == name
            assert found.facts == {"note": name}


def test_lengths_are_capped(store: ClinicStore) -> None:
    with store.transaction() as session:
        public_id = _request(
            session,
            patient_name="N" * 500,
            preferred_time="T" * 5000,
            channel="c" * 100,
        ).public_id
    with store.transaction() as session:
        found = get_appointment_by_public_id(session, public_id)
        assert found is not None
        assert found.patient_name == "N" * 120
        assert found.preferred_time == "T" * 200
        assert found.channel == "c" * 32


def test_unstorable_characters_are_removed(store: ClinicStore) -> None:
    with store.transaction() as session:
        public_id = _request(
            session, patient_name="Ana\x00 Lee", preferred_time="Monday \ud800 morning"
        ).public_id
    with store.transaction() as session:
        found = get_appointment_by_public_id(session, public_id)
        assert found is not None
        assert found.patient_name == "Ana Lee"
        assert found.preferred_time == "Monday \ufffd morning"


@pytest.mark.parametrize(
    "overrides",
    [
        {"phone": "415-555-2671"},
        {"phone": ""},
        {"phone": "+1415555267100000"},
        {"phone": SQL_INJECTION},
        {"patient_name": "   "},
        {"conversation_id": ""},
        {"channel": ""},
    ],
)
def test_invalid_requests_are_refused(
    store: ClinicStore, overrides: dict[str, Any]
) -> None:
    with store.transaction() as session, pytest.raises(ValueError, match="must"):
        _request(session, **overrides)
    assert _count(store, AppointmentRequest) == 0


def test_failed_transaction_saves_nothing(store: ClinicStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as session:
        _request(session)
        raise RuntimeError("the action failed after saving")
    assert _count(store, AppointmentRequest) == 0


def test_listing_is_newest_first_and_filters(store: ClinicStore) -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    with store.transaction() as session:
        for i in range(5):
            request = _request(session, conversation_id=f"c{i}")
            request.created_at = start + timedelta(hours=i)
        session.flush()
        change_status(session, "appointment", request.id, "contacted", "nurse.kim")

    with store.transaction() as session:
        listed = list_appointment_requests(session)
        assert [r.conversation_id for r in listed] == ["c4", "c3", "c2", "c1", "c0"]
        assert [
            r.conversation_id for r in list_appointment_requests(session, limit=2)
        ] == [
            "c4",
            "c3",
        ]
        page = list_appointment_requests(session, limit=2, offset=2)
        assert [r.conversation_id for r in page] == ["c2", "c1"]
        assert [
            r.conversation_id for r in list_appointment_requests(session, status="new")
        ] == [
            "c3",
            "c2",
            "c1",
            "c0",
        ]
        contacted = list_appointment_requests(session, status="contacted")
        assert [r.conversation_id for r in contacted] == ["c4"]
        one = list_appointment_requests(session, conversation_id="c1")
        assert [r.conversation_id for r in one] == ["c1"]


def test_red_flags_one_row_per_detection(store: ClinicStore) -> None:
    with store.transaction() as session:
        first = record_red_flags(
            session, "conv-9", "twilio", ["cauda_equina", "cauda_equina"]
        )
        first.created_at = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
        record_red_flags(session, "conv-9", "twilio", ("infection", "cauda_equina"))
        record_red_flags(session, "conv-10", "socketio", ["infection"])

    with store.transaction() as session:
        events = list_red_flag_events(session, conversation_id="conv-9")
        assert [e.red_flags for e in events] == [
            ["infection", "cauda_equina"],
            ["cauda_equina"],
        ]
        assert all(e.status == "new" and e.channel == "twilio" for e in events)
        assert all(e.created_at.utcoffset() == timedelta(0) for e in events)
        assert len(list_red_flag_events(session)) == 3
        assert len(list_red_flag_events(session, status="new", limit=1)) == 1
        assert list_red_flag_events(session, status="closed") == []


def test_red_flags_need_a_code(store: ClinicStore) -> None:
    with (
        store.transaction() as session,
        pytest.raises(ValueError, match="at least one code"),
    ):
        record_red_flags(session, "conv-9", "rest", [])


def test_status_changes_are_logged(store: ClinicStore) -> None:
    with store.transaction() as session:
        request = _request(session)
        created = request.updated_at
        event = record_red_flags(session, "conv-1", "rest", ["cauda_equina"])
        first = change_status(
            session, "appointment", request.id, "contacted", "nurse.kim"
        )
        assert (
            change_status(session, "appointment", request.id, "contacted", "nurse.kim")
            is None
        )
        change_status(session, "appointment", request.id, "booked", "dr.lee")
        change_status(session, "red_flag", event.id, "closed", "dr.lee")
        assert first is not None and first.old_status == "new"
        request_id, event_id = request.id, event.id

    with store.transaction() as session:
        changes = (
            session.execute(select(StatusChange).order_by(StatusChange.id))
            .scalars()
            .all()
        )
        assert [
            (c.kind, c.record_id, c.old_status, c.new_status, c.changed_by)
            for c in changes
        ] == [
            ("appointment", request_id, "new", "contacted", "nurse.kim"),
            ("appointment", request_id, "contacted", "booked", "dr.lee"),
            ("red_flag", event_id, "new", "closed", "dr.lee"),
        ]
        assert all(c.changed_at.utcoffset() == timedelta(0) for c in changes)
        stored = session.get(AppointmentRequest, request_id)
        assert stored is not None and stored.status == "booked"
        assert stored.updated_at >= created


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [
        ("appointment", "done", ValueError),
        ("red_flag", "booked", ValueError),
        ("patient", "closed", ValueError),
        ("appointment", "closed", LookupError),
    ],
)
def test_bad_status_changes_are_refused(
    store: ClinicStore, kind: Any, status: str, error: type[Exception]
) -> None:
    with store.transaction() as session:
        record_id = _request(session).id if error is ValueError else 999_999
        with pytest.raises(error):
            change_status(session, kind, record_id, status, "nurse.kim")


def test_database_refuses_unknown_status(store: ClinicStore) -> None:
    with pytest.raises(IntegrityError), store.transaction() as session:
        _request(session).status = "lost"
        session.flush()


def test_bound_parameters_leave_tables_alone(store: ClinicStore) -> None:
    with store.transaction() as session:
        _request(session, patient_name=SQL_INJECTION, preferred_time=SQL_INJECTION)
    with store.transaction() as session:
        assert (
            session.execute(
                text("SELECT count(*) FROM clinic_appointment_requests")
            ).scalar()
            == 1
        )


def test_concurrent_saves(store: ClinicStore) -> None:
    def worker(n: int) -> list[str]:
        ids = []
        for i in range(5):
            with store.transaction() as session:
                ids.append(_request(session, conversation_id=f"t{n}-{i}").public_id)
        return ids

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [pool.submit(worker, n) for n in range(4)]
        ids = [public_id for result in results for public_id in result.result()]
    assert len(set(ids)) == 20
    assert _count(store, AppointmentRequest) == 20


def test_assessment_of_a_saved_request_can_be_replaced(store: ClinicStore) -> None:
    with store.transaction() as session:
        request = _request(session)
        public_id, saved_at = request.public_id, request.updated_at
    with store.transaction() as session:
        updated = update_appointment_assessment(
            session,
            public_id.lower(),
            findings=["adjacent_segment_disease"],
            facts={"weeks_since_surgery": 52.0},
        )
        assert updated is not None
        assert (
            update_appointment_assessment(
                session,
                public_id,
                findings=[],
                facts={},
                conversation_id="someone-else",
            )
            is None
        )
        assert (
            update_appointment_assessment(session, "CR-22222222", findings=[], facts={})
            is None
        )
    with store.transaction() as session:
        found = get_appointment_by_public_id(session, public_id)
        assert found is not None
        assert found.findings == ["adjacent_segment_disease"]
        assert found.facts == {"weeks_since_surgery": 52.0}
        assert found.patient_name == "Ana García"
        assert found.updated_at >= saved_at
