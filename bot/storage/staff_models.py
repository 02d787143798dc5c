"""Tables for staff review: accounts, server-side sessions, login throttling and the audit log.

They share the clinic's ``Base``; :func:`init_staff_tables` creates the missing ones.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Index, Integer, String, Text
from sqlalchemy.engine import Engine

from bot.storage.models import CONVERSATION_ID_MAX, STAFF_NAME_MAX, Base, UTCDateTime, utcnow

STAFF_ROLES = ("staff", "admin")
USERNAME_MAX = 64
STAFF_TEXT_STATUSES = ("sent", "failed")
IDEMPOTENCY_KEY_MAX = 64
SENDING = "sending"
"""``failure`` of a text reserved before it goes to Twilio (status "failed" until Twilio answers)."""


class StaffUser(Base):
    """A staff account; the password is kept only as an argon2 hash."""

    __tablename__ = "clinic_staff_users"
    __table_args__ = (CheckConstraint("role IN ('staff', 'admin')", name="ck_clinic_staff_role"),)

    id = Column(Integer, primary_key=True)
    username = Column(String(USERNAME_MAX), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="staff")
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        """Identify the account without its hash."""
        return f"<StaffUser {self.username} role={self.role} active={self.active}>"


class StaffSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "clinic_staff_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    user_id = Column(Integer, nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime, nullable=False, default=utcnow)


class LoginThrottle(Base):
    """Recent failed logins for one key (``user:<name>`` or ``ip:<address>``)."""

    __tablename__ = "clinic_login_throttle"

    key = Column(String(160), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    last_failure_at = Column(UTCDateTime, nullable=False, default=utcnow)
    locked_until = Column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """Who did what, when; ``target`` and ``detail`` never hold a name, phone or patient words."""

    __tablename__ = "clinic_audit_log"
    __table_args__ = (Index("ix_clinic_audit_at", "at"),)

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow)
    actor = Column(String(STAFF_NAME_MAX), nullable=False)
    action = Column(String(32), nullable=False)
    target = Column(String(255), nullable=False, default="")
    detail = Column(Text, nullable=False, default="")


class StaffText(Base):
    """A text message a staff member sent (or tried to send) to the patient of an SMS conversation.

    ``twilio_sid`` is Twilio's message SID when it accepted the message; ``failure`` says why it
    did not (kind, HTTP status, Twilio error code; never the number or Twilio's error text).
    The number is not stored: it is the conversation's.
    """

    __tablename__ = "clinic_staff_texts"
    __table_args__ = (
        CheckConstraint("status IN ('sent', 'failed')", name="ck_clinic_staff_text_status"),
        Index("ix_clinic_staff_text_conversation", "conversation_id", "sent_at"),
        # One row per form the staff app rendered: a double click or two tabs can't send twice.
        Index("ux_clinic_staff_text_idempotency_key", "idempotency_key", unique=True),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(CONVERSATION_ID_MAX), nullable=False)
    staff_username = Column(String(STAFF_NAME_MAX), nullable=False)
    body = Column(Text, nullable=False)
    sent_at = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False)
    twilio_sid = Column(String(64), nullable=True)
    failure = Column(String(64), nullable=False, default="")
    idempotency_key = Column(String(IDEMPOTENCY_KEY_MAX), nullable=True)
    """The key of the form it was sent from (unique); ``None`` for rows written before keys existed."""

    def __repr__(self) -> str:
        """Identify the row without the message (reprs end up in logs)."""
        return f"<StaffText {self.id} status={self.status}>"


def init_staff_tables(engine: Engine) -> None:
    """Create every missing clinic table, the staff ones included (never Rasa's ``events``).

    Indexes added to a table after its first release (the unique idempotency key of
    ``clinic_staff_texts``) are created too: ``create_all`` skips the indexes of existing tables.
    Call it after ``init_db`` (``ClinicStore`` does), which adds the columns they need.
    """
    Base.metadata.create_all(engine)
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)
