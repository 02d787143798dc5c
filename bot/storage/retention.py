"""Deleting patients' data: old conversations (retention) and one patient on request."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.scheduling.phone import normalize_phone
from bot.storage.conversations import EVENTS, has_events_table
from bot.storage.models import AppointmentRequest, RedFlagEvent, StatusChange
from bot.storage.staff_models import StaffText


@dataclass(frozen=True)
class Deleted:
    """How many conversations, tracker events and clinic rows were deleted."""

    conversations: int = 0
    events: int = 0
    requests: int = 0
    red_flags: int = 0
    staff_texts: int = 0

    def describe(self) -> str:
        """A one-line summary without any personal data (for the audit log and the CLI)."""
        return (
            f"conversations={self.conversations} events={self.events} "
            f"requests={self.requests} red_flags={self.red_flags} staff_texts={self.staff_texts}"
        )


def delete_conversations(session: Session, conversation_ids: Iterable[str]) -> Deleted:
    """Delete the tracker events, requests, red-flag events, their status changes and staff texts of these ids."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return Deleted()
    events = 0
    if has_events_table(session.get_bind()):
        events = session.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(ids))).rowcount or 0
    request_ids = list(
        session.execute(select(AppointmentRequest.id).where(AppointmentRequest.conversation_id.in_(ids))).scalars()
    )
    flag_ids = list(session.execute(select(RedFlagEvent.id).where(RedFlagEvent.conversation_id.in_(ids))).scalars())
    for kind, record_ids in (("appointment", request_ids), ("red_flag", flag_ids)):
        if record_ids:
            session.execute(
                delete(StatusChange).where(StatusChange.kind == kind, StatusChange.record_id.in_(record_ids))
            )
    session.execute(delete(AppointmentRequest).where(AppointmentRequest.conversation_id.in_(ids)))
    session.execute(delete(RedFlagEvent).where(RedFlagEvent.conversation_id.in_(ids)))
    texts = session.execute(delete(StaffText).where(StaffText.conversation_id.in_(ids))).rowcount or 0
    session.flush()
    return Deleted(len(ids), int(events), len(request_ids), len(flag_ids), int(texts))


def conversations_older_than(session: Session, cutoff: datetime) -> list[str]:
    """Ids of conversations whose last activity (tracker event, clinic row, staff text) is before ``cutoff``."""
    last: dict[str, datetime] = {}
    if has_events_table(session.get_bind()):
        query = select(EVENTS.c.sender_id, func.max(EVENTS.c.timestamp)).group_by(EVENTS.c.sender_id)
        for sender_id, timestamp in session.execute(query):
            last[sender_id] = datetime.fromtimestamp(timestamp or 0.0, tz=cutoff.tzinfo)
    for model, column in (
        (AppointmentRequest, AppointmentRequest.created_at),
        (RedFlagEvent, RedFlagEvent.created_at),
        (StaffText, StaffText.sent_at),
    ):
        query = select(model.conversation_id, func.max(column)).group_by(model.conversation_id)
        for conversation_id, created_at in session.execute(query):
            if created_at is not None and created_at.tzinfo is None:
                created_at = created_at.replace(tzinfo=cutoff.tzinfo)
            last[conversation_id] = max(last.get(conversation_id, created_at), created_at)
    return [conversation_id for conversation_id, at in last.items() if at < cutoff]


def purge_older_than(session: Session, cutoff: datetime) -> Deleted:
    """Delete every conversation with no activity since ``cutoff``."""
    return delete_conversations(session, conversations_older_than(session, cutoff))


def conversations_of_phone(session: Session, phone: str, region: str = "US") -> list[str]:
    """Ids of the conversations of exactly this phone number, whichever way it is typed.

    The number is read as E.164 (``region`` for numbers without a country code) and compared
    whole, never by its last digits: deleting cannot be undone, and two patients' numbers can
    end alike. Found: conversations with a request for the number, SMS conversations from it
    (the number Twilio gave), and conversations where it was given as the phone to call.

    Raises:
        ValueError: ``phone`` is not a whole phone number.

    """
    number = normalize_phone(phone, region)
    if number is None:
        raise ValueError("give the whole phone number, with its area code (and its country code outside the US)")
    found = set(
        session.execute(select(AppointmentRequest.conversation_id).where(AppointmentRequest.phone == number)).scalars()
    )
    if has_events_table(session.get_bind()):
        # SQL narrows to events holding the digits; the number itself is compared after reading the JSON.
        query = select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.data).where(
            EVENTS.c.type_name.in_(("user", "slot")),
            EVENTS.c.data.contains(number.lstrip("+"), autoescape=True),
        )
        for sender_id, type_name, data in session.execute(query):
            if sender_id not in found and _names_number(type_name, data, number, region):
                found.add(sender_id)
    return sorted(found)


def _names_number(type_name: str, data: str | None, number: str, region: str) -> bool:
    """True if the event is an SMS from ``number`` or sets the ``phone`` slot to it."""
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return False
    if not isinstance(event, dict):
        return False
    if type_name == "user":
        metadata = event.get("metadata")
        value = metadata.get("phone") if isinstance(metadata, dict) else None
    else:
        value = event.get("value") if event.get("name") == "phone" else None
    return isinstance(value, str) and normalize_phone(value, region) == number
