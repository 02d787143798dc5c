"""Shared fixtures: throwaway SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Property-based tests (hypothesis) are reproducible: a fixed seed (derandomize), no example
# database written to disk, and a deadline generous enough for a busy 2-core CI machine.
# HYPOTHESIS_PROFILE=explore searches with fresh random examples instead (not in CI).
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=2000,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=2000, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The server to create test databases on; its database is only used to create and drop them.
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLAlchemy URL for a fresh SQLite file (which does not exist yet)."""
    return f"sqlite:///{tmp_path / 'clinic.sqlite3'}"


@contextmanager
def temporary_postgres_database(prefix: str = "clinic_test") -> Iterator[str]:
    """Create a uniquely named PostgreSQL database; yield its URL; drop it afterwards.

    Skips when the server is unreachable, unless ``CI`` is set: there it fails.
    """
    admin_url = make_url(POSTGRES_ADMIN_URL)
    host, port = admin_url.host or "127.0.0.1", admin_url.port or 5432
    if not _reachable(host, port):
        reason = f"PostgreSQL is not reachable at {host}:{port}"
        if _in_ci():
            pytest.fail(f"{reason}, and CI is set: the PostgreSQL tests must run")
        pytest.skip(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL for a fresh PostgreSQL database, dropped afterwards."""
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url
