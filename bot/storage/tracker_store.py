"""Rasa's SQL tracker store, pointed at the clinic's ``DATABASE_URL``, honest when it is down.

``endpoints.yml`` needs only::

    tracker_store:
      type: bot.storage.tracker_store.ClinicTrackerStore

Rasa 3.6 builds a custom store as ``Class(host=<url from endpoints.yml>, domain=...,
event_broker=..., **<other keys>)``; the database is taken from the settings instead, so the
tracker and the clinic's own tables (``bot.storage``) always share one database.

When the database can't be reached (see docs/database-faults.md):

- **Reading** a conversation gives Rasa a :class:`RecordsUnavailableTracker` rather than
  nothing. (Rasa wraps every tracker store in a ``FailSafeTrackerStore``, which would turn the
  error into ``None``: a fresh conversation kept in memory, an introduction, and the facts the
  patient gave gone.) On that tracker an ordinary message gets ``utter_records_unavailable``
  ("I can't reach our records right now…", with the clinic's phone) and nothing else, while a
  red flag goes through the usual rules: the urgent instruction, and its record kept in the
  outbox by the action server. The same holds for every server: none carries a conversation
  on from a copy of its own.
- **Saving** puts the turn's events in the outbox (``bot.storage.outbox``). They are written
  back before the conversation is read again, so the conversation carries on from where it
  was: the events of a turn that began while the database answered are written as they are
  (if nobody else wrote to that conversation meanwhile), and the turns answered while it was
  down are added as transcript (the messages, and whether an emergency was reported).
- Every database call runs in a worker thread with the engine's timeouts
  (``bot.storage.db``), so a stuck call holds up its own conversation only. After a failure
  the database is left alone for :data:`REST_SECONDS`, and turns are answered at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import sessionmaker

from bot.settings import load_settings
from bot.storage.db import (
    PATIENT_STATEMENT_TIMEOUT_MS,
    database_unavailable,
    make_engine,
    normalize_url,
    when_unlocked,
)
from bot.storage.outbox import Outbox, outbox_for, tracker_key, tracker_record

logger = logging.getLogger(__name__)

RECORDS_UNAVAILABLE = "utter_records_unavailable"
"""The answer to an ordinary message while the database can't be reached (domain.yml)."""
AFTER_EMERGENCY = "utter_after_emergency"
"""Its place once a red flag was reported in that same stretch."""
RED_FLAG_INTENTS = frozenset({"report_red_flag", "possible_red_flag"})
SAFETY_QUESTION = "red_flag_check_form"
SAFETY_FOLLOWUPS = frozenset(
    {
        ACTION_LISTEN_NAME,
        RECORDS_UNAVAILABLE,
        AFTER_EMERGENCY,
        "action_handle_red_flag",
        SAFETY_QUESTION,
        "action_resolve_red_flag_check",
    }
)
REST_SECONDS = 2.0
"""After a failure, how long turns are answered without trying the database."""
UNANSWERED_CONVERSATIONS_KEPT = 5000
"""How many conversations' turns-while-down this process remembers (the oldest is forgotten)."""
_SAVED = "_clinic_events_in_database"
_LOST = "Could not keep a conversation's events in the outbox; they are lost: %s"
"""The tracker attribute: how many of its events the database holds."""


class RecordsUnavailableTracker(DialogueStateTracker):
    """What Rasa works on while the conversation can't be read: only the safety rules go on.

    After each patient message that is not a red flag (nor the answer to the safety question),
    the follow-up action is the records-unavailable answer, then listening; a follow-up back to
    the questions (after the safety question) becomes that answer too.
    """

    _armed = False
    kept = 0
    """How many of its events are in this process's memory and the outbox already."""

    def arm(self, kept: int) -> None:
        """Start steering (after the stored events were replayed)."""
        self.kept = kept
        self._armed = True

    def reply(self) -> str:
        """The answer to an ordinary message now."""
        if "emergency_reported" in self.slots and self.get_slot("emergency_reported"):
            return AFTER_EMERGENCY
        return RECORDS_UNAVAILABLE

    def update(self, event: Event, domain: Domain | None = None) -> None:
        """Apply ``event``, then choose what follows (see the class docstring)."""
        super().update(event, domain)
        if not self._armed:
            return
        if isinstance(event, UserUttered):
            if event.intent_name not in RED_FLAG_INTENTS and self.active_loop_name != SAFETY_QUESTION:
                self.trigger_followup_action(self.reply())
        elif isinstance(event, ActionExecuted) and event.action_name in (RECORDS_UNAVAILABLE, AFTER_EMERGENCY):
            self.trigger_followup_action(ACTION_LISTEN_NAME)
        elif self.followup_action and self.followup_action not in SAFETY_FOLLOWUPS:
            self.trigger_followup_action(self.reply())


class _EventsWaiting(Exception):
    """The conversation has events in the outbox that could not be written back yet."""


def _session_header(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events up to the first listening: the session start a conversation new to the database needs."""
    header: list[dict[str, Any]] = []
    for event in events:
        header.append(event)
        if event.get("event") == "action" and event.get("name") == ACTION_LISTEN_NAME:
            return header
    return []


def latest_session_length(events: Sequence[Event]) -> int:
    """How many of ``events`` Rasa's query counts as the latest session (by timestamp)."""
    starts = [event.timestamp for event in events if isinstance(event, SessionStarted)]
    if not starts:
        return len(events)
    start = max(starts)
    return sum(1 for event in events if event.timestamp >= start)


class ClinicTrackerStore(SQLTrackerStore):
    """Rasa's ``SQLTrackerStore`` on the database named by ``DATABASE_URL`` (see the module docstring)."""

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        database_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Prepare ``database_url`` (default: the settings' ``database_url``); the database may be down.

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
        try:
            engine = make_engine(url, statement_timeout_ms=PATIENT_STATEMENT_TIMEOUT_MS)
        except (ImportError, AttributeError) as error:
            raise RuntimeError(f"cannot open the tracker store: {error}") from error
        # Not SQLTrackerStore.__init__: it would connect at once, with an engine of its own
        # (no timeouts, errors quoting values), and for some errors wait for the database forever.
        TrackerStore.__init__(self, domain, event_broker)
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine)
        self.outbox: Outbox = outbox_for(url.render_as_string(hide_password=False))
        self._tables_ready = False
        self._lock = threading.Lock()
        self._unanswered: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._rest_until = 0.0
        self._down = False
        try:
            self._ensure_tables()
        except Exception as error:  # noqa: BLE001 - it is tried again before each use
            if not database_unavailable(error):
                raise
            self._went_down(error)
        if self.outbox.has_pending():
            self.outbox.wake(now=True)  # left from an earlier run

    @property
    def domain(self) -> Domain:
        """The model's domain."""
        return self._domain

    @domain.setter
    def domain(self, domain: Domain | None) -> None:
        self._domain = domain or Domain.empty()
        if domain is not None and domain.responses and RECORDS_UNAVAILABLE not in domain.responses:
            logger.error(
                "The model has no '%s' response: retrain it ('make train'), or patients get no honest "
                "answer while the database is down.",
                RECORDS_UNAVAILABLE,
            )

    # ---- reading ----

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's latest session; while it can't be read, a :class:`RecordsUnavailableTracker`."""
        if not self._resting():
            try:
                tracker: DialogueStateTracker | None = await asyncio.to_thread(
                    when_unlocked, self._read_latest, sender_id
                )
                return tracker
            except Exception as error:  # noqa: BLE001 - never a silent fresh start
                if database_unavailable(error):
                    self._went_down(error)
                elif not isinstance(error, _EventsWaiting):
                    logger.error("Could not read a conversation: %s", type(error).__name__)
        return self.records_unavailable_tracker(sender_id)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every session of the conversation (errors are raised: Rasa's fail-safe store reports them)."""
        tracker: DialogueStateTracker | None = await asyncio.to_thread(when_unlocked, self._read, conversation_id, True)
        return tracker

    async def keys(self) -> Iterable[str]:
        """The conversation ids in the database."""

        def read() -> list[str]:
            self._ensure_tables()
            with self.session_scope() as session:
                return [sender for (sender,) in session.query(self.SQLEvent.sender_id).distinct().all()]

        return await asyncio.to_thread(read)

    def _read_latest(self, sender_id: str) -> DialogueStateTracker | None:
        self._ensure_tables()
        key = tracker_key(sender_id)
        if self.outbox.has_pending([key]) and not self.outbox.flush([key]):
            raise _EventsWaiting()
        tracker = self._read(sender_id, False)
        self._came_back(sender_id)
        return tracker

    def _read(self, sender_id: str, all_sessions: bool) -> DialogueStateTracker | None:
        self._ensure_tables()
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions).all()
            events = [json.loads(row.data) for row in rows]
        if not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not all_sessions:
            setattr(tracker, _SAVED, len(tracker.events))
        return tracker

    def records_unavailable_tracker(self, sender_id: str) -> RecordsUnavailableTracker:
        """The tracker for a turn while the conversation can't be read (turns since the outage kept)."""
        with self._lock:
            events = self._unanswered.get(sender_id)
            if events is not None:
                self._unanswered.move_to_end(sender_id)
        events = list(events) if events is not None else self._stub()
        tracker = RecordsUnavailableTracker.from_dict(sender_id, events, self.domain.slots)
        tracker.arm(kept=len(events))
        return tracker

    def _stub(self) -> list[dict[str, Any]]:
        """A session that has begun: no introduction, the clinic's details, listening."""
        settings = load_settings()
        now = time.time()
        events: list[Event] = [ActionExecuted(ACTION_SESSION_START_NAME, timestamp=now), SessionStarted(timestamp=now)]
        slots = self.domain.slots
        names = {slot.name for slot in slots}
        for name, value in (("clinic_name", settings.clinic_name), ("clinic_phone", settings.clinic_phone)):
            if name in names:
                events.append(SlotSet(name, value, timestamp=now))
        events.append(ActionExecuted(ACTION_LISTEN_NAME, timestamp=now))
        return [event.as_dict() for event in events]

    # ---- saving ----

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the new events; when the database can't take them, keep them in the outbox."""
        await self.stream_events(tracker)
        if isinstance(tracker, RecordsUnavailableTracker):
            await asyncio.to_thread(when_unlocked, self._keep_unanswered, tracker)
            return
        if not self._resting():
            try:
                await asyncio.to_thread(when_unlocked, self._write, tracker)
                return
            except _EventsWaiting:
                pass  # kept below, behind the conversation's earlier events
            except Exception as error:  # noqa: BLE001 - the events are kept below
                if database_unavailable(error):
                    self._went_down(error)
                else:
                    logger.error("Could not save a conversation: %s", type(error).__name__)
        await asyncio.to_thread(self._keep_turn, tracker)

    def _write(self, tracker: DialogueStateTracker) -> None:
        self._ensure_tables()
        if self.outbox.has_pending([tracker_key(tracker.sender_id)]):
            raise _EventsWaiting()  # the kept events go first, in order
        with self.session_scope() as session:
            rows: list[dict[str, Any]] = []
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                intent = (data.get("parse_data") or {}).get("intent") or {}
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": intent.get("name") if isinstance(intent, dict) else None,
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:  # one INSERT for the turn's events, in order (not one ORM object each)
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        setattr(tracker, _SAVED, len(tracker.events))

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """The events the database does not hold yet.

        A tracker this store read or wrote knows how many of its events are stored (``_SAVED``,
        counted the way Rasa's query counts them): no ``COUNT`` query on every turn. Any other
        tracker is counted by Rasa's query.
        """
        saved = getattr(tracker, _SAVED, None)
        if saved is None:
            counted: Iterator[Event] = super()._additional_events(session, tracker)
            return counted
        return iter(list(tracker.events)[saved:])

    def _keep_turn(self, tracker: DialogueStateTracker) -> None:
        """The events of a turn that began with the database up: into the outbox, to be written as they are."""
        events = list(tracker.events)
        saved = min(int(getattr(tracker, _SAVED, 0)), len(events))
        if saved == len(events):
            return
        record = tracker_record(
            tracker.sender_id,
            [event.as_dict() for event in events[saved:]],
            base=latest_session_length(events[:saved]),
        )
        try:
            self.outbox.add(record)
        except Exception as error:  # noqa: BLE001 - nothing more can be done; said loudly
            logger.error(_LOST, type(error).__name__)
            return
        setattr(tracker, _SAVED, len(events))
        self.outbox.wake()

    def _keep_unanswered(self, tracker: RecordsUnavailableTracker) -> None:
        """Turns answered while the database was down: remembered for the next turn, and kept as transcript."""
        events = [event.as_dict() for event in tracker.events]
        new = events[tracker.kept :]
        if not new:
            return
        header = _session_header(events)
        try:
            self.outbox.add(tracker_record(tracker.sender_id, new, base=None, header=header))
        except Exception as error:  # noqa: BLE001 - said loudly
            logger.error(_LOST, type(error).__name__)
        with self._lock:
            self._unanswered[tracker.sender_id] = events
            self._unanswered.move_to_end(tracker.sender_id)
            while len(self._unanswered) > UNANSWERED_CONVERSATIONS_KEPT:
                self._unanswered.popitem(last=False)
        tracker.kept = len(events)
        self.outbox.wake()

    # ---- the database's health ----

    def _ensure_tables(self) -> None:
        if self._tables_ready:
            return
        try:
            self.Base.metadata.create_all(self.engine)
        except (ProgrammingError, IntegrityError):
            pass  # another process created them at the same moment
        self._tables_ready = True

    def _resting(self) -> bool:
        return time.monotonic() < self._rest_until

    def _went_down(self, error: BaseException) -> None:
        with self._lock:
            self._rest_until = time.monotonic() + REST_SECONDS
            if self._down:
                return
            self._down = True
        logger.warning(
            "The database can't be reached (%s): patients are told so, and red flags, requests and "
            "conversation events are kept in the outbox until it answers.",
            type(error).__name__,
        )

    def _came_back(self, sender_id: str) -> None:
        with self._lock:
            self._unanswered.pop(sender_id, None)
            was_down, self._down, self._rest_until = self._down, False, 0.0
        if was_down:
            logger.info("The database answers again.")
            if self.outbox.has_pending():
                self.outbox.wake(now=True)
