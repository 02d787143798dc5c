"""Reading and writing the clinic's tables: plain functions over a caller's ``Session``.

The functions add and flush but never commit; the caller owns the transaction, e.g.::

    with get_store().transaction() as session:
        request = save_appointment_request(session, ...)

Text is stored as given (escaping is the web layer's job), capped in length; only what no
database can hold is removed (NUL characters, unpaired surrogates).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.storage.models import (
    APPOINTMENT_STATUSES,
    CHANNEL_MAX,
    CONVERSATION_ID_MAX,
    NAME_MAX,
    PREFERRED_TIME_MAX,
    RED_FLAG_KINDS,
    RED_FLAG_STATUSES,
    REQUEST_KINDS,
    STAFF_NAME_MAX,
    AppointmentRequest,
    RedFlagEvent,
    StatusChange,
)

# Crockford's base-32 without 0, 1 (read as O, I, L) as well: nothing to confuse on a phone call.
PUBLIC_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
PUBLIC_ID_PREFIX = "CR-"
PUBLIC_ID_LENGTH = 8  # 30**8 ≈ 6.6e11 ids
_PUBLIC_ID_ATTEMPTS = 5
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SURROGATES = re.compile("[\ud800-\udfff]")

RecordKind = Literal["appointment", "red_flag"]


def new_public_id() -> str:
    """A fresh random public id such as ``CR-7K2M9QXA``."""
    body = "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
    return PUBLIC_ID_PREFIX + body


def normalize_public_id(text: str) -> str | None:
    """The canonical form of an id as someone typed or read it ("cr 7k2m-9qxa"), or ``None``."""
    compact = re.sub(r"[\s\-_.]", "", text or "").upper()
    compact = compact.removeprefix("CR")
    if len(compact) != PUBLIC_ID_LENGTH or any(c not in PUBLIC_ID_ALPHABET for c in compact):
        return None
    return PUBLIC_ID_PREFIX + compact


def _storable(value: str, limit: int) -> str:
    """``value`` without NUL characters or unpaired surrogates, cut to ``limit`` characters."""
    return _SURROGATES.sub("\ufffd", value.replace("\x00", ""))[:limit]


def _required(value: str, limit: int, field: str) -> str:
    text = _storable(value, limit)
    if not text.strip():
        raise ValueError(f"{field} must not be empty")
    return text


def save_appointment_request(
    session: Session,
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
) -> AppointmentRequest:
    """Add a new appointment request with a fresh public id and flush it.

    ``phone`` must already be E.164 (see ``bot.scheduling.phone.normalize_phone``). A public id
    that happens to be taken already is replaced by another one.

    Raises:
        ValueError: a required text is empty or ``phone`` is not E.164.

    """
    if not _E164.fullmatch(phone or ""):
        raise ValueError("phone must be in E.164 form, e.g. +14155552671")
    if kind not in REQUEST_KINDS:
        raise ValueError(f"kind must be one of {REQUEST_KINDS}")
    values: dict[str, Any] = {
        "conversation_id": _required(conversation_id, CONVERSATION_ID_MAX, "conversation_id"),
        "channel": _required(channel, CHANNEL_MAX, "channel"),
        "patient_name": _required(patient_name, NAME_MAX, "patient_name"),
        "phone": phone,
        "preferred_time": _storable(preferred_time, PREFERRED_TIME_MAX),
        "preferred_date": preferred_date,
        "findings": [str(code) for code in findings],
        "facts": dict(facts or {}),
        "kind": kind,
        "status": "new",
    }
    for attempt in range(_PUBLIC_ID_ATTEMPTS):
        request = AppointmentRequest(public_id=new_public_id(), **values)
        try:
            with session.begin_nested():
                session.add(request)
        except IntegrityError:
            if attempt == _PUBLIC_ID_ATTEMPTS - 1:
                raise
            continue
        return request
    raise AssertionError("unreachable")


def record_red_flags(
    session: Session, conversation_id: str, channel: str, codes: Iterable[str], kind: str = "emergency"
) -> RedFlagEvent:
    """Add one red-flag event (status ``new``) for a detection of ``codes`` and flush it.

    ``kind`` is ``review`` for a possible red flag the patient said no to (staff look anyway).

    Raises:
        ValueError: no codes, or an empty conversation id or channel.

    """
    unique_codes = list(dict.fromkeys(str(code) for code in codes))
    if not unique_codes:
        raise ValueError("a red-flag event needs at least one code")
    event = RedFlagEvent(
        conversation_id=_required(conversation_id, CONVERSATION_ID_MAX, "conversation_id"),
        channel=_required(channel, CHANNEL_MAX, "channel"),
        red_flags=unique_codes,
        kind=kind if kind in RED_FLAG_KINDS else "emergency",
        status="new",
    )
    session.add(event)
    session.flush()
    return event


def get_appointment_by_public_id(session: Session, public_id: str) -> AppointmentRequest | None:
    """The request with this public id (typed loosely: case, spaces, hyphens), or ``None``."""
    canonical = normalize_public_id(public_id)
    if canonical is None:
        return None
    query = select(AppointmentRequest).where(AppointmentRequest.public_id == canonical)
    result: AppointmentRequest | None = session.execute(query).scalar_one_or_none()
    return result


def update_appointment_assessment(
    session: Session,
    public_id: str,
    *,
    findings: Iterable[str],
    facts: Mapping[str, Any],
    conversation_id: str | None = None,
) -> AppointmentRequest | None:
    """Replace a request's findings and facts (the assessment changed after it was saved).

    Returns the request, or ``None`` when there is no such request (or, when
    ``conversation_id`` is given, none that belongs to that conversation).
    """
    request = get_appointment_by_public_id(session, public_id)
    if request is None or (conversation_id is not None and request.conversation_id != conversation_id):
        return None
    request.findings = [str(code) for code in findings]
    request.facts = dict(facts)
    session.flush()
    return request


OPEN_STATUSES = ("new", "contacted")
"""What staff still have to act on, in both queues ("booked" and "closed" are done)."""


def _records(
    model: type[AppointmentRequest | RedFlagEvent],
    *,
    status: str | None,
    statuses: Iterable[str] | None,
    conversation_id: str | None,
    kind: str | None,
) -> Select:
    query = select(model)
    if status is not None:
        query = query.where(model.status == status)
    if statuses is not None:
        query = query.where(model.status.in_(list(statuses)))
    if conversation_id is not None:
        query = query.where(model.conversation_id == conversation_id)
    if kind is not None:
        query = query.where(model.kind == kind)
    return query


def _ordered(query: Select, model: type[AppointmentRequest | RedFlagEvent], new_first: bool) -> Select:
    order = [model.created_at.desc(), model.id.desc()]
    if new_first:
        order.insert(0, case((model.status == "new", 0), else_=1))
    return query.order_by(*order)


def _count(session: Session, query: Select) -> int:
    return int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def list_appointment_requests(
    session: Session,
    *,
    status: str | None = None,
    statuses: Iterable[str] | None = None,
    conversation_id: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
    new_first: bool = False,
) -> list[AppointmentRequest]:
    """Appointment requests, newest first (``new_first``: status "new" before the others).

    Filtered in SQL by one ``status`` or several ``statuses`` (e.g. :data:`OPEN_STATUSES`),
    a conversation and a kind; ``limit`` and ``offset`` page through them.
    """
    query = _records(AppointmentRequest, status=status, statuses=statuses, conversation_id=conversation_id, kind=kind)
    query = _ordered(query, AppointmentRequest, new_first)
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def count_appointment_requests(
    session: Session,
    *,
    status: str | None = None,
    statuses: Iterable[str] | None = None,
    conversation_id: str | None = None,
    kind: str | None = None,
) -> int:
    """How many requests :func:`list_appointment_requests` would list without a limit."""
    query = _records(AppointmentRequest, status=status, statuses=statuses, conversation_id=conversation_id, kind=kind)
    return _count(session, query)


def list_red_flag_events(
    session: Session,
    *,
    status: str | None = None,
    statuses: Iterable[str] | None = None,
    conversation_id: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
    new_first: bool = False,
) -> list[RedFlagEvent]:
    """Red-flag events, newest first (``new_first``: status "new" before the others).

    Filtered in SQL like :func:`list_appointment_requests`; ``kind`` is "emergency" or "review".
    """
    query = _records(RedFlagEvent, status=status, statuses=statuses, conversation_id=conversation_id, kind=kind)
    query = _ordered(query, RedFlagEvent, new_first)
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def count_red_flag_events(
    session: Session,
    *,
    status: str | None = None,
    statuses: Iterable[str] | None = None,
    conversation_id: str | None = None,
    kind: str | None = None,
) -> int:
    """How many events :func:`list_red_flag_events` would list without a limit."""
    query = _records(RedFlagEvent, status=status, statuses=statuses, conversation_id=conversation_id, kind=kind)
    return _count(session, query)


def open_red_flag_counts(session: Session) -> dict[str, int]:
    """Open (new or contacted) red-flag events by kind: ``{"emergency": n, "review": m}``."""
    query = (
        select(RedFlagEvent.kind, func.count())
        .where(RedFlagEvent.status.in_(OPEN_STATUSES))
        .group_by(RedFlagEvent.kind)
    )
    counts = {kind: 0 for kind in RED_FLAG_KINDS}
    for kind, count in session.execute(query):
        counts[kind if kind in counts else "emergency"] += int(count)
    return counts


def change_status(
    session: Session, kind: RecordKind, record_id: int, new_status: str, changed_by: str
) -> StatusChange | None:
    """Move a request or red-flag event to ``new_status`` and log it; ``None`` if unchanged.

    Raises:
        ValueError: unknown kind or a status that kind does not have.
        LookupError: no such record.

    """
    model: type[AppointmentRequest | RedFlagEvent]
    allowed: tuple[str, ...]
    if kind == "appointment":
        model, allowed = AppointmentRequest, APPOINTMENT_STATUSES
    elif kind == "red_flag":
        model, allowed = RedFlagEvent, RED_FLAG_STATUSES
    else:
        raise ValueError(f"unknown record kind {kind!r}")
    if new_status not in allowed:
        raise ValueError(f"{kind} status must be one of {', '.join(allowed)}")
    record = session.get(model, record_id)
    if record is None:
        raise LookupError(f"no {kind} record {record_id}")
    if record.status == new_status:
        return None
    change = StatusChange(
        kind=kind,
        record_id=record_id,
        old_status=record.status,
        new_status=new_status,
        changed_by=_required(changed_by, STAFF_NAME_MAX, "changed_by"),
    )
    record.status = new_status
    session.add(change)
    session.flush()
    return change
