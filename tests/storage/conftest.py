"""A clinic store on each database, and a database server that never answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from bot.storage.store import ClinicStore


@pytest.fixture
def store(db_url: str) -> Iterator[ClinicStore]:
    """A store with its tables created, on SQLite and then on PostgreSQL."""
    clinic_store = ClinicStore(db_url)
    yield clinic_store
    clinic_store.dispose()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung database server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    for connection in accepted:
        connection.close()
    listener.close()
