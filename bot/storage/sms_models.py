"""The SMS opt-out table: which phone numbers said STOP (imported by ``db`` so ``init_db`` creates it)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String

from bot.storage.models import Base, UTCDateTime, utcnow

SMS_PHONE_MAX = 64
"""Twilio's ``From`` is E.164 for SMS; the column allows the longer forms some senders have."""


class SmsOptOut(Base):
    """One phone number's SMS subscription state; a row exists once the number has said STOP.

    ``opted_out`` is the current state; ``opted_out_at`` is the latest STOP, ``opted_in_at``
    the latest START after it (``None`` if the number never came back).
    """

    __tablename__ = "clinic_sms_opt_outs"

    id = Column(Integer, primary_key=True)
    phone = Column(String(SMS_PHONE_MAX), nullable=False, unique=True)
    opted_out = Column(Boolean, nullable=False, default=True)
    opted_out_at = Column(UTCDateTime, nullable=False, default=utcnow)
    opted_in_at = Column(UTCDateTime, nullable=True)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        """Identify the row without the phone number (reprs end up in logs)."""
        return f"<SmsOptOut {self.id} opted_out={self.opted_out}>"
