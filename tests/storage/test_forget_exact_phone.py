"""``forget --phone`` deletes exactly one number's conversations, never a look-alike's (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select

from bot import cli
from bot.storage import repository
from bot.storage import staff_repository as repo
from bot.storage.conversations import EVENTS
from bot.storage.models import AppointmentRequest, RedFlagEvent
from bot.storage.retention import conversations_of_phone
from bot.storage.staff_models import StaffText, init_staff_tables
from bot.storage.store import ClinicStore
from bot.storage.tracker_store import ClinicTrackerStore
from tests.web.staff_support import DOMAIN, assessed_conversation, write_conversation

START = (datetime.now(timezone.utc) - timedelta(days=3)).timestamp()
# Three patients whose numbers end alike: the same last 10 digits (a US and a Mexican number,
# area code 312 in both countries), and the same last 7 digits.
CHICAGO = "+13125550188"
COLIMA = "+523125550188"
SAN_FRANCISCO = "+14155550188"
GIVEN_ONLY = "+14155550199"  # typed as the number to call in a web chat; no request was saved


PHONE_SLOT = 'version: "3.1"\nslots:\n  phone: {type: any, mappings: [{type: custom}]}'
PHONE_DOMAIN = DOMAIN.merge(Domain.from_yaml(PHONE_SLOT))


def _write_with_phone_slot(url: str, sender: str, events: list[Event]) -> None:
    store = ClinicTrackerStore(database_url=url, domain=PHONE_DOMAIN)
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events, PHONE_DOMAIN.slots)))
    store.engine.dispose()


def _store(url: str) -> ClinicStore:
    store = ClinicStore(url)
    init_staff_tables(store.engine)
    return store


def _seed(url: str) -> None:
    write_conversation(url, "sms-chicago", assessed_conversation(START, channel="twilio", metadata={"phone": CHICAGO}))
    write_conversation(url, "sms-colima", assessed_conversation(START, channel="twilio", metadata={"phone": COLIMA}))
    write_conversation(url, "web-sf", assessed_conversation(START + 60))
    given = [*assessed_conversation(START + 120), SlotSet("phone", GIVEN_ONLY, timestamp=START + 200)]
    _write_with_phone_slot(url, "web-given", given)
    store = _store(url)
    with store.transaction() as session:
        for conversation_id, channel, name, phone in (
            ("sms-chicago", "twilio", "Ana Chicago", CHICAGO),
            ("sms-colima", "twilio", "Ana Colima", COLIMA),
            ("web-sf", "rest", "Sam Francisco", SAN_FRANCISCO),
        ):
            repository.save_appointment_request(
                session, conversation_id=conversation_id, channel=channel, patient_name=name,
                phone=phone, preferred_time="mornings",
            )  # fmt: skip
            repository.record_red_flags(session, conversation_id, channel, ["infection"])
            repo.record_staff_text(
                session, conversation_id=conversation_id, staff_username="nurse", body="Please call us.",
                sent_at=datetime.now(timezone.utc), status="sent", twilio_sid="SM" + "1" * 32,
            )  # fmt: skip
    store.dispose()


def _left(url: str) -> dict[str, tuple[int, int, int, int]]:
    """Per conversation: (tracker events, requests, red-flag events, staff texts)."""
    store = _store(url)
    found: dict[str, tuple[int, int, int, int]] = {}
    with store.transaction() as session:
        for conversation_id in ("sms-chicago", "sms-colima", "web-sf", "web-given"):
            counts = [
                session.execute(select(func.count()).where(column == conversation_id)).scalar_one()
                for column in (
                    EVENTS.c.sender_id,
                    AppointmentRequest.conversation_id,
                    RedFlagEvent.conversation_id,
                    StaffText.conversation_id,
                )
            ]
            found[conversation_id] = (counts[0], counts[1], counts[2], counts[3])
    store.dispose()
    return found


def _forget(url: str, phone: str) -> int:
    return cli.main(["--database-url", url, "forget", "--phone", phone])


def test_forgetting_one_number_leaves_numbers_that_end_alike(db_url: str) -> None:
    _seed(db_url)
    before = _left(db_url)
    assert all(events > 0 for events, *_ in before.values())
    assert _forget(db_url, "(312) 555-0188") == 0
    after = _left(db_url)
    assert after["sms-chicago"] == (0, 0, 0, 0)
    # the Mexican number shares its last 10 digits, the San Francisco one its last 7: both untouched
    assert after["sms-colima"] == before["sms-colima"] and after["sms-colima"][1:] == (1, 1, 1)
    assert after["web-sf"] == before["web-sf"] and after["web-sf"][1:] == (1, 1, 1)
    assert after["web-given"] == before["web-given"]


def test_a_number_with_its_country_code_finds_only_that_patient(db_url: str) -> None:
    _seed(db_url)
    before = _left(db_url)
    assert _forget(db_url, "+52 312 555 0188") == 0
    after = _left(db_url)
    assert after["sms-colima"] == (0, 0, 0, 0)
    assert {key: after[key] for key in ("sms-chicago", "web-sf", "web-given")} == {
        key: before[key] for key in ("sms-chicago", "web-sf", "web-given")
    }


@pytest.mark.parametrize("partial", ["555-0188", "5550188", "0188", "call me"])
def test_a_partial_number_is_refused_and_deletes_nothing(db_url: str, partial: str) -> None:
    _seed(db_url)
    before = _left(db_url)
    assert _forget(db_url, partial) == 1
    assert _left(db_url) == before


def test_a_number_given_only_in_the_chat_is_found(db_url: str) -> None:
    _seed(db_url)
    store = _store(db_url)
    with store.transaction() as session:
        assert conversations_of_phone(session, "415.555.0199") == ["web-given"]
        assert conversations_of_phone(session, "+1 (415) 555-0188") == ["web-sf"]
        assert conversations_of_phone(session, "+14155550100") == []
    store.dispose()
