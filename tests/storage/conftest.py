"""A clinic store on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.storage.store import ClinicStore


@pytest.fixture
def store(db_url: str) -> Iterator[ClinicStore]:
    """A store with its tables created, on SQLite and then on PostgreSQL."""
    clinic_store = ClinicStore(db_url)
    yield clinic_store
    clinic_store.dispose()
