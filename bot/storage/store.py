"""The process-wide store: built on first use, so importing it touches no database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import load_settings
from bot.storage.db import PATIENT_STATEMENT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, init_db, make_engine, session_factory


class ClinicStore:
    """An engine for one database URL, with its tables created, and a session factory."""

    def __init__(self, url: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> None:
        """Connect to ``url`` and create the clinic's tables that are missing.

        ``statement_timeout_ms`` bounds every statement (PostgreSQL); see ``bot.storage.db``.
        """
        self.engine: Engine = make_engine(url, statement_timeout_ms=statement_timeout_ms)
        init_db(self.engine)
        self.sessions: sessionmaker = session_factory(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


_store: ClinicStore | None = None
_lock = threading.Lock()


def get_store() -> ClinicStore:
    """The store for ``DATABASE_URL`` (see ``bot.settings``), created on the first call.

    It serves the bot's processes (the actions, the SMS channel), so its statements get the
    patient-path timeout. While the database is down the call raises, and the next one tries again.
    """
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = ClinicStore(load_settings().database_url, statement_timeout_ms=PATIENT_STATEMENT_TIMEOUT_MS)
    return _store


def reset_store() -> None:
    """Forget (and dispose) the process-wide store; the next ``get_store()`` builds anew."""
    global _store
    with _lock:
        if _store is not None:
            _store.dispose()
        _store = None
