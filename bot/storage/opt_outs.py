"""SMS opt-outs (STOP / START): plain functions over a caller's ``Session``, like ``repository``.

The functions add and flush but never commit; the caller owns the transaction::

    with get_store().transaction() as session:
        newly = record_opt_out(session, "+14155552671")

The phone is stored as Twilio sends it in ``From`` (E.164 for SMS), because staff need it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.models import utcnow
from bot.storage.sms_models import SMS_PHONE_MAX, SmsOptOut


def _checked_phone(phone: str) -> str:
    value = (phone or "").strip()
    if not value or len(value) > SMS_PHONE_MAX or not value.isprintable():
        raise ValueError(f"phone must be 1 to {SMS_PHONE_MAX} printable characters")
    return value


def get_opt_out(session: Session, phone: str) -> SmsOptOut | None:
    """The opt-out row of ``phone`` (opted out now or earlier), or ``None``."""
    query = select(SmsOptOut).where(SmsOptOut.phone == _checked_phone(phone))
    result: SmsOptOut | None = session.execute(query).scalar_one_or_none()
    return result


def is_opted_out(session: Session, phone: str) -> bool:
    """True if ``phone`` said STOP and has not said START since."""
    row = get_opt_out(session, phone)
    return bool(row is not None and row.opted_out)


def record_opt_out(session: Session, phone: str, now: datetime | None = None) -> bool:
    """Mark ``phone`` opted out; True if it was not opted out before (so the caller confirms once).

    Two STOPs racing for a new number: the loser's insert fails on the unique phone and it
    reads the winner's row instead (and returns False).
    """
    phone = _checked_phone(phone)
    when = now or utcnow()
    row = get_opt_out(session, phone)
    if row is None:
        try:
            with session.begin_nested():
                session.add(SmsOptOut(phone=phone, opted_out=True, opted_out_at=when, updated_at=when))
            return True
        except IntegrityError:
            row = get_opt_out(session, phone)
            if row is None:
                raise
    if row.opted_out:
        return False
    row.opted_out = True
    row.opted_out_at = when
    session.flush()
    return True


def record_opt_in(session: Session, phone: str, now: datetime | None = None) -> bool:
    """Mark ``phone`` opted in again; True if it was opted out (False: nothing to change)."""
    row = get_opt_out(session, phone)
    if row is None or not row.opted_out:
        return False
    row.opted_out = False
    row.opted_in_at = now or utcnow()
    session.flush()
    return True


def list_opt_outs(session: Session, *, only_current: bool = True, limit: int = 100, offset: int = 0) -> list[SmsOptOut]:
    """Opt-out rows, latest STOP first; ``only_current=False`` includes numbers that came back."""
    query = select(SmsOptOut)
    if only_current:
        query = query.where(SmsOptOut.opted_out.is_(True))
    query = query.order_by(SmsOptOut.opted_out_at.desc(), SmsOptOut.id.desc())
    return list(session.execute(query.limit(limit).offset(offset)).scalars())
