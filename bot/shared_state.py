"""What several Rasa servers share through Redis (``REDIS_URL``), and under which names.

Without ``REDIS_URL`` nothing here is used: one Rasa server keeps it all in memory. With it,
every name starts with ``REDIS_PREFIX`` (default ``clinic``; letters and digits), so that
several deployments, or test runs, can share one Redis:

- ``<prefix>:lock:<conversation>``: Rasa's ticket lock of a conversation
  (:mod:`bot.storage.lock_store`);
- ``<prefix>:socketio``: the pub/sub channel of python-socketio's Redis manager
  (:mod:`bot.channels.socketio`);
- ``<prefix>:sms-replay:<MessageSid>``: a text already handled, kept for an hour
  (:mod:`bot.channels.twilio`).

None of them needs Redis to answer a patient. While Redis can't be reached, each makes do with
this process alone (its own lock, its own sockets, its own memory of texts), without waiting on
Redis at every turn (:class:`RedisBreaker`), and goes back to Redis once it answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import redis  # type: ignore[import-untyped]  # no stubs

from bot.settings import Settings

logger = logging.getLogger(__name__)

SOCKET_TIMEOUT_SECONDS = 1.0
"""How long connecting to Redis, or one command of the lock store or the replay cache, may take."""

RETRY_AFTER_SECONDS = 5.0
"""How long Redis is left alone after it failed to answer (see :class:`RedisBreaker`)."""

REDIS_DOWN: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
"""What redis-py raises when Redis can't be reached: refused, timed out, closed, still loading."""


class RedisBreaker:
    """Whether to try Redis now: not for ``pause_seconds`` after it failed, then again.

    Errors are logged by their type only (redis-py's messages name the host; callers never
    pass patient data or conversation ids).
    """

    def __init__(
        self, user: str, pause_seconds: float = RETRY_AFTER_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """``user`` names what uses Redis in the log lines, e.g. ``Lock store``."""
        self.user = user
        self.pause_seconds = pause_seconds
        self._clock = clock
        self._retry_at: float | None = None

    @property
    def down(self) -> bool:
        """Whether the last attempt failed (and none has succeeded since)."""
        return self._retry_at is not None

    def allows(self) -> bool:
        """Whether to try Redis now: it last answered, or the pause after a failure is over."""
        return self._retry_at is None or self._clock() >= self._retry_at

    def failed(self, kind: str) -> None:
        """Redis did not answer (``kind``: the exception's type name); leave it alone for the pause."""
        self._retry_at = self._clock() + self.pause_seconds
        logger.error(
            "%s: Redis can't be reached (%s); going on without it, trying again in %g s.",
            self.user,
            kind,
            self.pause_seconds,
        )

    def succeeded(self) -> None:
        """Redis answered."""
        if self._retry_at is not None:
            self._retry_at = None
            logger.warning("%s: Redis answers again and is used again.", self.user)


def redis_connection(url: str) -> dict[str, Any]:
    """``REDIS_URL`` as the arguments of Rasa's ``RedisLockStore``: host, port, db, username, password, use_ssl.

    ``redis://[[user]:password@]host[:port][/db]``, or ``rediss://`` for TLS; db 0 when not given.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError("REDIS_URL must look like redis://host:6379/0 (or rediss:// for TLS).")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ValueError("REDIS_URL's path must be a database number, e.g. redis://host:6379/0.")
    return {
        "host": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db or 0),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
    }


def redis_client(settings: Settings) -> redis.Redis:
    """A (lazily connecting) client for ``REDIS_URL`` whose commands give up after a short timeout."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
    )


def socketio_channel(settings: Settings) -> str:
    """The pub/sub channel every Rasa server's socket.io manager listens on."""
    return f"{settings.redis_prefix}:socketio"


def sms_replay_prefix(settings: Settings) -> str:
    """The start of the replay cache's keys; the ``MessageSid`` follows."""
    return f"{settings.redis_prefix}:sms-replay:"
