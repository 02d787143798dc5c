"""Staff accounts, sessions, login throttling and audit entries: functions over a ``Session``.

Like ``repository``, they flush but never commit. Times are passed in (``now``) so callers
and tests decide the clock.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.storage.models import CONVERSATION_ID_MAX, STAFF_NAME_MAX
from bot.storage.staff_models import (
    IDEMPOTENCY_KEY_MAX,
    STAFF_ROLES,
    STAFF_TEXT_STATUSES,
    USERNAME_MAX,
    AuditEntry,
    LoginThrottle,
    StaffSession,
    StaffText,
    StaffUser,
)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 12
SESSION_TOUCH_EVERY = timedelta(seconds=30)
"""How stale ``last_seen_at`` may get before a request moves it (the idle logoff is in minutes)."""


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures lock a key, for how long, and when old failures are forgotten."""

    account_failures: int = 5
    ip_failures: int = 20
    lock_for: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(minutes=15)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``.

    Raises:
        ValueError: the password is shorter than :data:`MIN_PASSWORD_LENGTH`.

    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def normalize_username(username: str) -> str:
    """The stored form of a username: stripped, lower case."""
    return username.strip().lower()


def create_user(session: Session, username: str, password: str, role: str = "staff") -> StaffUser:
    """Add an active account and flush it.

    Raises:
        ValueError: bad username, role or password, or the username is taken.

    """
    name = normalize_username(username)
    if not name or len(name) > USERNAME_MAX or not all(c.isalnum() or c in "._-@" for c in name):
        raise ValueError("the username must be 1-64 letters, digits or . _ - @")
    if role not in STAFF_ROLES:
        raise ValueError(f"the role must be one of {', '.join(STAFF_ROLES)}")
    if get_user(session, name) is not None:
        raise ValueError("that username is taken")
    user = StaffUser(username=name, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> StaffUser | None:
    """The account with this username (any case), or ``None``."""
    query = select(StaffUser).where(StaffUser.username == normalize_username(username))
    user: StaffUser | None = session.execute(query).scalar_one_or_none()
    return user


def list_users(session: Session) -> list[StaffUser]:
    """Every account, by username."""
    return list(session.execute(select(StaffUser).order_by(StaffUser.username)).scalars())


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active account whose password this is, or ``None``; rehashes outdated hashes."""
    user = get_user(session, username)
    try:
        _hasher.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.flush()
    return user


def set_password(session: Session, user: StaffUser, password: str) -> None:
    """Replace the password and end every session of the account."""
    user.password_hash = hash_password(password)
    end_user_sessions(session, user.id)


def set_active(session: Session, user: StaffUser, active: bool) -> None:
    """(De)activate an account; deactivating ends its sessions."""
    user.active = active
    if not active:
        end_user_sessions(session, user.id)
    session.flush()


# --- sessions ------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, user: StaffUser, now: datetime) -> tuple[str, StaffSession]:
    """A new session for ``user``: the cookie token (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return token, row


def resume_session(
    session: Session, token: str, now: datetime, idle: timedelta, *, touch: bool = True
) -> tuple[StaffSession, StaffUser] | None:
    """The live session and active account of a cookie token, touched; idle ones are ended.

    ``last_seen_at`` is moved at most every :data:`SESSION_TOUCH_EVERY` (so a double click
    doesn't make two requests write the same row at once); ``touch=False`` leaves it as it is
    (a page polling in the background is not someone using the app).
    """
    if not token:
        return None
    row: StaffSession | None = session.execute(
        select(StaffSession).where(StaffSession.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    if row is None:
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.active or now - row.last_seen_at > idle:
        session.delete(row)
        session.flush()
        return None
    if touch and now - row.last_seen_at >= SESSION_TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return row, user


def end_session(session: Session, token: str) -> None:
    """Forget the session of this cookie token (logout)."""
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))


def end_idle_sessions(session: Session, seen_before: datetime) -> int:
    """Forget sessions not used since ``seen_before``; returns how many."""
    result = session.execute(delete(StaffSession).where(StaffSession.last_seen_at < seen_before))
    return int(result.rowcount or 0)


def end_user_sessions(session: Session, user_id: int) -> None:
    """Forget every session of one account."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


# --- throttling ----------------------------------------------------------------------------


def locked_until(session: Session, keys: list[str], now: datetime) -> datetime | None:
    """When the latest lock on any of ``keys`` ends, or ``None`` if none is locked now."""
    rows = session.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).scalars()
    ends = [row.locked_until for row in rows if row.locked_until is not None and row.locked_until > now]
    return max(ends) if ends else None


def record_failure(session: Session, key: str, limit: int, policy: ThrottlePolicy, now: datetime) -> bool:
    """Count a failed login for ``key``; lock it once ``limit`` is reached. True if now locked."""
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, last_failure_at=now)
        session.add(row)
    elif now - row.last_failure_at > policy.window and (row.locked_until is None or row.locked_until <= now):
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    locked = row.failures >= limit
    if locked:
        # back off: each failure past the limit doubles the lock, up to 16 times
        row.locked_until = now + policy.lock_for * (2 ** min(row.failures - limit, 4))
    session.flush()
    return locked


def clear_failures(session: Session, key: str) -> None:
    """Forget the failures of ``key`` (after a successful login)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


# --- audit ---------------------------------------------------------------------------------


def audit(session: Session, actor: str, action: str, target: str = "", detail: str = "") -> AuditEntry:
    """Add one audit entry and flush it."""
    entry = AuditEntry(actor=(actor or "?")[:STAFF_NAME_MAX], action=action[:32], target=target[:255], detail=detail)
    session.add(entry)
    session.flush()
    return entry


def list_audit(session: Session, *, limit: int = 100, offset: int = 0) -> tuple[list[AuditEntry], int]:
    """Audit entries, newest first, and how many there are in all."""
    total = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    return list(session.execute(query).scalars()), int(total)


# --- texts to patients ---------------------------------------------------------------------


def record_staff_text(
    session: Session,
    *,
    conversation_id: str,
    staff_username: str,
    body: str,
    sent_at: datetime,
    status: str,
    twilio_sid: str | None = None,
    failure: str = "",
    idempotency_key: str | None = None,
) -> StaffText:
    """Add one staff text (``status`` "sent" with Twilio's SID, or "failed" with why) and flush it.

    ``idempotency_key`` is the key of the form it came from; the database refuses a second
    row with the same key (``IntegrityError``), which is what stops a double send.

    Raises:
        ValueError: an unknown status, an empty body, an over-long conversation id or key.

    """
    if status not in STAFF_TEXT_STATUSES:
        raise ValueError(f"the status must be one of {', '.join(STAFF_TEXT_STATUSES)}")
    if not body or not conversation_id or len(conversation_id) > CONVERSATION_ID_MAX:
        raise ValueError("a staff text needs a body and a conversation id")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
        raise ValueError("an idempotency key has 1 to 64 characters")
    text = StaffText(
        conversation_id=conversation_id,
        staff_username=(staff_username or "?")[:STAFF_NAME_MAX],
        body=body,
        sent_at=sent_at,
        status=status,
        twilio_sid=twilio_sid,
        failure=failure[:64],
        idempotency_key=idempotency_key,
    )
    session.add(text)
    session.flush()
    return text


def get_staff_text_by_key(session: Session, idempotency_key: str) -> StaffText | None:
    """The text sent from the form with this key, or ``None``."""
    query = select(StaffText).where(StaffText.idempotency_key == idempotency_key)
    text: StaffText | None = session.execute(query).scalar_one_or_none()
    return text


def complete_staff_text(
    session: Session, text_id: int, *, status: str, twilio_sid: str | None = None, failure: str = ""
) -> StaffText:
    """Record what Twilio answered for a text reserved before sending (see :data:`SENDING`).

    Raises:
        ValueError: an unknown status.
        LookupError: no such text (it was deleted meanwhile, e.g. by ``forget``).

    """
    if status not in STAFF_TEXT_STATUSES:
        raise ValueError(f"the status must be one of {', '.join(STAFF_TEXT_STATUSES)}")
    text = session.get(StaffText, text_id)
    if text is None:
        raise LookupError(f"no staff text {text_id}")
    text.status = status
    text.twilio_sid = twilio_sid
    text.failure = failure[:64]
    session.flush()
    return text


def list_staff_texts(session: Session, conversation_id: str) -> list[StaffText]:
    """The texts staff sent in one conversation, oldest first."""
    query = select(StaffText).where(StaffText.conversation_id == conversation_id)
    return list(session.execute(query.order_by(StaffText.sent_at, StaffText.id)).scalars())
