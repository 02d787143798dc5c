"""The clinic's own tables (all prefixed ``clinic_``; Rasa's tracker table is ``events``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import TypeDecorator

Base: Any = declarative_base()

APPOINTMENT_STATUSES = ("new", "contacted", "booked", "closed")
# A consultation the patient accepted, or a call-back the patient asked for ("talk to a person").
REQUEST_KINDS = ("consultation", "callback")
# A red flag the patient reported, or a possible one they said no to (kept for staff review).
RED_FLAG_KINDS = ("emergency", "review")
RED_FLAG_STATUSES = ("new", "contacted", "closed")
STATUS_KINDS = ("appointment", "red_flag")

NAME_MAX = 120
PREFERRED_TIME_MAX = 200
CONVERSATION_ID_MAX = 255
CHANNEL_MAX = 32
PHONE_MAX = 16  # "+" and at most 15 digits (E.164)
PUBLIC_ID_MAX = 16
STAFF_NAME_MAX = 120


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware one (UTC)")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach or convert to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _status_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class AppointmentRequest(Base):
    """A patient's request for a consultation, as staff will work through it."""

    __tablename__ = "clinic_appointment_requests"
    __table_args__ = (
        _status_check("status", APPOINTMENT_STATUSES, "ck_clinic_appointment_status"),
        Index("ix_clinic_appointment_status_created", "status", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    public_id = Column(String(PUBLIC_ID_MAX), nullable=False, unique=True)
    conversation_id = Column(String(CONVERSATION_ID_MAX), nullable=False, index=True)
    channel = Column(String(CHANNEL_MAX), nullable=False)
    patient_name = Column(String(NAME_MAX), nullable=False)
    phone = Column(String(PHONE_MAX), nullable=False)
    preferred_time = Column(Text, nullable=False)
    preferred_date = Column(Date, nullable=True)
    findings = Column(JSON, nullable=False, default=list)
    facts = Column(JSON, nullable=False, default=dict)
    kind = Column(String(16), nullable=False, default="consultation", server_default="consultation")
    status = Column(String(16), nullable=False, default="new")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        """Identify the row without personal data (reprs end up in logs)."""
        return f"<AppointmentRequest {self.public_id} status={self.status}>"


class RedFlagEvent(Base):
    """One detection of red flags in a conversation; staff must follow up."""

    __tablename__ = "clinic_red_flag_events"
    __table_args__ = (
        _status_check("status", RED_FLAG_STATUSES, "ck_clinic_red_flag_status"),
        Index("ix_clinic_red_flag_status_created", "status", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(CONVERSATION_ID_MAX), nullable=False, index=True)
    channel = Column(String(CHANNEL_MAX), nullable=False)
    red_flags = Column(JSON, nullable=False, default=list)
    kind = Column(String(16), nullable=False, default="emergency", server_default="emergency")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="new")
    notified_at = Column(UTCDateTime, nullable=True)
    """When the clinic's on-call channel was told (``bot.notifications``); ``None``: not yet."""

    def __repr__(self) -> str:
        """Identify the row without conversation content."""
        return f"<RedFlagEvent {self.id} status={self.status}>"


class StatusChange(Base):
    """Who moved which request or red-flag event from one status to another, and when."""

    __tablename__ = "clinic_status_changes"
    __table_args__ = (
        _status_check("kind", STATUS_KINDS, "ck_clinic_status_change_kind"),
        Index("ix_clinic_status_change_record", "kind", "record_id"),
    )

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)
    record_id = Column(Integer, nullable=False)
    old_status = Column(String(16), nullable=False)
    new_status = Column(String(16), nullable=False)
    changed_by = Column(String(STAFF_NAME_MAX), nullable=False)
    changed_at = Column(UTCDateTime, nullable=False, default=utcnow)
