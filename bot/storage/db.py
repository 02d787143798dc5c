"""Engines and sessions for the clinic's own tables, one code path for SQLite and PostgreSQL."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

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


# Timeouts, so that one stuck database call can't hold up every patient (docs/database-faults.md).
CONNECT_TIMEOUT_SECONDS = 5
"""How long opening a connection may take (libpq ``connect_timeout``)."""
STATEMENT_TIMEOUT_MS = 30_000
"""The longest statement of any engine (PostgreSQL ``statement_timeout``): staff pages, the CLI."""
PATIENT_STATEMENT_TIMEOUT_MS = 5_000
"""The longest statement on a patient's path: the tracker store, the actions, the outbox."""
POOL_TIMEOUT_SECONDS = 10
"""How long to wait for a free pooled connection."""
SQLITE_BUSY_TIMEOUT_SECONDS = 5.0
"""How long a SQLite write waits for another writer (the ``timeout`` of ``sqlite3.connect``)."""


def make_engine(
    url: str | URL,
    *,
    statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
    connect_timeout: int = CONNECT_TIMEOUT_SECONDS,
    pool_timeout: float = POOL_TIMEOUT_SECONDS,
    sqlite_busy_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS,
) -> Engine:
    """Create an engine for ``url``; for a SQLite file, its folder is created first.

    Every engine hides statement parameters from its errors (``hide_parameters``), so an
    error message never quotes a patient's values. SQLite engines may be shared between
    threads, keep their connections to a file open (pooled), wait ``sqlite_busy_timeout`` for
    another writer, and get real transactions
    (``BEGIN`` is emitted by SQLAlchemy rather than guessed by the driver), so savepoints work
    as they do on PostgreSQL. Other engines check a pooled connection before handing it out
    and wait at most ``pool_timeout`` for one; on PostgreSQL (psycopg2) a connection must open
    within ``connect_timeout`` seconds, a statement is cancelled after ``statement_timeout_ms``
    and a silent server is noticed by TCP keepalives. Values given in the URL's query win.
    """
    parsed = normalize_url(url)
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Connections to a file are kept open (SQLAlchemy 2's default): no new connection and
            # PRAGMAs for every session. A session never waits for one (unbounded overflow).
            kwargs["poolclass"] = QueuePool
            kwargs["max_overflow"] = -1
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": sqlite_busy_timeout}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["pool_timeout"] = pool_timeout
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg2":
            kwargs["connect_args"] = _libpq_timeouts(parsed, statement_timeout_ms, connect_timeout)
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _give_sqlite_real_transactions(engine, wal=sqlite_file(parsed) is not None)
    return engine


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database can't be reached or didn't answer in time.

    That covers a refused or lost connection, a connect, pool or statement timeout and a server
    shutting down; not a constraint violation or a bad statement (those are our errors).
    """
    if isinstance(error, (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError, OSError)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def _libpq_timeouts(url: URL, statement_timeout_ms: int, connect_timeout: int) -> dict[str, Any]:
    """libpq connection options: the timeouts and keepalives, unless the URL sets them itself."""
    query = dict(url.query)
    wanted: dict[str, Any] = {
        "connect_timeout": connect_timeout,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": max(connect_timeout, 1) * 3000,  # unacknowledged data on a dead link
    }
    args = {key: value for key, value in wanted.items() if key not in query}
    options = str(query.get("options") or "")
    if "statement_timeout" not in options:
        args["options"] = f"{options} -c statement_timeout={int(statement_timeout_ms)}".strip()
    return args


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


_T = TypeVar("_T")
_LOCKED_RETRIES = 8


def when_unlocked(call: Callable[..., _T], *args: Any) -> _T:
    """``call(*args)``, tried again while SQLite says "database is locked".

    That is another patient's write holding SQLite's single write lock (a lock upgrade can't
    wait on the busy timeout), not an outage: patients must not be told the records are down.
    """
    for attempt in range(_LOCKED_RETRIES):
        try:
            return call(*args)
        except OperationalError as error:
            if "database is locked" not in str(error.orig) or attempt == _LOCKED_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1) + random.random() * 0.05)
    raise AssertionError("unreachable")


def session_factory(engine: Engine) -> sessionmaker:
    """A session factory bound to ``engine``; loaded attributes survive the commit."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False, class_=Session)


# Columns added after a table's first release: (table, column, SQL type and default).
_ADDED_COLUMNS = (
    ("clinic_appointment_requests", "kind", "VARCHAR(16) NOT NULL DEFAULT 'consultation'"),
    ("clinic_red_flag_events", "kind", "VARCHAR(16) NOT NULL DEFAULT 'emergency'"),
    ("clinic_red_flag_events", "notified_at", "TIMESTAMP WITH TIME ZONE"),
    ("clinic_staff_texts", "idempotency_key", "VARCHAR(64)"),
)


def init_db(engine: Engine) -> None:
    """Create the clinic's tables that do not exist yet (never touches Rasa's ``events``).

    Tables made by an older release get the columns added since (``_ADDED_COLUMNS``).
    """
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        inspector = inspect(connection)
        for table, column, definition in _ADDED_COLUMNS:
            if column not in {c["name"] for c in inspector.get_columns(table)}:
                connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
