"""Rasa's SQL tracker store, pointed at the clinic's ``DATABASE_URL``.

``endpoints.yml`` needs only::

    tracker_store:
      type: bot.storage.tracker_store.ClinicTrackerStore

Rasa 3.6 builds a custom store as ``Class(host=<url from endpoints.yml>, domain=...,
event_broker=..., **<other keys>)``; the database is taken from the settings instead, so the
tracker and the clinic's own tables (``bot.storage``) always share one database.
"""

from __future__ import annotations

from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.settings import load_settings
from bot.storage.db import normalize_url, sqlite_file


class ClinicTrackerStore(SQLTrackerStore):
    """Rasa's ``SQLTrackerStore`` on the database named by ``DATABASE_URL``."""

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        database_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Connect to ``database_url`` (default: the settings' ``database_url``).

        Raises:
            ValueError: ``endpoints.yml`` tried to set the connection itself (url, db, …).
            RuntimeError: the database driver cannot be loaded. (Rasa would otherwise swallow
                the ``ImportError`` and silently keep conversations in memory only.)

        """
        configured = sorted(key for key, value in kwargs.items() if value is not None)
        if configured:
            raise ValueError(
                "ClinicTrackerStore takes its database from DATABASE_URL; remove "
                f"{', '.join(configured)} from the tracker_store section of endpoints.yml"
            )
        url = normalize_url(database_url or load_settings().database_url)
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        dialect = url.drivername
        if dialect == "postgresql+psycopg2":
            dialect = "postgresql"  # the spelling Rasa's pool and schema options look for
        try:
            super().__init__(
                domain=domain,
                dialect=dialect,
                host=url.host,
                port=url.port,
                db=url.database,
                username=url.username,
                password=url.password,
                event_broker=event_broker,
                query=dict(url.query),
            )
        except (ImportError, AttributeError) as error:
            raise RuntimeError(f"cannot open the tracker store: {error}") from error
