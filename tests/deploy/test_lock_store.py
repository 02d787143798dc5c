"""The lock store endpoints.yml builds: Rasa's in-memory one, or Rasa's Redis one with atomic changes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import read_endpoint_config

from bot.settings import load_settings
from bot.shared_state import redis_connection
from bot.storage.lock_store import AtomicRedisLockStore, lock_store_for
from tests.conversations.harness import PROJECT_ROOT


def built_like_rasa(monkeypatch: pytest.MonkeyPatch, **environment: str) -> LockStore:
    """The lock store of the project's endpoints.yml, made as ``rasa run`` makes it."""
    for name in ("REDIS_URL", "REDIS_PREFIX"):
        monkeypatch.setenv(name, environment.get(name, ""))
    config = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "lock_store")
    return LockStore.create(config)


def redis_store(url: str, prefix: str, cls: type[RedisLockStore] = AtomicRedisLockStore) -> RedisLockStore:
    return cls(**redis_connection(url), key_prefix=prefix)


def test_without_redis_url_rasa_keeps_its_in_memory_lock_store(monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(built_like_rasa(monkeypatch)) is InMemoryLockStore


def test_with_redis_url_it_is_rasas_redis_lock_store(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_prefix: str
) -> None:
    store = built_like_rasa(monkeypatch, REDIS_URL=redis_url, REDIS_PREFIX=redis_prefix)
    assert isinstance(store, RedisLockStore) and isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == f"{redis_prefix}:lock:"
    ticket = store.issue_ticket("conversation-1")
    assert store.red.exists(f"{redis_prefix}:lock:conversation-1")
    store.cleanup("conversation-1", ticket)
    assert not store.red.exists(f"{redis_prefix}:lock:conversation-1")


def test_connection_settings_in_endpoints_yml_are_refused(tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "lock_store:\n  type: bot.storage.lock_store.ClinicLockStore\n  url: localhost\n  port: 6379\n"
    )
    with pytest.raises(ValueError, match="port, url"):
        LockStore.create(read_endpoint_config(str(endpoints), "lock_store"))


def test_redis_url_becomes_rasas_arguments() -> None:
    assert redis_connection("redis://127.0.0.1:6379/3") == {
        "host": "127.0.0.1",
        "port": 6379,
        "db": 3,
        "username": None,
        "password": None,
        "use_ssl": False,
    }
    secure = redis_connection("rediss://clinic:p%40ss@redis.internal")
    assert (secure["host"], secure["port"], secure["db"]) == ("redis.internal", 6379, 0)
    assert (secure["username"], secure["password"], secure["use_ssl"]) == ("clinic", "p@ss", True)
    for wrong in ("http://redis:6379", "redis://", "redis://host:6379/zero"):
        with pytest.raises(ValueError):
            redis_connection(wrong)


def test_redis_settings() -> None:
    settings = load_settings({})
    assert (settings.redis_url, settings.redis_prefix, settings.lock_lifetime_seconds) == ("", "clinic", 120)
    settings = load_settings(
        {"REDIS_URL": "redis://:secret@r:6379/0", "REDIS_PREFIX": "north", "TICKET_LOCK_LIFETIME": "90"}
    )
    assert (settings.redis_prefix, settings.lock_lifetime_seconds) == ("north", 90)
    assert "secret" not in repr(settings)
    with pytest.raises(ValueError, match="letters and digits"):
        load_settings({"REDIS_PREFIX": "clinic:prod"})
    assert type(lock_store_for(load_settings({}))) is InMemoryLockStore


@pytest.mark.parametrize("cls", [RedisLockStore, AtomicRedisLockStore])
def test_a_ticket_another_server_issues_meanwhile_is_kept(
    cls: type[RedisLockStore], redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Server A reads the lock, server B issues a ticket, A writes: Rasa's store loses B's ticket."""
    here, there = redis_store(redis_url, redis_prefix, cls), redis_store(redis_url, redis_prefix, cls)
    original = TicketLock.issue_ticket
    theirs: list[int] = []
    interfering = []

    def issue(lock: TicketLock, lifetime: float) -> int:
        if not interfering:
            interfering.append(True)
            theirs.append(there.issue_ticket("c"))  # between this server's read and its write
        return original(lock, lifetime)

    monkeypatch.setattr(TicketLock, "issue_ticket", issue)
    mine = here.issue_ticket("c")
    numbers = [ticket.number for ticket in here.get_lock("c").tickets]
    if cls is RedisLockStore:
        assert (theirs, mine, numbers) == ([0], 0, [0])  # two holders of ticket 0: both may run
    else:
        assert (theirs, mine, numbers) == ([0], 1, [0, 1])


@pytest.mark.parametrize("cls", [RedisLockStore, AtomicRedisLockStore])
def test_cleaning_up_never_deletes_a_ticket_issued_meanwhile(
    cls: type[RedisLockStore], redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Server A finishes as server B queues up: Rasa's store deletes the lock with B's ticket in it."""
    here, there = redis_store(redis_url, redis_prefix, cls), redis_store(redis_url, redis_prefix, cls)
    mine = here.issue_ticket("c")
    original = TicketLock.remove_ticket_for
    theirs: list[int] = []
    interfering = []

    def finish(lock: TicketLock, number: int) -> None:
        original(lock, number)
        if not interfering:
            interfering.append(True)
            theirs.append(there.issue_ticket("c"))  # between this server's read and its write

    monkeypatch.setattr(TicketLock, "remove_ticket_for", finish)
    here.cleanup("c", mine)
    lock = here.get_lock("c")
    if cls is RedisLockStore:
        assert lock is None  # B's ticket is gone: Rasa raises LockError, and B's message is dropped
    else:
        assert lock is not None and [ticket.number for ticket in lock.tickets] == theirs == [1]


STRESS = """
import asyncio, json, sys, time
import redis
from rasa.core.lock_store import LockError
from bot.shared_state import redis_connection
import bot.storage.lock_store

url, prefix, start, cls = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
store = getattr(bot.storage.lock_store, cls)(**redis_connection(url), key_prefix=prefix)
counter = redis.Redis.from_url(url)
result = {"turns": 0, "lock_errors": 0, "side_by_side": 0}

async def turn(conversation):
    try:
        async with store.lock(conversation, lock_lifetime=30, wait_time_in_seconds=0.02):
            if counter.incr(f"{prefix}:inside:{conversation}") > 1:
                result["side_by_side"] += 1
            await asyncio.sleep(0.01)
            counter.decr(f"{prefix}:inside:{conversation}")
        result["turns"] += 1
    except LockError:
        result["lock_errors"] += 1

async def main():
    while time.time() < start:
        await asyncio.sleep(0.001)
    for round in range(20):
        await asyncio.gather(*(turn(f"c{round}") for _ in range(4)))

asyncio.run(main())
print(json.dumps(result))
"""


@pytest.mark.parametrize("cls", ["AtomicRedisLockStore", "FallbackRedisLockStore"])
def test_two_servers_taking_one_conversations_messages_at_once_take_turns(
    cls: str, redis_url: str, redis_prefix: str
) -> None:
    """Two processes, 4 messages of a conversation at a time each, 20 conversations: one turn at a time, none lost."""
    start = time.time() + 3
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STRESS, redis_url, redis_prefix, str(start), cls],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    assert results == [{"turns": 80, "lock_errors": 0, "side_by_side": 0}] * 2
