"""Rasa's tracker store on the clinic's database, built as ``endpoints.yml`` builds it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import inspect

from bot.storage.store import ClinicStore
from bot.storage.tracker_store import ClinicTrackerStore

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, inform]
slots:
  surgery_type:
    type: text
    mappings:
    - type: from_text
responses:
  utter_greet:
  - text: "Hello!"
"""
)


def _first_turn() -> list[Event]:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered(
            "I had a decompression", intent={"name": "inform", "confidence": 1.0}
        ),
        SlotSet("surgery_type", "decompression"),
        BotUttered("Thanks — how long ago?"),
        ActionExecuted("action_listen"),
    ]


def _round_trip(store: TrackerStore, sender: str) -> None:
    """Two turns as Rasa runs them: save, retrieve the latest session, add to it, save."""
    text = "6 weeks ago 😀 '; DROP TABLE events; --"
    first = DialogueStateTracker.from_events(sender, _first_turn(), DOMAIN.slots)
    asyncio.run(store.save(first))
    session = asyncio.run(store.retrieve(sender))
    assert session is not None
    # the latest session starts at SessionStarted, after action_session_start
    assert [e.as_dict() for e in session.events] == [
        e.as_dict() for e in list(first.events)[1:]
    ]
    assert session.get_slot("surgery_type") == "decompression"

    second = UserUttered(text, intent={"name": "inform", "confidence": 0.9})
    session.update(second)
    asyncio.run(store.save(session))

    full = asyncio.run(store.retrieve_full_tracker(sender))
    assert full is not None
    assert [e.as_dict() for e in full.events] == [
        e.as_dict() for e in [*first.events, second]
    ]
    assert full.latest_message is not None and full.latest_message.text == text
    assert sender in asyncio.run(store.keys())
    assert asyncio.run(store.retrieve("someone-else")) is None


def test_save_and_retrieve(db_url: str) -> None:
    store = ClinicTrackerStore(domain=DOMAIN, database_url=db_url)
    try:
        _round_trip(store, "conv-1")
    finally:
        store.engine.dispose()


def test_database_comes_from_database_url(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    store = ClinicTrackerStore(domain=DOMAIN)
    try:
        assert store.engine.url.database == ClinicStore(db_url).engine.url.database
        _round_trip(store, "+14155552671")
    finally:
        store.engine.dispose()


def test_built_from_endpoints_yml_like_rasa_does(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: bot.storage.tracker_store.ClinicTrackerStore\n",
        encoding="utf-8",
    )
    config = read_endpoint_config(str(endpoints), "tracker_store")
    store = TrackerStore.create(config, domain=DOMAIN)
    assert isinstance(store, ClinicTrackerStore)
    try:
        _round_trip(store, "conv-yml")
    finally:
        store.engine.dispose()


def test_shares_the_database_with_the_clinic_tables(db_url: str) -> None:
    clinic = ClinicStore(db_url)
    tracker_store = ClinicTrackerStore(domain=DOMAIN, database_url=db_url)
    try:
        tables = set(inspect(clinic.engine).get_table_names())
        assert {
            "events",
            "clinic_appointment_requests",
            "clinic_red_flag_events",
        } <= tables
    finally:
        tracker_store.engine.dispose()
        clinic.dispose()


def test_sqlite_file_gets_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "var" / "nested" / "clinic.sqlite3"
    store = ClinicTrackerStore(domain=DOMAIN, database_url=f"sqlite:///{path}")
    try:
        _round_trip(store, "conv-file")
    finally:
        store.engine.dispose()
    assert path.is_file()


def test_connection_settings_in_endpoints_yml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        ClinicTrackerStore(
            domain=DOMAIN, database_url=f"sqlite:///{tmp_path / 'x.db'}", db="other.db"
        )
    with pytest.raises(ValueError, match="host"):
        ClinicTrackerStore(domain=DOMAIN, host="postgresql://elsewhere/db")
