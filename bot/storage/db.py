"""Engines and sessions for the clinic's own tables, one code path for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import sms_models, staff_models  # noqa: F401 - register clinic_sms_opt_outs and the staff tables
from bot.storage.models import Base


def normalize_url(url: str | URL) -> URL:
    """Parse a SQLAlchemy URL, accepting the ``postgres://`` spelling some hosts hand out."""
    parsed = make_url(url)
    if parsed.drivername == "postgres" or parsed.drivername.startswith("postgres+"):
        parsed = parsed.set(drivername="postgresql" + parsed.drivername[len("postgres") :])
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or ``None`` for in-memory and non-SQLite URLs."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str | URL) -> Engine:
    """Create an engine for ``url``; for a SQLite file, its folder is created first.

    SQLite engines may be shared between threads and get real transactions (``BEGIN`` is
    emitted by SQLAlchemy rather than guessed by the driver), so savepoints work as they do
    on PostgreSQL. Other engines check a pooled connection before handing it out.
    """
    parsed = normalize_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _give_sqlite_real_transactions(engine, wal=sqlite_file(parsed) is not None)
    return engine


def _give_sqlite_real_transactions(engine: Engine, *, wal: bool) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions (needed for SAVEPOINT to work).

    A database file is put in WAL mode, so readers (the staff app) and a writer (the bot)
    do not block each other.
    """

    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)


def session_factory(engine: Engine) -> sessionmaker:
    """A session factory bound to ``engine``; loaded attributes survive the commit."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False, class_=Session)


# Columns added after a table's first release: (table, column, SQL type and default).
_ADDED_COLUMNS = (
    ("clinic_appointment_requests", "kind", "VARCHAR(16) NOT NULL DEFAULT 'consultation'"),
    ("clinic_red_flag_events", "kind", "VARCHAR(16) NOT NULL DEFAULT 'emergency'"),
)


def init_db(engine: Engine) -> None:
    """Create the clinic's tables that do not exist yet (never touches Rasa's ``events``).

    Tables made by an older release get the columns added since (``_ADDED_COLUMNS``).
    """
    Base.metadata.create_all(engine)
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table, column, definition in _ADDED_COLUMNS:
            if column not in {c["name"] for c in inspector.get_columns(table)}:
                connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
