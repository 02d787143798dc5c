"""Every engine we create has timeouts and never quotes a patient's values in its errors."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.storage.db import make_engine, session_factory
from bot.storage.models import AppointmentRequest
from bot.storage.store import ClinicStore, get_store, reset_store
from bot.storage.tracker_store import ClinicTrackerStore

SECRET = "Zelda Quixotefield"


def _within(seconds: float, call: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run ``call`` in a thread; its error and how long it took (fails if it is still running)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome.append(error)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still waiting after {seconds} s: no timeout"
    return outcome[0], time.monotonic() - started


def test_errors_never_quote_the_patients_values(db_url: str) -> None:
    store = ClinicStore(db_url)
    values = {
        "public_id": "CR-22222222",
        "conversation_id": "c",
        "channel": "rest",
        "patient_name": SECRET,
        "phone": "+14155552671",
        "preferred_time": "mornings",
        "findings": [],
        "facts": {},
    }
    try:
        with store.transaction() as session:
            session.add(AppointmentRequest(**values))
        with pytest.raises(IntegrityError) as caught:
            with store.transaction() as session:
                session.add(AppointmentRequest(**values))
        assert SECRET not in str(caught.value)
        assert "+14155552671" not in str(caught.value)
    finally:
        store.dispose()


def test_every_engine_we_create_hides_parameters(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    reset_store()
    engines = [
        make_engine(sqlite_url),
        ClinicStore(sqlite_url).engine,
        get_store().engine,
        ClinicTrackerStore(database_url=sqlite_url).engine,
    ]
    try:
        assert all(engine.hide_parameters for engine in engines)
    finally:
        for engine in engines:
            engine.dispose()
        reset_store()


def test_a_postgresql_statement_is_cancelled_after_the_statement_timeout(postgres_url: str) -> None:
    engine = make_engine(postgres_url, statement_timeout_ms=300)
    try:
        with pytest.raises(OperationalError, match="statement timeout"):
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_sleep(10)"))
    finally:
        engine.dispose()


def test_the_statement_timeouts_of_staff_and_patient_paths(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    reset_store()
    staff = ClinicStore(postgres_url)
    tracker_store = ClinicTrackerStore(database_url=postgres_url)
    try:
        with staff.engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "30s"
        for engine in (get_store().engine, tracker_store.engine):
            with engine.connect() as connection:
                assert connection.execute(text("SHOW statement_timeout")).scalar() == "5s"
    finally:
        staff.dispose()
        tracker_store.engine.dispose()
        reset_store()


def test_a_url_that_sets_its_own_options_keeps_them(postgres_url: str) -> None:
    engine = make_engine(postgres_url + "?options=-c%20application_name%3Dclinic-test", statement_timeout_ms=1234)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW application_name")).scalar() == "clinic-test"
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "1234ms"
    finally:
        engine.dispose()


def test_connecting_to_a_silent_server_gives_up_after_the_connect_timeout(silent_server: int) -> None:
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{silent_server}/clinic", connect_timeout=1)
    try:
        error, took = _within(15, lambda: engine.connect().close())
    finally:
        engine.dispose()
    assert isinstance(error, OperationalError)
    assert took < 5


def test_postgresql_pools_check_connections_and_wait_a_bounded_time() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/clinic", pool_timeout=2.5)
    try:
        assert engine.pool._pre_ping is True
        assert engine.pool._timeout == 2.5
    finally:
        engine.dispose()


def test_a_sqlite_write_waits_for_another_writer_no_longer_than_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "clinic.sqlite3"
    store = ClinicStore(f"sqlite:///{path}")
    store.dispose()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    engine = make_engine(f"sqlite:///{path}", sqlite_busy_timeout=0.3)

    def write() -> None:
        with session_factory(engine).begin() as session:
            session.execute(text("DELETE FROM clinic_red_flag_events"))

    try:
        error, took = _within(15, write)
    finally:
        blocker.rollback()
        blocker.close()
        engine.dispose()
    assert isinstance(error, OperationalError)
    assert took < 3
