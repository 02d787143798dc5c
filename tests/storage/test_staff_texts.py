"""Staff texts to patients in clinic_staff_texts, on SQLite and PostgreSQL, and their deletion."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, Table, inspect, select
from sqlalchemy.exc import IntegrityError

from bot.storage import staff_repository as repo
from bot.storage.db import init_db, make_engine
from bot.storage.models import RedFlagEvent
from bot.storage.retention import conversations_of_phone, delete_conversations, purge_older_than
from bot.storage.staff_models import StaffText, init_staff_tables
from bot.storage.store import ClinicStore
from tests.web.staff_support import assessed_conversation, write_conversation

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def _text(store: ClinicStore, conversation_id: str, at: datetime, status: str = "sent") -> int:
    with store.transaction() as session:
        row = repo.record_staff_text(
            session,
            conversation_id=conversation_id,
            staff_username="nurse",
            body=f"Hello from the clinic at {at:%H:%M}",
            sent_at=at,
            status=status,
            twilio_sid="SM" + "0" * 32 if status == "sent" else None,
            failure="" if status == "sent" else "rejected status=400 code=21211",
        )
        return int(row.id)


def test_the_table_is_created_with_the_clinic_tables(store: ClinicStore) -> None:
    init_db(store.engine)
    assert "clinic_staff_texts" in inspect(store.engine).get_table_names()
    columns = {c["name"] for c in inspect(store.engine).get_columns("clinic_staff_texts")}
    assert {"conversation_id", "staff_username", "body", "sent_at", "status", "twilio_sid", "failure"} <= columns


def test_texts_are_recorded_and_listed_oldest_first(store: ClinicStore) -> None:
    later = _text(store, "conv-1", NOW + timedelta(minutes=5), "failed")
    first = _text(store, "conv-1", NOW)
    _text(store, "conv-2", NOW)
    with store.transaction() as session:
        texts = repo.list_staff_texts(session, "conv-1")
    assert [t.id for t in texts] == [first, later]
    assert texts[0].sent_at == NOW and texts[0].status == "sent" and texts[0].twilio_sid == "SM" + "0" * 32
    assert texts[1].status == "failed" and texts[1].twilio_sid is None
    assert texts[1].failure == "rejected status=400 code=21211"
    assert "Hello" not in repr(texts[0])


@pytest.mark.parametrize(
    ("status", "body", "conversation_id"), [("queued", "Hi", "c"), ("sent", "", "c"), ("sent", "Hi", "")]
)
def test_bad_texts_are_refused(store: ClinicStore, status: str, body: str, conversation_id: str) -> None:
    with store.transaction() as session, pytest.raises(ValueError):
        repo.record_staff_text(
            session, conversation_id=conversation_id, staff_username="nurse", body=body, sent_at=NOW, status=status
        )


def test_forgetting_a_patient_deletes_the_staff_texts(store: ClinicStore, db_url: str) -> None:
    start = (datetime.now(timezone.utc) - timedelta(days=3)).timestamp()
    write_conversation(
        db_url, "sms-1", assessed_conversation(start, channel="twilio", metadata={"phone": "+13125550188"})
    )
    _text(store, "sms-1", NOW)
    _text(store, "other", NOW)
    with store.transaction() as session:
        deleted = delete_conversations(session, conversations_of_phone(session, "(312) 555-0188"))
    assert deleted.staff_texts == 1 and "staff_texts=1" in deleted.describe()
    with store.transaction() as session:
        assert repo.list_staff_texts(session, "sms-1") == []
        assert len(repo.list_staff_texts(session, "other")) == 1


def test_a_recent_staff_text_keeps_a_conversation_from_the_purge(store: ClinicStore) -> None:
    _text(store, "texted-lately", NOW - timedelta(days=2))
    _text(store, "texted-long-ago", NOW - timedelta(days=200))
    with store.transaction() as session:
        deleted = purge_older_than(session, NOW - timedelta(days=30))
    assert deleted.staff_texts == 1
    with store.transaction() as session:
        assert len(repo.list_staff_texts(session, "texted-lately")) == 1
        assert repo.list_staff_texts(session, "texted-long-ago") == []


def test_the_database_refuses_a_second_text_with_the_same_key(store: ClinicStore) -> None:
    def add(key: str | None) -> None:
        with store.transaction() as session:
            repo.record_staff_text(
                session, conversation_id="conv-1", staff_username="nurse", body="Hi", sent_at=NOW,
                status="sent", idempotency_key=key,
            )  # fmt: skip

    add("k" * 32)
    with pytest.raises(IntegrityError):
        add("k" * 32)
    add(None)  # texts from before keys existed are not limited
    add(None)
    with store.transaction() as session:
        assert [t.idempotency_key for t in repo.list_staff_texts(session, "conv-1")] == ["k" * 32, None, None]
        assert repo.get_staff_text_by_key(session, "k" * 32) is not None
        assert repo.get_staff_text_by_key(session, "x" * 32) is None


def test_an_older_database_gets_the_new_columns_and_the_unique_key(db_url: str) -> None:
    """Tables made by the previous release: ``notified_at`` and ``idempotency_key`` are added."""
    old = MetaData()
    for table, dropped in ((StaffText.__table__, "idempotency_key"), (RedFlagEvent.__table__, "notified_at")):
        columns = [
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in table.columns
            if c.name != dropped
        ]
        Table(table.name, old, *columns)
    engine = make_engine(db_url)
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            RedFlagEvent.__table__.insert().values(
                conversation_id="c", channel="rest", red_flags=["infection"], kind="emergency", status="new",
                created_at=NOW,
            )
        )  # fmt: skip
    engine.dispose()

    store = ClinicStore(db_url)
    init_staff_tables(store.engine)
    inspector = inspect(store.engine)
    assert "notified_at" in {c["name"] for c in inspector.get_columns("clinic_red_flag_events")}
    assert "idempotency_key" in {c["name"] for c in inspector.get_columns("clinic_staff_texts")}
    unique = [i for i in inspector.get_indexes("clinic_staff_texts") if i["column_names"] == ["idempotency_key"]]
    assert unique and unique[0]["unique"]
    with store.transaction() as session:
        (event,) = session.execute(select(RedFlagEvent)).scalars()
        assert event.notified_at is None  # an old red flag is still to be told (if recent and open)
    test_the_database_refuses_a_second_text_with_the_same_key(store)
    store.dispose()
