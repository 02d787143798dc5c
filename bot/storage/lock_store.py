"""Rasa's lock store for the settings: in memory for one server, Redis for several.

``endpoints.yml`` needs only::

    lock_store:
      type: bot.storage.lock_store.ClinicLockStore

Rasa 3.6 builds a custom lock store as ``Class(endpoint_config=...)``. :class:`ClinicLockStore`
returns, like the tracker store reading ``DATABASE_URL``, what the settings ask for:

- without ``REDIS_URL``, Rasa's ``InMemoryLockStore`` (one server; Rasa's default);
- with it, :class:`FallbackRedisLockStore`, an :class:`AtomicRedisLockStore`: Rasa's
  ``RedisLockStore`` (its ticket lock, its key ``<REDIS_PREFIX>:lock:<conversation>``, its
  JSON), whose changes to a lock are atomic, and which goes on without Redis (below).

Why not ``RedisLockStore`` as it is: it reads a conversation's lock, changes it in Python and
writes it back, with nothing between two servers doing the same at the same moment. Two servers
taking a message of one conversation at once can then both get the lock (the turns run side by
side, and one tracker's events overwrite the other's), or one deletes the other's ticket (Rasa
raises ``LockError`` and the message is dropped). Two processes each firing 4 messages for one
conversation at a time, 30 times, saw both within three runs. (Rasa Pro's
``ConcurrentRedisLockStore`` exists for this reason; it is not part of Rasa Open Source.) Here
each change runs in a Redis transaction (``WATCH``/``MULTI``/``EXEC``), retried when another
server changed the lock meanwhile; the waiting, ordering and expiry are Rasa's own.

The lifetime of a ticket is Rasa's ``TICKET_LOCK_LIFETIME`` (read from the environment when Rasa
starts; ``bot.run`` sets it from the settings, default 120 s). It must be longer than a turn
can take plus the wait behind the conversation's earlier messages: when a ticket expires, the
next message goes ahead while the slow one is still running.

Without Redis, a turn still runs. A red flag must always get the urgent instruction, and a
conversation must always move forward; so while Redis can't be reached (refused, timed out:
redis-py's ``ConnectionError`` / ``TimeoutError``), :class:`FallbackRedisLockStore` serialises a
conversation's turns in this process only (Rasa's in-memory ticket lock, which it takes on every
turn anyway, before the one in Redis), logs the error's type, and tries Redis again on the first
turn after a pause of :data:`~bot.shared_state.RETRY_AFTER_SECONDS`. Meanwhile two servers may run
one conversation's turns side by side, as without a lock store shared between them.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore, RedisLockStore
from redis.exceptions import WatchError  # type: ignore[import-untyped]  # no stubs

from bot.settings import Settings, load_settings
from bot.shared_state import REDIS_DOWN, RETRY_AFTER_SECONDS, SOCKET_TIMEOUT_SECONDS, RedisBreaker, redis_connection

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
Change = Callable[[TicketLock | None], tuple[_T, TicketLock | None]]


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's ``RedisLockStore`` whose every change to a lock is one Redis transaction."""

    def _change(self, conversation_id: str, change: Change[_T]) -> _T:
        """Apply ``change`` to the stored lock atomically; None from it deletes the lock.

        ``change`` gets the lock (None when there is none) and returns ``(result, lock)``. When
        another server writes the lock between the read and the write, it all runs again.
        """
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    before = TicketLock.from_dict(json.loads(stored)) if stored else None
                    result, after = change(before)
                    pipe.multi()
                    if after is not None:
                        pipe.set(key, after.dumps())
                    elif before is not None:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except WatchError:
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket at the end of the conversation's queue (the lock is made when there is none)."""
        try:
            return self._issue(conversation_id, lock_lifetime, []).number
        except Exception as error:
            raise LockError(f"Error while acquiring lock: {type(error).__name__}") from error

    def _issue(self, conversation_id: str, lock_lifetime: float, issued: list[Ticket]) -> Ticket:
        """Issue a ticket; it is also appended to ``issued`` before it is written (for when the write fails)."""

        def issue(lock: TicketLock | None) -> tuple[Ticket, TicketLock | None]:
            lock = lock or self.create_lock(conversation_id)
            lock.issue_ticket(lock_lifetime)
            issued.append(lock.tickets[-1])
            return lock.tickets[-1], lock

        return self._change(conversation_id, issue)

    def update_lock(self, conversation_id: str) -> None:
        """Drop the conversation's expired tickets."""

        def drop_expired(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return None, lock

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove one ticket from the conversation's queue."""

        def finish(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return None, lock

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the ticket, and the lock itself when nobody else waits (one step, not Rasa's three)."""

        def finish(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return None, lock if lock.is_someone_waiting() else None

        self._change(conversation_id, finish)

    def remove_ticket(self, conversation_id: str, ticket: Ticket) -> None:
        """Like :meth:`cleanup`, but only this very ticket (its number and expiry).

        A ticket left in Redis while it was down is removed this way: if Redis lost the lock
        meanwhile, a new lock's ticket of the same number is someone else's.
        """

        def finish(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock is None:
                return None, None
            lock.tickets = deque(t for t in lock.tickets if (t.number, t.expires) != (ticket.number, ticket.expires))
            return None, lock if lock.is_someone_waiting() else None

        self._change(conversation_id, finish)


class FallbackRedisLockStore(AtomicRedisLockStore):
    """:class:`AtomicRedisLockStore` whose :meth:`lock` goes on in this process while Redis is down.

    :meth:`lock` is how Rasa takes a conversation's lock (the agent's messages, reminders, the
    HTTP API; the SMS channel's opted-out texts too); it takes this process's in-memory ticket
    lock first, then the one in Redis. Only :meth:`lock` falls back; the single steps
    (``issue_ticket``, ``get_lock``, ``cleanup``, …) are :class:`AtomicRedisLockStore`'s.
    """

    MAX_LEFT_OVER = 10_000
    """At most this many tickets whose removal from Redis failed are kept to remove later."""

    def __init__(self, *args: Any, retry_after_seconds: float = RETRY_AFTER_SECONDS, **kwargs: Any) -> None:
        """``RedisLockStore``'s arguments; Redis is left alone for ``retry_after_seconds`` after a failure."""
        super().__init__(*args, **kwargs)
        self.local = InMemoryLockStore()
        self.breaker = RedisBreaker("Lock store", retry_after_seconds)
        self.left_over: deque[tuple[str, Ticket]] = deque(maxlen=self.MAX_LEFT_OVER)

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[TicketLock]:
        """The conversation's lock in this process, and in Redis when it answers (Rasa's ``lock``)."""
        async with self.local.lock(conversation_id, lock_lifetime, wait_time_in_seconds) as here:
            ticket = self._shared_ticket(conversation_id, lock_lifetime)
            if ticket is None:
                yield here
                return
            try:
                shared = await self._acquire_shared(conversation_id, ticket, wait_time_in_seconds)
                yield here if shared is None else shared
            finally:
                self._release_shared(conversation_id, ticket)

    def _shared_ticket(self, conversation_id: str, lock_lifetime: float) -> Ticket | None:
        """A ticket in Redis, or None while Redis is down."""
        if not self.breaker.allows():
            return None
        issued: list[Ticket] = []
        try:
            self._remove_left_over()
            ticket = self._issue(conversation_id, lock_lifetime, issued)
        except REDIS_DOWN as error:
            self.breaker.failed(type(error).__name__)
            # The write may have reached Redis before the connection broke.
            self.left_over.extend((conversation_id, ticket) for ticket in issued[-1:])
            return None
        except Exception as error:
            raise LockError(f"Error while acquiring lock: {type(error).__name__}") from error
        self.breaker.succeeded()
        return ticket

    async def _acquire_shared(self, conversation_id: str, ticket: Ticket, wait: float) -> TicketLock | None:
        """Wait for the ticket's turn in Redis (Rasa's wait); None when Redis stops answering meanwhile."""
        try:
            return await self._acquire_lock(conversation_id, ticket.number, wait)
        except REDIS_DOWN as error:
            self.breaker.failed(type(error).__name__)
            return None

    def _release_shared(self, conversation_id: str, ticket: Ticket) -> None:
        """Remove the ticket from Redis, or keep it to remove once Redis answers again."""
        if self.breaker.allows():
            try:
                self.remove_ticket(conversation_id, ticket)
            except REDIS_DOWN as error:
                self.breaker.failed(type(error).__name__)
            else:
                self.breaker.succeeded()
                return
        # Left there, it would hold the conversation's next turns, on every server, until it expired.
        self.left_over.append((conversation_id, ticket))

    def _remove_left_over(self) -> None:
        """Remove the tickets left in Redis while it was down (raises as Redis does)."""
        while self.left_over:
            conversation_id, ticket = self.left_over[0]
            try:
                self.remove_ticket(conversation_id, ticket)
            except REDIS_DOWN:
                raise
            except Exception as error:  # noqa: BLE001 - not this turn's ticket: it expires in time
                logger.error("Lock store: a ticket left in Redis could not be removed (%s).", type(error).__name__)
            self.left_over.popleft()


def lock_store_for(settings: Settings) -> LockStore:
    """Rasa's ``InMemoryLockStore`` without ``REDIS_URL``, else a :class:`FallbackRedisLockStore` on it."""
    if not settings.redis_url:
        return InMemoryLockStore()
    return FallbackRedisLockStore(
        **redis_connection(settings.redis_url),
        key_prefix=settings.redis_prefix,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
    )


class ClinicLockStore:
    """The ``type`` for ``lock_store`` in ``endpoints.yml``; building it gives :func:`lock_store_for` the settings."""

    def __new__(cls, endpoint_config: Any = None) -> Any:
        """The lock store for ``REDIS_URL`` (see the module docstring).

        Raises:
            ValueError: ``endpoints.yml`` tried to set the connection itself (url, port, …).

        """
        given = {"url": getattr(endpoint_config, "url", None), **getattr(endpoint_config, "kwargs", {})}
        configured = sorted(key for key, value in given.items() if value is not None)
        if configured:
            raise ValueError(
                "ClinicLockStore takes Redis from REDIS_URL and REDIS_PREFIX; remove "
                f"{', '.join(configured)} from the lock_store section of endpoints.yml"
            )
        store = lock_store_for(load_settings())
        logger.info("Lock store: %s.", type(store).__name__)
        return store
