"""Read-only view of conversations: Rasa's tracker table ``events`` plus the clinic's rows.

``events`` is declared here on its own ``MetaData`` (never created or altered by us) with the
columns Rasa 3.6's ``SQLTrackerStore`` writes; ``data`` is the JSON text of ``Event.as_dict()``.
One code path serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

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


def load_conversations(session: Session, sender_ids: list[str] | None = None) -> list[Conversation]:
    """Every conversation (or those of ``sender_ids``), newest activity first, with our rows joined."""
    if not has_events_table(session.get_bind()):
        return []
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
    _join_clinic_rows(session, conversations)
    return sorted(conversations.values(), key=lambda c: (c.last_at, c.id), reverse=True)


def _join_clinic_rows(session: Session, conversations: dict[str, Conversation]) -> None:
    ids = list(conversations)
    if not ids:
        return
    for event in session.execute(select(RedFlagEvent).where(RedFlagEvent.conversation_id.in_(ids))).scalars():
        conv = conversations[event.conversation_id]
        conv.channel = conv.channel or event.channel
        marked = conv.review_flags if event.kind == "review" else conv.red_flags
        for code in event.red_flags or []:
            if code not in marked:
                marked.append(code)
    query = select(AppointmentRequest).where(AppointmentRequest.conversation_id.in_(ids))
    for request in session.execute(query.order_by(AppointmentRequest.created_at)).scalars():
        conv = conversations[request.conversation_id]
        conv.channel = conv.channel or request.channel
        conv.booking_status = request.status
        conv.names.append(request.patient_name)
        conv.phones.append(request.phone)


def load_conversation(session: Session, conversation_id: str) -> Conversation | None:
    """One conversation with its turns, or ``None``."""
    found = load_conversations(session, [conversation_id])
    return found[0] if found else None


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def matches(conv: Conversation, wanted: ConversationFilter) -> bool:
    """True if ``conv`` passes every filter of ``wanted``."""
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
        in_phones = len(digits) >= 4 and any(digits in _digits(phone) for phone in phones)
        if not (in_names or in_phones):
            return False
    return True


def search_conversations(session: Session, wanted: ConversationFilter) -> list[Conversation]:
    """The conversations matching ``wanted``, newest activity first."""
    return [conv for conv in load_conversations(session) if matches(conv, wanted)]
