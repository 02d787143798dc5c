"""One pair of real servers per database (SQLite, then PostgreSQL) for every conversation test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL
from tests.conversations.harness import BotServer, start_servers


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def bot(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    """Rasa + actions running against a fresh database of each kind."""
    log_dir = tmp_path_factory.mktemp(f"servers-{request.param}")
    admin = None
    name = f"clinic_conv_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        url = f"sqlite:///{log_dir / 'clinic.sqlite3'}"
    else:
        admin_url = make_url(POSTGRES_ADMIN_URL)
        admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.set(database=name).render_as_string(hide_password=False)
    server = start_servers(url, log_dir)
    try:
        yield server
    finally:
        server.stop()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
