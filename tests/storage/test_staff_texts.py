"""Staff texts to patients in clinic_staff_texts, on SQLite and PostgreSQL, and their deletion."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect

from bot.storage import staff_repository as repo
from bot.storage.db import init_db
from bot.storage.retention import conversations_of_phone, delete_conversations, purge_older_than
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
