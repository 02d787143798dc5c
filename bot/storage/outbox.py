"""The outbox: what must reach the clinic's database even while that database is down.

Red-flag events and consultation / call-back requests (written by the action server) get a
short, bounded try at the database (:meth:`Outbox.deliver`); what it can't take in time, and
conversation events the tracker store could not save (the Rasa server), is kept in a small
SQLite file of its own and delivered when the database answers again:

- the file sits beside the database it belongs to: ``clinic.outbox.sqlite3`` next to a SQLite
  database file, ``var/outbox-<hash of the URL>.sqlite3`` for PostgreSQL (``CLINIC_OUTBOX``
  overrides the path). An outbox is only ever delivered into its own database;
- one table, ``outbox``: ``id`` (the order), ``kind`` (``red_flag``, ``request``,
  ``request_update``, ``tracker_events``), ``key`` (entries with one key are delivered in
  order: a request before its update, one conversation's events in turn), ``payload`` (JSON),
  ``created_at``, ``attempts``, ``last_error`` (an error *type*, never a message) and
  ``failed`` (kept, but no longer retried: see the error log). The file is readable by its
  owner only, and an entry is deleted once delivered;
- what could not be delivered is retried right after the next successful write, and every
  ``CLINIC_OUTBOX_RETRY_SECONDS`` (default 5) by a background thread of each process that
  holds entries (the Rasa server also starts one when it finds entries left from an earlier
  run), until nothing is left. One process delivers at a time (``<outbox>.lock``), and
  delivering twice is harmless: a request keeps the number the patient was given, and an
  event, red flag or request already in the database is not added again.

Nothing here logs a patient's words or values: only kinds, counts and error types.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.settings import DEFAULT_SQLITE_PATH, PROJECT_ROOT, _read_dotenv, load_settings
from bot.storage import repository
from bot.storage.conversations import EVENTS
from bot.storage.db import PATIENT_STATEMENT_TIMEOUT_MS, database_unavailable, normalize_url, sqlite_file, when_unlocked
from bot.storage.models import REQUEST_KINDS, RedFlagEvent, utcnow
from bot.storage.store import ClinicStore, get_store

logger = logging.getLogger(__name__)

OUTBOX_PATH_VARIABLE = "CLINIC_OUTBOX"
RETRY_SECONDS_VARIABLE = "CLINIC_OUTBOX_RETRY_SECONDS"
DEFAULT_RETRY_SECONDS = 5.0
MAX_ATTEMPTS = 5
"""An entry the database keeps refusing (not merely unreachable) is set aside after this many tries."""
RED_FLAG_WAIT_SECONDS = 1.0
"""How long the urgent instruction may wait for its record to reach the database (then: outbox)."""
REQUEST_WAIT_SECONDS = 3.0
"""How long a patient's request may wait for the database before they are told it is kept."""
LOCK_WAIT_SECONDS = 3.0

RED_FLAG = "red_flag"
REQUEST = "request"
REQUEST_UPDATE = "request_update"
TRACKER_EVENTS = "tracker_events"

TRANSCRIPT_EVENTS = frozenset({"user", "bot"})
FACT_SLOTS = frozenset({"emergency_reported", "booking_request_id"})
"""Slots a transcript-only write-back keeps: what the patient was told happened."""

_E164 = repository._E164  # the same check the repository makes, made before a request is kept


class Delivery(Enum):
    """What became of a record handed to :meth:`Outbox.deliver`."""

    SAVED = "saved"  # in the clinic's database now
    QUEUED = "queued"  # kept in the outbox; it reaches the database when that answers again
    LOST = "lost"  # neither kept nor saved: the patient must be told to call


@dataclass(frozen=True)
class Record:
    """Something to deliver: its kind, its ordering key and its JSON payload."""

    kind: str
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Entry:
    """One row of the outbox."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    created_at: str
    attempts: int
    last_error: str | None
    failed: bool


def _now_iso() -> str:
    return utcnow().isoformat()


def red_flag_record(conversation_id: str, channel: str, codes: Sequence[str], kind: str = "emergency") -> Record:
    """A red-flag event as ``repository.record_red_flags`` saves it, dated now.

    Raises:
        ValueError: no codes.

    """
    unique = list(dict.fromkeys(str(code) for code in codes))
    if not unique:
        raise ValueError("a red-flag event needs at least one code")
    payload = {
        "conversation_id": conversation_id,
        "channel": channel,
        "codes": unique,
        "kind": kind,
        "created_at": _now_iso(),
    }
    return Record(RED_FLAG, f"red_flag:{conversation_id}", payload)


def request_record(
    *,
    conversation_id: str,
    channel: str,
    patient_name: str,
    phone: str,
    preferred_time: str,
    preferred_date: date | None = None,
    findings: Iterable[str] = (),
    facts: Mapping[str, Any] | None = None,
    kind: str = "consultation",
) -> Record:
    """A new consultation or call-back request with its public id (the number the patient is given).

    Raises:
        ValueError: what ``repository.save_appointment_request`` would refuse.

    """
    if not _E164.fullmatch(phone or ""):
        raise ValueError("phone must be in E.164 form, e.g. +14155552671")
    if kind not in REQUEST_KINDS:
        raise ValueError(f"kind must be one of {REQUEST_KINDS}")
    if not (conversation_id.strip() and channel.strip() and patient_name.strip()):
        raise ValueError("conversation_id, channel and patient_name must not be empty")
    public_id = repository.new_public_id()
    payload = {
        "public_id": public_id,
        "conversation_id": conversation_id,
        "channel": channel,
        "patient_name": patient_name,
        "phone": phone,
        "preferred_time": preferred_time,
        "preferred_date": preferred_date.isoformat() if preferred_date else None,
        "findings": [str(code) for code in findings],
        "facts": json.loads(json.dumps(dict(facts or {}), default=str)),
        "kind": kind,
        "created_at": _now_iso(),
    }
    return Record(REQUEST, f"request:{public_id}", payload)


def request_update_record(
    public_id: str, conversation_id: str, findings: Iterable[str], facts: Mapping[str, Any]
) -> Record:
    """New findings and facts for a request already made (``repository.update_appointment_assessment``)."""
    payload = {
        "public_id": public_id,
        "conversation_id": conversation_id,
        "findings": [str(code) for code in findings],
        "facts": json.loads(json.dumps(dict(facts), default=str)),
    }
    return Record(REQUEST_UPDATE, f"request:{public_id}", payload)


def tracker_record(
    sender_id: str,
    events: Sequence[Mapping[str, Any]],
    *,
    base: int | None,
    header: Sequence[Mapping[str, Any]] = (),
) -> Record:
    """Conversation events (``Event.as_dict()``) for Rasa's ``events`` table.

    ``base`` is how many events the conversation's latest session had in the database when
    the turn began: the events are written as they are when it still has that many, else
    (and always when ``base`` is ``None``: turns answered while the database was down) only
    the transcript is added: the patient's and the bot's messages and the facts in
    :data:`FACT_SLOTS`. ``header`` starts a conversation the database doesn't know yet.
    """
    payload = {"sender_id": sender_id, "base": base, "events": list(events), "header": list(header)}
    return Record(TRACKER_EVENTS, tracker_key(sender_id), payload)


def tracker_key(sender_id: str) -> str:
    """The outbox key of one conversation's events."""
    return f"tracker:{sender_id}"


def _setting(name: str, environ: Mapping[str, str] | None = None) -> str:
    if environ is not None:
        return environ.get(name, "").strip()
    value = os.environ.get(name) or _read_dotenv(PROJECT_ROOT / ".env").get(name) or ""
    return value.strip()


def outbox_path_for(database_url: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where the outbox of ``database_url`` lives (``CLINIC_OUTBOX`` overrides it)."""
    override = _setting(OUTBOX_PATH_VARIABLE, environ)
    if override:
        return Path(override)
    url = normalize_url(database_url)
    database_file = sqlite_file(url)
    if database_file is not None:
        return database_file.with_name(f"{database_file.stem}.outbox.sqlite3")
    # The password is left out, so a changed password keeps the same outbox.
    identity = url.render_as_string(hide_password=True)
    return DEFAULT_SQLITE_PATH.parent / f"outbox-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.sqlite3"


def retry_seconds(environ: Mapping[str, str] | None = None) -> float:
    """``CLINIC_OUTBOX_RETRY_SECONDS``, else :data:`DEFAULT_RETRY_SECONDS`."""
    value = _setting(RETRY_SECONDS_VARIABLE, environ)
    return max(float(value), 0.05) if value else DEFAULT_RETRY_SECONDS


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_key ON outbox (key, id);
"""

_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbox")
        return _executor


class Outbox:
    """The outbox file of one database, and its delivery into that database."""

    def __init__(self, path: Path, database_url: str, *, retry_every: float | None = None) -> None:
        """Nothing is opened or created until the first entry is added."""
        self.path = Path(path)
        self.database_url = database_url
        self.retry_every = retry_seconds() if retry_every is None else retry_every
        self._schema_ready = False
        self._thread_lock = threading.Lock()  # one delivery at a time in this process
        self._state_lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._store: ClinicStore | None = None
        self._shares_store: bool | None = None  # whether this is DATABASE_URL's outbox (then: get_store())
        self._retrier: threading.Thread | None = None
        self._wake_now = threading.Event()
        self._closed = False
        self._waiting_logged = False

    # ---- the file ----

    @contextmanager
    def _connection(self, create: bool) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():
            if not create:
                yield None
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        connection = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            connection.execute("PRAGMA synchronous=FULL")
            if not self._schema_ready:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(_SCHEMA)
                self._schema_ready = True
            yield connection
        finally:
            connection.close()

    def add(self, record: Record) -> int:
        """Keep ``record`` (durably, before anything is tried); its entry id."""
        with self._connection(create=True) as connection:
            assert connection is not None
            cursor = connection.execute(
                "INSERT INTO outbox (kind, key, payload, created_at) VALUES (?, ?, ?, ?)",
                (record.kind, record.key, json.dumps(record.payload), _now_iso()),
            )
            entry_id = cursor.lastrowid
        assert entry_id is not None
        return int(entry_id)

    def entries(self, keys: Iterable[str] | None = None, *, include_failed: bool = False) -> list[Entry]:
        """The entries waiting (of ``keys``, if given), oldest first."""
        wanted = None if keys is None else list(keys)
        if wanted == []:
            return []
        query = "SELECT id, kind, key, payload, created_at, attempts, last_error, failed FROM outbox"
        conditions: list[str] = []
        parameters: list[Any] = []
        if wanted is not None:
            conditions.append(f"key IN ({', '.join('?' for _ in wanted)})")
            parameters.extend(wanted)
        if not include_failed:
            conditions.append("failed = 0")
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        with self._connection(create=False) as connection:
            if connection is None:
                return []
            rows = connection.execute(query + " ORDER BY id", parameters).fetchall()
        return [Entry(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], bool(row[7])) for row in rows]

    def has_pending(self, keys: Iterable[str] | None = None) -> bool:
        """Whether entries (of ``keys``) are waiting to be delivered (set-aside ones don't count)."""
        return bool(self.entries(keys))

    def _remove(self, entry_id: int) -> None:
        with self._connection(create=False) as connection:
            if connection is not None:
                connection.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))

    def _note_attempt(self, entry: Entry, error: BaseException, *, give_up: bool) -> None:
        with self._connection(create=False) as connection:
            if connection is not None:
                connection.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed = ? WHERE id = ?",
                    (type(error).__name__, int(give_up), entry.id),
                )

    # ---- delivery ----

    @contextmanager
    def _delivery_lock(self, wait: float) -> Iterator[bool]:
        """This process's and the other processes' turn to deliver (``False``: not within ``wait``)."""
        got_thread = self._thread_lock.acquire(timeout=wait) if wait > 0 else self._thread_lock.acquire(blocking=False)
        if not got_thread:
            yield False
            return
        try:
            lock_path = self.path.with_name(self.path.name + ".lock")
            descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                deadline = time.monotonic() + wait
                while True:
                    try:
                        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            yield False
                            return
                        time.sleep(0.02)
                try:
                    yield True
                finally:
                    fcntl.flock(descriptor, fcntl.LOCK_UN)
            finally:
                os.close(descriptor)
        finally:
            self._thread_lock.release()

    def _clinic_store(self) -> ClinicStore:
        """The process's store when it is for this database (``get_store``), else one of our own."""
        with self._store_lock:  # not _state_lock: opening a store may wait for the database
            if self._store is None:
                if self._shares_store is None:
                    self._shares_store = normalize_url(self.database_url) == normalize_url(load_settings().database_url)
                if self._shares_store:
                    return get_store()
                self._store = ClinicStore(self.database_url, statement_timeout_ms=PATIENT_STATEMENT_TIMEOUT_MS)
            return self._store

    def flush(self, keys: Iterable[str] | None = None, *, wait: float = LOCK_WAIT_SECONDS) -> bool:
        """Deliver what waits (only ``keys``, if given), in order; ``True`` when none of it is left.

        Stops at the first sign that the database is unreachable. An entry the database refuses
        for another reason is retried later, and set aside after :data:`MAX_ATTEMPTS` tries
        (logged); a later entry with the same key waits behind it.
        """
        wanted = None if keys is None else list(keys)
        if not self.path.exists():
            return True
        with self._delivery_lock(wait) as locked:
            if not locked:
                return not self.has_pending(wanted)
            held: set[str] = set()
            delivered = 0
            for entry in self.entries(wanted):
                if entry.key in held:
                    continue
                try:
                    _deliver(entry, self._clinic_store())
                except Exception as error:  # noqa: BLE001 - kept, and tried again
                    if database_unavailable(error):
                        self._note_attempt(entry, error, give_up=False)
                        if not self._waiting_logged:
                            logger.warning(
                                "The database can't be reached (%s); outbox entries wait in %s.",
                                type(error).__name__,
                                self.path.name,
                            )
                            self._waiting_logged = True
                        return False
                    give_up = isinstance(error, ValueError) or entry.attempts + 1 >= MAX_ATTEMPTS
                    self._note_attempt(entry, error, give_up=give_up)
                    held.add(entry.key)
                    log = logger.error if give_up else logger.warning
                    log(
                        "Could not deliver an outbox entry (%s, id %s): %s%s",
                        entry.kind,
                        entry.id,
                        type(error).__name__,
                        "; it is set aside in the outbox for a person to look at" if give_up else "",
                    )
                    continue
                self._remove(entry.id)
                delivered += 1
            if delivered:
                logger.info("Delivered %d outbox entr%s to the database.", delivered, "y" if delivered == 1 else "ies")
                self._waiting_logged = False
        return not self.has_pending(wanted)

    def deliver(self, record: Record, wait: float) -> Delivery:
        """Save ``record`` in the database, giving it at most ``wait`` seconds; else keep it here.

        The caller is never held longer than ``wait``. A record the database couldn't take (it
        is unreachable, or slower than ``wait``) is kept in the outbox and delivered when the
        database answers; one the database refuses for another reason is reported lost (and
        logged). A record whose key has entries waiting is kept behind them, in order.
        """
        if self.has_pending([record.key]):
            return self._keep(record)
        entry = Entry(0, record.kind, record.key, record.payload, _now_iso(), 0, None, False)
        future = _pool().submit(lambda: when_unlocked(_deliver, entry, self._clinic_store()))
        try:
            future.result(timeout=wait)
        except FutureTimeout:
            return self._keep(record)  # it may still arrive: then delivering it again changes nothing
        except Exception as error:  # noqa: BLE001 - kept, or reported lost
            if database_unavailable(error):
                return self._keep(record)
            logger.error("Could not save a %s record: %s", record.kind, type(error).__name__)
            return Delivery.LOST
        if self.has_pending():
            self.wake(now=True)  # the database answers: deliver what waited
        return Delivery.SAVED

    def _keep(self, record: Record) -> Delivery:
        try:
            self.add(record)
        except Exception as error:  # noqa: BLE001 - the caller tells the patient to call
            logger.error("Could not keep a %s record in the outbox: %s", record.kind, type(error).__name__)
            return Delivery.LOST
        if not self._waiting_logged:
            logger.warning("The database didn't take a %s record in time; it waits in %s.", record.kind, self.path.name)
            self._waiting_logged = True
        self.wake()
        return Delivery.QUEUED

    # ---- the background retry ----

    def wake(self, *, now: bool = False) -> None:
        """Make sure a background thread retries the waiting entries (``now``: without the pause)."""
        with self._state_lock:
            if self._closed:
                return
            if now:
                self._wake_now.set()
            if self._retrier is not None and self._retrier.is_alive():
                return
            self._retrier = threading.Thread(target=self._retry_loop, name="outbox-retry", daemon=True)
            self._retrier.start()

    def _retry_loop(self) -> None:
        while True:
            self._wake_now.wait(self.retry_every)
            self._wake_now.clear()
            if self._closed:
                return
            try:
                self.flush()
            except Exception as error:  # noqa: BLE001 - the thread must keep going
                logger.error("Outbox retry failed: %s", type(error).__name__)
            with self._state_lock:
                if self._closed or not self.has_pending():
                    self._retrier = None
                    return

    def close(self) -> None:
        """Stop retrying and close the database connections (tests; process end)."""
        with self._state_lock:
            self._closed = True
            self._wake_now.set()
            retrier, self._retrier = self._retrier, None
            store, self._store = self._store, None
        if retrier is not None and retrier is not threading.current_thread():
            retrier.join(timeout=10)
        if store is not None:
            store.dispose()


# ---- delivering one entry ----


def _deliver(entry: Entry, store: ClinicStore) -> None:
    if entry.kind == TRACKER_EVENTS:
        with store.engine.begin() as connection:
            append_events(connection, entry.payload)
        return
    with store.transaction() as session:
        if entry.kind == RED_FLAG:
            _save_red_flag(session, entry.payload)
        elif entry.kind == REQUEST:
            _save_request(session, entry.payload)
        elif entry.kind == REQUEST_UPDATE:
            _update_request(session, entry.payload)
        else:
            raise ValueError(f"unknown outbox entry kind {entry.kind!r}")


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _save_red_flag(session: Session, payload: dict[str, Any]) -> None:
    created = _aware(payload["created_at"])
    already = session.execute(
        select(RedFlagEvent.id).where(
            RedFlagEvent.conversation_id == payload["conversation_id"],
            RedFlagEvent.created_at == created,
        )
    ).first()
    if already is not None:
        return
    event = repository.record_red_flags(
        session, payload["conversation_id"], payload["channel"], payload["codes"], kind=payload["kind"]
    )
    event.created_at = created
    session.flush()


def _save_request(session: Session, payload: dict[str, Any]) -> None:
    public_id = payload["public_id"]
    existing = repository.get_appointment_by_public_id(session, public_id)
    if existing is not None and existing.conversation_id == payload["conversation_id"]:
        return  # delivered before
    request = repository.save_appointment_request(
        session,
        conversation_id=payload["conversation_id"],
        channel=payload["channel"],
        patient_name=payload["patient_name"],
        phone=payload["phone"],
        preferred_time=payload["preferred_time"],
        preferred_date=date.fromisoformat(payload["preferred_date"]) if payload.get("preferred_date") else None,
        findings=payload["findings"],
        facts=payload["facts"],
        kind=payload["kind"],
    )
    if existing is None:
        request.public_id = public_id  # the number the patient was given
    else:  # another request took that number meanwhile (about 1 in 10^11): keep the fresh one
        logger.warning("A kept request's number was taken meanwhile; it was saved under a new number.")
    created = _aware(payload["created_at"])
    request.created_at = created
    request.updated_at = created
    session.flush()


def _update_request(session: Session, payload: dict[str, Any]) -> None:
    updated = repository.update_appointment_assessment(
        session,
        payload["public_id"],
        findings=payload["findings"],
        facts=payload["facts"],
        conversation_id=payload["conversation_id"],
    )
    if updated is None:
        logger.warning("A kept update names a request that isn't in the database; it was dropped.")


# ---- conversation events ----


def latest_session_count(connection: Connection, sender_id: str) -> int:
    """How many events the latest session of ``sender_id`` has (Rasa's own session rule)."""
    started = (
        select(func.max(EVENTS.c.timestamp))
        .where(EVENTS.c.sender_id == sender_id, EVENTS.c.type_name == "session_started")
        .scalar_subquery()
    )
    query = (
        select(func.count())
        .select_from(EVENTS)
        .where(EVENTS.c.sender_id == sender_id, or_(EVENTS.c.timestamp >= started, started.is_(None)))
    )
    return int(connection.execute(query).scalar_one())


def transcript_only(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The messages, and the facts of :data:`FACT_SLOTS` that were set."""
    return [
        event
        for event in events
        if event.get("event") in TRANSCRIPT_EVENTS
        or (event.get("event") == "slot" and event.get("name") in FACT_SLOTS and event.get("value") is not None)
    ]


def _row(sender_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """One ``events`` row, as Rasa's ``SQLTrackerStore.save`` writes it."""
    intent = (event.get("parse_data") or {}).get("intent") or {}
    return {
        "sender_id": sender_id,
        "type_name": event.get("event"),
        "timestamp": event.get("timestamp"),
        "intent_name": intent.get("name") if isinstance(intent, dict) else None,
        "action_name": event.get("name"),
        "data": json.dumps(event),
    }


def _already_written(connection: Connection, sender_id: str, events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether these events were delivered before (their first message is in the table)."""
    marker = next((e for e in events if e.get("event") in TRANSCRIPT_EVENTS), events[0] if events else None)
    if marker is None or marker.get("timestamp") is None:
        return False
    query = select(EVENTS.c.id).where(
        EVENTS.c.sender_id == sender_id,
        EVENTS.c.type_name == marker.get("event"),
        EVENTS.c.timestamp == marker.get("timestamp"),
    )
    return connection.execute(query.limit(1)).first() is not None


def append_events(connection: Connection, payload: Mapping[str, Any]) -> int:
    """Write a :func:`tracker_record`'s events; how many rows were added."""
    sender_id = str(payload["sender_id"])
    events: list[Mapping[str, Any]] = list(payload.get("events") or [])
    if not events or _already_written(connection, sender_id, events):
        return 0
    base = payload.get("base")
    rows: list[Mapping[str, Any]]
    if base is not None and latest_session_count(connection, sender_id) == base:
        rows = events
    else:
        if base is not None:
            logger.warning("A conversation moved on while its last turn waited; that turn is kept as transcript.")
        rows = transcript_only(events)
        total = connection.execute(
            select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id == sender_id)
        ).scalar_one()
        if not total:
            rows = [*(payload.get("header") or []), *rows]
    if rows:
        connection.execute(insert(EVENTS), [_row(sender_id, event) for event in rows])
    return len(rows)


# ---- one outbox per database, per process ----

_registry_lock = threading.Lock()
_outboxes: dict[Path, Outbox] = {}


def outbox_for(database_url: str) -> Outbox:
    """The process's outbox for ``database_url`` (one object per outbox file)."""
    path = outbox_path_for(database_url).resolve()
    with _registry_lock:
        outbox = _outboxes.get(path)
        if outbox is None:
            outbox = _outboxes[path] = Outbox(path, database_url)
        return outbox


def get_outbox() -> Outbox:
    """The outbox of ``DATABASE_URL``."""
    return outbox_for(load_settings().database_url)


def reset_outboxes() -> None:
    """Close and forget every outbox of this process (tests)."""
    with _registry_lock:
        outboxes = list(_outboxes.values())
        _outboxes.clear()
    for outbox in outboxes:
        outbox.close()
