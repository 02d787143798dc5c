"""One pair of real servers per database (SQLite, then PostgreSQL) for every conversation test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.conftest import temporary_postgres_database
from tests.conversations.harness import BotServer, start_servers


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def bot(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    """Rasa + actions running against a fresh database of each kind."""
    log_dir = tmp_path_factory.mktemp(f"servers-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{log_dir / 'clinic.sqlite3'}"
        else:
            url = stack.enter_context(temporary_postgres_database("clinic_conv"))
        server = start_servers(url, log_dir)
        stack.callback(server.stop)
        yield server
