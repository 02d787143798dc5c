"""Read-only view of conversations: Rasa's tracker table ``events`` plus the clinic's rows.

``events`` is declared here on its own ``MetaData`` (never created or altered by us) with the
columns Rasa 3.6's ``SQLTrackerStore`` writes; ``data`` is the JSON text of ``Event.as_dict()``.
One code path serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, and_, func, inspect, or_, select, union
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.sessions import SMS_CHANNELS
from bot.storage.models import AppointmentRequest, RedFlagEvent

EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
CHANNEL_LABELS = {"socketio": "website chat", "rest": "REST API"}
FACT_SLOTS = ("surgery_type", "weeks_since_surgery", "pain_course", "pain_return_weeks", "symptoms")
_READ_TYPES = ("user", "bot", "slot")


@dataclass
class Turn:
    """One patient or bot message."""

    speaker: str  # "patient" | "bot"
    at: datetime
    text: str
    custom: dict[str, Any] | None = None


@dataclass
class Conversation:
    """What staff see of one conversation (``sender_id``)."""

    id: str
    started_at: datetime
    last_at: datetime
    channel: str = ""
    sms_phone: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    red_flags: list[str] = field(default_factory=list)
    review_flags: list[str] = field(default_factory=list)
    """Possible red flags the patient said no to when asked (marked for staff review)."""
    booking_status: str = ""
    names: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    fact_words: dict[str, str] = field(default_factory=dict)

    @property
    def is_sms(self) -> bool:
        """True for a text-message conversation."""
        return self.channel in SMS_CHANNELS

    @property
    def channel_label(self) -> str:
        """How staff see the channel: "SMS", "website chat" or "REST API"."""
        if self.is_sms:
            return "SMS"
        return CHANNEL_LABELS.get(self.channel, self.channel or "website chat")


@dataclass(frozen=True)
class ConversationFilter:
    """The staff list's filters; ``None`` or empty means "any"."""

    since: datetime | None = None
    until: datetime | None = None
    channel: str = ""  # "", "web" or "sms"
    red_flag: bool | None = None
    finding: str = ""
    booking: bool | None = None
    search: str = ""


def has_events_table(engine: Engine) -> bool:
    """True once Rasa has created its tracker table in this database."""
    return bool(inspect(engine).has_table("events"))


def _as_time(timestamp: float | None) -> datetime:
    return datetime.fromtimestamp(timestamp or 0.0, tz=timezone.utc)


def _load(data: str | None) -> dict[str, Any]:
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _apply(conv: Conversation, type_name: str, at: datetime, event: dict[str, Any], last_user: str) -> str:
    """Fold one event into ``conv``; returns the latest patient text."""
    if type_name == "user":
        text = str(event.get("text") or "")
        conv.turns.append(Turn("patient", at, text))
        if not conv.channel and event.get("input_channel"):
            conv.channel = str(event["input_channel"])
        metadata = event.get("metadata")
        if isinstance(metadata, dict) and metadata.get("phone") and not conv.sms_phone:
            conv.sms_phone = str(metadata["phone"])
        return text
    if type_name == "bot":
        payload = event.get("data") if isinstance(event.get("data"), dict) else {}
        custom = payload.get("custom") if isinstance(payload, dict) else None
        custom = custom if isinstance(custom, dict) else None
        conv.turns.append(Turn("bot", at, str(event.get("text") or ""), custom))
        if custom and custom.get("type") == "assessment":
            conv.facts = dict(custom.get("facts") or {})
            conv.findings = [str(code) for code in custom.get("findings") or []]
        if custom and custom.get("type") == "emergency":
            for code in custom.get("red_flags") or []:
                if str(code) not in conv.red_flags:
                    conv.red_flags.append(str(code))
    elif type_name == "slot" and event.get("name") in FACT_SLOTS and event.get("value") is not None:
        conv.fact_words[str(event["name"])] = last_user
    return last_user


def load_conversations(
    session: Session, sender_ids: list[str] | Select | None = None, *, turns: bool = True
) -> list[Conversation]:
    """Every conversation (or those of ``sender_ids``), newest activity first, with our rows joined.

    ``sender_ids`` is a list of ids, or a query selecting them (see :func:`matching_ids`), which
    the database then uses as a semi-join instead of a long ``IN`` list.

    ``turns=False`` reads only what the staff list and the export show (channel, SMS number,
    facts, findings, red flags, requests, first and last activity): the first patient message
    and the assessment and emergency payloads, not every event; ``turns`` and ``fact_words``
    stay empty.
    """
    if not has_events_table(session.get_bind()):
        return []
    if not turns:
        return _load_summaries(session, sender_ids)
    query = select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data).where(
        EVENTS.c.type_name.in_(_READ_TYPES)
    )
    if sender_ids is not None:
        query = query.where(EVENTS.c.sender_id.in_(sender_ids))
    query = query.order_by(EVENTS.c.id)
    conversations: dict[str, Conversation] = {}
    last_user: dict[str, str] = {}
    for sender_id, type_name, timestamp, data in session.execute(query):
        at = _as_time(timestamp)
        conv = conversations.get(sender_id)
        if conv is None:
            conv = conversations[sender_id] = Conversation(id=sender_id, started_at=at, last_at=at)
        conv.last_at = max(conv.last_at, at)
        last_user[sender_id] = _apply(conv, type_name, at, _load(data), last_user.get(sender_id, ""))
    _join_clinic_rows(session, conversations, sender_ids)
    return _newest_first(conversations.values())


def _newest_first(conversations: Iterable[Conversation]) -> list[Conversation]:
    return sorted(conversations, key=lambda c: (c.last_at, c.id), reverse=True)


def _load_summaries(session: Session, sender_ids: list[str] | Select | None) -> list[Conversation]:
    """:func:`load_conversations` without the turns: three small queries per call."""
    span = select(EVENTS.c.sender_id, func.min(EVENTS.c.timestamp), func.max(EVENTS.c.timestamp)).where(
        EVENTS.c.type_name.in_(_READ_TYPES)
    )
    first_user = select(func.min(EVENTS.c.id)).where(EVENTS.c.type_name == "user")
    if sender_ids is not None:
        span = span.where(EVENTS.c.sender_id.in_(sender_ids))
    if isinstance(sender_ids, list):  # a query nested in here can make a planner loop row by row
        first_user = first_user.where(EVENTS.c.sender_id.in_(sender_ids))
    conversations: dict[str, Conversation] = {}
    for sender_id, first, last in session.execute(span.group_by(EVENTS.c.sender_id)):
        conversations[sender_id] = Conversation(id=sender_id, started_at=_as_time(first), last_at=_as_time(last))
    if not conversations:
        return []
    payloads = or_(
        and_(EVENTS.c.type_name == "user", EVENTS.c.id.in_(first_user.group_by(EVENTS.c.sender_id))),
        and_(EVENTS.c.type_name == "bot", or_(_has(EVENTS.c.data, _ASSESSMENT), _has(EVENTS.c.data, _EMERGENCY))),
    )
    query = select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data).where(payloads)
    if sender_ids is not None:
        query = query.where(EVENTS.c.sender_id.in_(sender_ids))
    for sender_id, type_name, timestamp, data in session.execute(query.order_by(EVENTS.c.id)):
        conv = conversations.get(sender_id)
        if conv is not None:
            _apply(conv, type_name, _as_time(timestamp), _load(data), "")
    for conv in conversations.values():
        conv.turns = []
    _join_clinic_rows(session, conversations, sender_ids)
    return _newest_first(conversations.values())


def _join_clinic_rows(
    session: Session, conversations: dict[str, Conversation], among: list[str] | Select | None = None
) -> None:
    """Add the red-flag events and requests of ``conversations`` (selected by ``among`` when it is a query)."""
    if not conversations:
        return
    ids: list[str] | Select = among if isinstance(among, Select) else list(conversations)
    for event in session.execute(
        select(RedFlagEvent).where(RedFlagEvent.conversation_id.in_(ids)).order_by(RedFlagEvent.id)
    ).scalars():
        conv = conversations.get(event.conversation_id)
        if conv is None:
            continue
        conv.channel = conv.channel or event.channel
        marked = conv.review_flags if event.kind == "review" else conv.red_flags
        for code in event.red_flags or []:
            if code not in marked:
                marked.append(code)
    query = select(AppointmentRequest).where(AppointmentRequest.conversation_id.in_(ids))
    for request in session.execute(query.order_by(AppointmentRequest.created_at, AppointmentRequest.id)).scalars():
        conv = conversations.get(request.conversation_id)
        if conv is None:
            continue
        conv.channel = conv.channel or request.channel
        conv.booking_status = request.status
        conv.names.append(request.patient_name)
        conv.phones.append(request.phone)


def load_conversation(session: Session, conversation_id: str) -> Conversation | None:
    """One conversation with its turns, or ``None``."""
    if "\x00" in conversation_id:  # no conversation id holds NUL, and PostgreSQL refuses the query (a 500)
        return None
    found = load_conversations(session, [conversation_id])
    return found[0] if found else None


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def matches(conv: Conversation, wanted: ConversationFilter) -> bool:
    """True if ``conv`` passes every filter of ``wanted`` (the reference for the SQL of :func:`filter_index`)."""
    if wanted.since and conv.last_at < wanted.since:
        return False
    if wanted.until and conv.started_at > wanted.until:
        return False
    if wanted.channel == "sms" and not conv.is_sms:
        return False
    if wanted.channel == "web" and conv.is_sms:
        return False
    if wanted.red_flag is not None and bool(conv.red_flags) != wanted.red_flag:
        return False
    if wanted.booking is not None and bool(conv.booking_status) != wanted.booking:
        return False
    if wanted.finding and wanted.finding not in conv.findings:
        return False
    search = wanted.search.strip().lower()
    if search:
        digits = _digits(search)
        in_names = any(search in name.lower() for name in conv.names)
        phones = [*conv.phones, conv.sms_phone] if conv.sms_phone else conv.phones
        in_phones = len(digits) >= MIN_PHONE_DIGITS and any(digits in _digits(phone) for phone in phones)
        if not (in_names or in_phones):
            return False
    return True


# --- filtering and paging in SQL -----------------------------------------------------------
#
# Rasa writes each event's ``data`` as ``json.dumps(event.as_dict())``: keys and values are
# separated by '": "', and a quote inside a string is always escaped (``\"``). So a pattern
# such as '"type": "emergency"' can only match the JSON structure itself, never words a patient
# or the bot wrote. LIKE works the same on both databases and never fails on a malformed row.

MIN_PHONE_DIGITS = 4
_ASSESSMENT = '"type": "assessment"'
_EMERGENCY = '"type": "emergency"'
_PHONE_KEY = '"phone": "'
_EMPTY_PHONE = '"phone": ""'


def _has(column: Any, text: str) -> Any:
    """``column LIKE '%text%'`` with ``%`` and ``_`` of ``text`` taken literally."""
    return column.contains(text, autoescape=True)


def _python_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _lower(session: Session, column: Any) -> Any:
    """``lower(column)`` as Python lowercases (SQLite's own ``lower`` folds only ASCII letters)."""
    if session.get_bind().dialect.name != "sqlite":
        return func.lower(column)
    dbapi_connection = session.connection().connection
    dbapi_connection.create_function("clinic_lower", 1, _python_lower, deterministic=True)
    return func.clinic_lower(column)


def _sms_ids() -> Any:
    """Conversations on an SMS channel: a patient message from one, or a clinic row saying so."""
    channels = sorted(SMS_CHANNELS)
    from_events = select(EVENTS.c.sender_id).where(
        EVENTS.c.type_name == "user", or_(*[_has(EVENTS.c.data, f'"input_channel": "{c}"') for c in channels])
    )
    return union(
        from_events,
        select(AppointmentRequest.conversation_id).where(AppointmentRequest.channel.in_(channels)),
        select(RedFlagEvent.conversation_id).where(RedFlagEvent.channel.in_(channels)),
    )


def _red_flag_ids() -> Any:
    """Conversations with a red flag: an emergency payload, or an event other than "review"."""
    return union(
        select(EVENTS.c.sender_id).where(EVENTS.c.type_name == "bot", _has(EVENTS.c.data, _EMERGENCY)),
        select(RedFlagEvent.conversation_id).where(RedFlagEvent.kind != "review"),
    )


def _finding_ids(code: str) -> Any:
    """Conversations whose latest assessment has the finding ``code``."""
    latest = (
        select(EVENTS.c.sender_id.label("sender_id"), func.max(EVENTS.c.id).label("event_id"))
        .where(EVENTS.c.type_name == "bot", _has(EVENTS.c.data, _ASSESSMENT))
        .group_by(EVENTS.c.sender_id)
        .subquery()
    )
    assessment = EVENTS.alias("assessment")
    return (
        select(latest.c.sender_id)
        .join(assessment, assessment.c.id == latest.c.event_id)
        .where(_has(assessment.c.data, f'"{code}"'))
    )


def _sms_phone_ids(session: Session, digits: str) -> list[str]:
    """SMS conversations whose number (first patient message's metadata) holds ``digits``.

    SQL narrows it to first messages with a phone that contain the digits somewhere; the
    number itself is then read from the JSON.
    """
    first_with_phone = (
        select(func.min(EVENTS.c.id))
        .where(
            EVENTS.c.type_name == "user",
            _has(EVENTS.c.data, _PHONE_KEY),
            ~_has(EVENTS.c.data, _EMPTY_PHONE),
        )
        .group_by(EVENTS.c.sender_id)
    )
    query = select(EVENTS.c.sender_id, EVENTS.c.data).where(
        EVENTS.c.id.in_(first_with_phone), _has(EVENTS.c.data, digits)
    )
    found: list[str] = []
    for sender_id, data in session.execute(query):
        metadata = _load(data).get("metadata")
        phone = metadata.get("phone") if isinstance(metadata, dict) else None
        if phone and digits in _digits(str(phone)):
            found.append(sender_id)
    return found


def filter_index(session: Session, wanted: ConversationFilter) -> Any:
    """A query of ``sender_id``, ``started`` and ``last`` (Unix times) of the matching conversations.

    Every filter of :class:`ConversationFilter` is applied by the database, so only the
    conversations a page shows need to be read in full. Not ordered.
    """
    started = func.min(EVENTS.c.timestamp).label("started")
    last = func.max(EVENTS.c.timestamp).label("last")
    query = select(EVENTS.c.sender_id.label("sender_id"), started, last).where(EVENTS.c.type_name.in_(_READ_TYPES))
    sender = EVENTS.c.sender_id
    if wanted.channel == "sms":
        query = query.where(sender.in_(_sms_ids()))
    elif wanted.channel == "web":
        query = query.where(sender.not_in(_sms_ids()))
    if wanted.red_flag is not None:
        query = query.where(sender.in_(_red_flag_ids()) if wanted.red_flag else sender.not_in(_red_flag_ids()))
    if wanted.booking is not None:
        booked = select(AppointmentRequest.conversation_id)
        query = query.where(sender.in_(booked) if wanted.booking else sender.not_in(booked))
    if wanted.finding:
        query = query.where(sender.in_(_finding_ids(wanted.finding)))
    search = wanted.search.strip().lower()
    if search:
        found: list[Any] = [
            sender.in_(
                select(AppointmentRequest.conversation_id).where(
                    _lower(session, AppointmentRequest.patient_name).contains(search, autoescape=True)
                )
            )
        ]
        digits = _digits(search)
        if len(digits) >= MIN_PHONE_DIGITS:
            found.append(
                sender.in_(
                    select(AppointmentRequest.conversation_id).where(
                        AppointmentRequest.phone.contains(digits, autoescape=True)
                    )
                )
            )
            sms_ids = _sms_phone_ids(session, digits)
            if sms_ids:
                found.append(sender.in_(sms_ids))
        query = query.where(or_(*found))
    query = query.group_by(EVENTS.c.sender_id)
    if wanted.since:
        query = query.having(func.max(EVENTS.c.timestamp) >= wanted.since.timestamp())
    if wanted.until:
        query = query.having(func.min(EVENTS.c.timestamp) <= wanted.until.timestamp())
    return query


@dataclass(frozen=True)
class IndexEntry:
    """One matching conversation as the index query finds it (before its events are read)."""

    id: str
    started_at: datetime
    last_at: datetime


def _newest_first_sql(index: Any) -> Any:
    return index.order_by(index.selected_columns.last.desc(), index.selected_columns.sender_id.desc())


def page_conversations(
    session: Session, wanted: ConversationFilter, *, limit: int, offset: int = 0
) -> tuple[list[Conversation], int]:
    """One page of the matching conversations, newest activity first, and how many match in all.

    The database filters, counts, orders and pages the conversation ids; then only that
    page's conversations are read (without their turns: see :func:`load_conversations`).
    """
    if not has_events_table(session.get_bind()):
        return [], 0
    index = filter_index(session, wanted)
    paged = _newest_first_sql(index.add_columns(func.count().over().label("total")))
    rows = list(session.execute(paged.limit(limit).offset(offset)))
    if rows:
        total = int(rows[0].total)
    else:
        total = int(session.execute(select(func.count()).select_from(index.subquery())).scalar_one())
    ids = [row.sender_id for row in rows]
    return load_conversations(session, ids, turns=False) if ids else [], total


def matching_ids(session: Session, wanted: ConversationFilter) -> Select:
    """A query of the ids of the conversations matching ``wanted`` (for :func:`load_conversations`)."""
    return select(filter_index(session, wanted).subquery().c.sender_id)


def conversation_index(session: Session, wanted: ConversationFilter) -> list[IndexEntry]:
    """Every matching conversation's id, first and last activity, newest activity first."""
    if not has_events_table(session.get_bind()):
        return []
    rows = session.execute(_newest_first_sql(filter_index(session, wanted)))
    return [IndexEntry(row.sender_id, _as_time(row.started), _as_time(row.last)) for row in rows]


LOAD_BATCH = 500
"""How many conversations one query reads at most (an ``IN`` list the databases take easily)."""


def search_conversations(session: Session, wanted: ConversationFilter, *, turns: bool = True) -> list[Conversation]:
    """The conversations matching ``wanted``, newest activity first (filtered by the database)."""
    ids = [entry.id for entry in conversation_index(session, wanted)]
    found: list[Conversation] = []
    for start in range(0, len(ids), LOAD_BATCH):
        found.extend(load_conversations(session, ids[start : start + LOAD_BATCH], turns=turns))
    return _newest_first(found)
