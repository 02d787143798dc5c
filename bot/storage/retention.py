"""Deleting patients' data: old conversations (retention) and one patient on request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.storage.conversations import EVENTS, has_events_table, load_conversations
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


def conversations_of_phone(session: Session, phone: str) -> list[str]:
    """Ids of conversations with a request from this phone, or SMS from it (digits compared)."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) < 7:
        raise ValueError("give the whole phone number")
    found = {
        request.conversation_id
        for request in session.execute(select(AppointmentRequest)).scalars()
        if "".join(c for c in request.phone if c.isdigit()).endswith(digits)
    }
    for conv in load_conversations(session):
        sms_digits = "".join(c for c in conv.sms_phone if c.isdigit())
        if sms_digits and sms_digits.endswith(digits):
            found.add(conv.id)
    return sorted(found)
