"""Engines and the process-wide store: lazy, one code path for SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.settings import PROJECT_ROOT
from bot.storage.db import make_engine, normalize_url, session_factory
from bot.storage.repository import (
    get_appointment_by_public_id,
    save_appointment_request,
)
from bot.storage.store import ClinicStore, get_store, reset_store


@pytest.fixture
def fresh_store() -> Iterator[None]:
    """No process-wide store before or after the test."""
    reset_store()
    yield
    reset_store()


def test_sqlite_file_gets_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "clinic.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    assert path.is_file()


def test_engine_runs_on_both_databases(db_url: str) -> None:
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_postgres_spelling_is_accepted() -> None:
    url = normalize_url("postgres://u:p@db.example:5433/clinic")
    assert url.drivername == "postgresql"
    assert (url.host, url.port, url.database) == ("db.example", 5433, "clinic")
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_in_memory_sqlite_works() -> None:
    store = ClinicStore("sqlite://")
    with store.transaction() as session:
        request = save_appointment_request(
            session,
            conversation_id="c",
            channel="rest",
            patient_name="Li Lei",
            phone="+14155552671",
            preferred_time="anytime",
        )
        assert get_appointment_by_public_id(session, request.public_id) is request
    store.dispose()


def test_importing_touches_no_database(tmp_path: Path) -> None:
    path = tmp_path / "import" / "clinic.sqlite3"
    code = (
        "import bot.storage.store, bot.storage.repository, bot.storage.tracker_store\n"
        "import bot.scheduling.phone, bot.scheduling.preferred_time, bot.scheduling.names\n"
    )
    env = {"DATABASE_URL": f"sqlite:///{path}", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, check=True)
    assert not path.parent.exists()


def test_get_store_builds_once_from_database_url(
    db_url: str, monkeypatch: pytest.MonkeyPatch, fresh_store: None
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    store = get_store()
    assert get_store() is store
    assert "clinic_appointment_requests" in inspect(store.engine).get_table_names()
    assert store.engine.url.render_as_string(hide_password=False) == normalize_url(
        db_url
    ).render_as_string(hide_password=False)
    reset_store()
    assert get_store() is not store
