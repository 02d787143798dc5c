"""The database goes down in the middle of conversations, and comes back.

The real Rasa and action servers run on a private PostgreSQL cluster (tests/storage/pg_cluster.py),
which the tests stop (``pg_ctl stop -m fast``: every connection cut) and start again:

(a) an ordinary turn meanwhile gets the honest "I can't reach our records" answer, not an
    introduction;
(b) a red flag meanwhile gets the urgent instruction, and its event reaches
    ``clinic_red_flag_events`` once the database is back;
(c) a consultation request saved as the database goes down gets its number and reaches
    ``clinic_appointment_requests`` once it is back;
(d) afterwards the conversation carries on with the facts given before the outage.
"""

from __future__ import annotations

import contextlib
import json
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from bot.settings import load_settings
from bot.storage.conversations import EVENTS
from bot.storage.db import make_engine, session_factory
from bot.storage.models import AppointmentRequest, RedFlagEvent
from bot.storage.store import ClinicStore
from bot.storage.tracker_store import REST_SECONDS
from tests.conversations.harness import BotServer, Conversation, Turn, start_servers, trained_model
from tests.storage.pg_cluster import PrivateCluster, private_cluster

pytestmark = pytest.mark.servers

T = TypeVar("T")
HONEST = "I can't reach our records right now"
INTRO = "front-desk assistant"


@dataclass
class Outage:
    cluster: PrivateCluster
    bot: BotServer

    def query(self, read: Callable[[Any], T]) -> T:
        engine = make_engine(self.bot.database_url)
        try:
            with session_factory(engine)() as session:
                return read(session)
        finally:
            engine.dispose()

    def restart(self) -> None:
        """Start the database again and wait out the tracker store's pause after a failure."""
        self.cluster.start()
        self.cluster.wait_until_up()
        time.sleep(REST_SECONDS + 0.5)

    def eventually(self, read: Callable[[Any], T], timeout: float = 30) -> T:
        """``read``'s first truthy answer (the outbox is delivered in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.query(read)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.3)


def _model_has_the_outage_answer(model: Path) -> bool:
    with tarfile.open(model) as archive:
        member = next(m for m in archive.getmembers() if m.name.lstrip("./") == "metadata.json")
        handle = archive.extractfile(member)
        assert handle is not None
        metadata = json.load(handle)
    return "utter_records_unavailable" in metadata["domain"]["responses"]


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    model = trained_model()
    if not _model_has_the_outage_answer(model):
        pytest.fail(f"{model.name} was trained before domain.yml had utter_records_unavailable: retrain (make test)")
    log_dir = tmp_path_factory.mktemp("outage-servers")
    with private_cluster() as cluster:
        url = cluster.create_database("clinic_outage")
        ClinicStore(url).dispose()  # the clinic's tables, so the request test can lock one
        extra = {"CLINIC_OUTBOX": str(log_dir / "outbox.sqlite3"), "CLINIC_OUTBOX_RETRY_SECONDS": "0.5"}
        server = start_servers(url, log_dir, extra_env=extra)
        try:
            yield Outage(cluster, server)
        finally:
            server.stop()


def _honest(turn: Turn) -> None:
    assert HONEST in turn.text, turn.messages
    assert load_settings().clinic_phone in turn.text
    assert INTRO not in turn.text, "an introduction: the conversation started afresh"
    assert not turn.asks and not turn.payloads("assessment") and not turn.payloads("emergency")


def _patient_words(outage: Outage, conversation: Conversation) -> list[str]:
    rows = outage.query(
        lambda session: session.execute(
            select(EVENTS.c.data).where(EVENTS.c.sender_id == conversation.sender, EVENTS.c.type_name == "user")
        ).scalars().all()
    )
    return [json.loads(row).get("text") for row in rows]


def test_an_ordinary_turn_gets_the_honest_answer_and_the_conversation_carries_on_after(outage: Outage) -> None:
    conversation = outage.bot.conversation()
    conversation.say("I had a microdiscectomy")
    conversation.say("6 weeks ago")
    assert conversation.say("it's worse than before the operation").asks == ["symptoms"]

    outage.cluster.stop()
    try:
        during = conversation.say("burning down my leg and some tingling")
        again = conversation.say("hello?")
    finally:
        outage.restart()
    _honest(during)
    _honest(again)

    after = conversation.say("burning down my leg and some tingling")
    facts = after.payload("assessment")["facts"]
    assert facts["surgery_type"] == "decompression"
    assert facts["weeks_since_surgery"] == 6.0
    assert facts["pain_course"] == "worse_since_surgery"
    assert {"leg_pain", "burning", "tingling"} <= set(facts["symptoms"])
    assert INTRO not in after.text
    # what the patient wrote meanwhile is in the transcript staff read
    assert _patient_words(outage, conversation).count("burning down my leg and some tingling") == 2
    assert "hello?" in _patient_words(outage, conversation)


def test_a_red_flag_gets_the_urgent_instruction_and_reaches_staff_when_the_database_is_back(outage: Outage) -> None:
    known = outage.bot.conversation()
    known.say("hi")
    known.say("a fusion")
    new = outage.bot.conversation()

    outage.cluster.stop()
    try:
        turns = [
            known.say("I had a fusion in March and now I have a fever of 102"),
            new.say("I had back surgery and now I'm numb in my groin and can't hold my bladder"),
        ]
        after_flag = known.say("I want to book an appointment")
    finally:
        outage.restart()
    for turn, code in zip(turns, ["infection", "cauda_equina"], strict=True):
        assert turn.payload("emergency") == {"type": "emergency", "red_flags": [code]}
        assert "911" in turn.text
        assert INTRO not in turn.text and HONEST not in turn.text
    assert "Your safety comes first" in after_flag.text
    assert not after_flag.asks

    def flags(conversation: Conversation) -> Callable[[Any], list[list[str]]]:
        return lambda session: [
            list(row.red_flags)
            for row in session.execute(
                select(RedFlagEvent).where(RedFlagEvent.conversation_id == conversation.sender)
            ).scalars().all()
        ]

    assert outage.eventually(flags(known)) == [["infection"]]
    assert outage.eventually(flags(new)) == [["cauda_equina"]]


def test_a_request_saved_as_the_database_goes_down_gets_its_number_and_reaches_the_queue(outage: Outage) -> None:
    conversation = outage.bot.conversation()
    conversation.say("discectomy 8 weeks ago, slowly getting better, leg pain")
    assert conversation.say("yes please").asks == ["patient_name"]
    assert conversation.say("Maria Lopez").asks == ["phone"]
    assert conversation.say("415-555-2671").asks == ["preferred_time"]

    # The request's save waits on a lock; the database goes down under it.
    locker = make_engine(outage.cluster.url(outage.bot.database_url.rsplit("/", 1)[1]))
    lock = locker.connect()
    lock.execute(text("LOCK TABLE clinic_appointment_requests IN ACCESS EXCLUSIVE MODE"))
    answer: list[Turn] = []
    saving = threading.Thread(target=lambda: answer.append(conversation.say("weekday mornings")))
    saving.start()
    try:
        deadline = time.monotonic() + 30
        # autocommit: within one transaction pg_stat_activity would show one snapshot only
        with locker.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            while not watcher.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            ).scalar():
                assert time.monotonic() < deadline, "the request's save never reached the database"
                time.sleep(0.05)
        outage.cluster.stop()
        saving.join(timeout=60)
        during = conversation.say("thank you")
    finally:
        with contextlib.suppress(DBAPIError):  # its server went away under it
            lock.close()
        locker.dispose()
        outage.restart()
    (turn,) = answer
    request_id = turn.payload("appointment_requested")["request_id"]
    assert request_id in turn.text
    assert "can't be reached" in turn.text and "as soon as the system is back" in turn.text
    _honest(during)

    def saved(session: Any) -> AppointmentRequest | None:
        return session.execute(
            select(AppointmentRequest).where(AppointmentRequest.public_id == request_id)
        ).scalar_one_or_none()

    request = outage.eventually(saved)
    assert request is not None, "the kept request never reached clinic_appointment_requests"
    assert (request.conversation_id, request.phone) == (conversation.sender, "+14155552671")
    assert request.kind == "consultation"
    assert request.preferred_time
    # the conversation knows its request: no second one
    again = conversation.say("I want to book an appointment")
    assert "already with the clinic" in again.text
    assert outage.query(
        lambda session: len(
            session.execute(
                select(AppointmentRequest).where(AppointmentRequest.conversation_id == conversation.sender)
            ).all()
        )
    ) == 1
