"""Redis goes down (stopped: refused; paused: no answer) and comes back: every turn is still answered.

"An emergency always gets the urgent instruction, even when something behind it is down", and
"a conversation always moves forward". Each test runs a redis-server of its own
(:class:`~tests.deploy.redis_server.PrivateRedis`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Iterator

import pytest
import rasa.core.channels.socketio
import socketio
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import read_endpoint_config

import bot.channels.socketio
from bot.channels.socketio import ClinicSocketIOInput
from bot.channels.twilio import RedisMessageSidCache
from bot.chat_tokens import new_conversation_id
from bot.clinical.red_flags import emergency_text
from bot.settings import load_settings
from bot.shared_state import RETRY_AFTER_SECONDS, redis_client, redis_connection
from bot.storage.lock_store import FallbackRedisLockStore
from tests.channels.conftest import FakeAgent, serve
from tests.channels.test_socketio import KEY, Patient, reply, token_for
from tests.conftest import temporary_postgres_database
from tests.conversations.harness import PROJECT_ROOT, BotServer, Turn, start_servers
from tests.conversations.patients import SmsPatient, SocketPatient
from tests.deploy.redis_server import PrivateRedis

PREFIX = "clinicdown"
PAUSE = 0.5  # the lock store's pause after a failure, in these in-process tests
CONVERSATION = "conversation-7f3a"


def store_on(server: PrivateRedis) -> FallbackRedisLockStore:
    """The lock store endpoints.yml builds for ``REDIS_URL``, with a short pause after failures."""
    return FallbackRedisLockStore(
        **redis_connection(server.url), key_prefix=PREFIX, socket_timeout=1.0, retry_after_seconds=PAUSE
    )


def in_redis(server: PrivateRedis, conversation: str = CONVERSATION) -> bool:
    return bool(server.client().exists(f"{PREFIX}:lock:{conversation}"))


def test_endpoints_yml_builds_the_store_that_falls_back(
    monkeypatch: pytest.MonkeyPatch, private_redis: PrivateRedis
) -> None:
    monkeypatch.setenv("REDIS_URL", private_redis.url)
    monkeypatch.setenv("REDIS_PREFIX", PREFIX)
    store = LockStore.create(read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "lock_store"))
    assert isinstance(store, FallbackRedisLockStore)
    assert store.red.connection_pool.connection_kwargs["socket_timeout"] == 1.0


async def timed_turn(store: FallbackRedisLockStore, seen: list[bool], server: PrivateRedis) -> float:
    """Take the lock as a turn does; note whether the lock was in Redis meanwhile; the seconds to get it."""
    start = time.monotonic()
    async with store.lock(CONVERSATION):
        took = time.monotonic() - start
        seen.append(not server.paused and server.process is not None and in_redis(server))
    return took


def test_without_redis_turns_go_on_one_at_a_time_and_redis_is_used_again_once_back(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_on(private_redis)
    seen: list[bool] = []
    inside: list[int] = []
    overlaps: list[bool] = []

    async def turn(number: int) -> None:
        async with store.lock(CONVERSATION, wait_time_in_seconds=0.05):
            overlaps.append(bool(inside))
            inside.append(number)
            await asyncio.sleep(0.1)
            inside.remove(number)

    async def scenario() -> list[float]:
        took = [await timed_turn(store, seen, private_redis)]
        private_redis.stop()
        took.append(await timed_turn(store, seen, private_redis))
        await asyncio.gather(*(turn(n) for n in range(4)))
        private_redis.start()
        await asyncio.sleep(PAUSE + 0.1)
        took.append(await timed_turn(store, seen, private_redis))
        return took

    with caplog.at_level(logging.INFO):
        took = asyncio.run(scenario())
    assert seen == [True, False, True]  # Redis, this process, Redis again
    assert max(took) < 1.0
    assert overlaps == [False] * 4  # this process still takes the conversation's turns one at a time
    assert not in_redis(private_redis)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Lock store: Redis can't be reached (ConnectionError)" in e for e in errors), errors
    assert any("Lock store: Redis answers again" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if CONVERSATION in r.getMessage() and r.name.startswith("bot")]


def test_a_redis_that_stops_answering_costs_a_turn_one_timeout_per_pause(private_redis: PrivateRedis) -> None:
    store = store_on(private_redis)
    seen: list[bool] = []

    async def scenario() -> list[float]:
        await timed_turn(store, seen, private_redis)
        private_redis.pause()
        took = [await timed_turn(store, seen, private_redis) for _ in range(3)]
        await asyncio.sleep(PAUSE + 0.1)
        took.append(await timed_turn(store, seen, private_redis))
        return took

    first, second, third, after_the_pause = asyncio.run(scenario())
    assert 0.8 < first < 2.5  # the socket timeout (1 s)
    assert second < 0.2 and third < 0.2  # not tried again during the pause
    assert 0.8 < after_the_pause < 2.5  # tried again, once


def test_a_ticket_left_in_redis_by_a_turn_that_lost_it_is_removed_once_it_answers(
    private_redis: PrivateRedis,
) -> None:
    store = store_on(private_redis)

    async def scenario() -> tuple[bool, float]:
        async with store.lock(CONVERSATION):
            private_redis.pause()  # the turn ends while Redis doesn't answer
        private_redis.resume()
        left_behind = in_redis(private_redis)
        await asyncio.sleep(PAUSE + 0.1)
        start = time.monotonic()
        async with store.lock(CONVERSATION, wait_time_in_seconds=0.05):
            took = time.monotonic() - start
        return left_behind, took

    left_behind, took = asyncio.run(scenario())
    assert left_behind  # without its removal, the next turn on any server would wait for it to expire
    assert took < 0.5
    assert not in_redis(private_redis)


def test_a_left_over_ticket_never_removes_another_servers_ticket_of_the_same_number(
    private_redis: PrivateRedis,
) -> None:
    """Redis came back empty and another server's new lock has a ticket 0, like the one left over."""
    store, other = store_on(private_redis), store_on(private_redis)

    async def scenario() -> float:
        async with store.lock(CONVERSATION):
            private_redis.pause()
        private_redis.stop()
        private_redis.start()
        theirs = other.issue_ticket(CONVERSATION)
        assert theirs == 0 and store.left_over and store.left_over[0][1].number == 0

        async def their_turn_ends() -> None:
            await asyncio.sleep(0.4)
            other.cleanup(CONVERSATION, theirs)

        await asyncio.sleep(PAUSE + 0.1)
        ending = asyncio.create_task(their_turn_ends())
        start = time.monotonic()
        async with store.lock(CONVERSATION, wait_time_in_seconds=0.05):
            took = time.monotonic() - start
        await ending
        return took

    assert asyncio.run(scenario()) > 0.3  # it waited for the other server's turn to end


def test_the_sms_replay_cache_remembers_in_memory_while_redis_is_down(private_redis: PrivateRedis) -> None:
    settings = load_settings({"REDIS_URL": private_redis.url, "REDIS_PREFIX": PREFIX})
    cache = RedisMessageSidCache(redis_client(settings), f"{PREFIX}:sms-replay:")
    cache.breaker.pause_seconds = PAUSE
    assert not cache.seen_before("SM1")
    private_redis.stop()
    start = time.monotonic()
    assert cache.seen_before("SM1") and not cache.seen_before("SM2") and cache.seen_before("SM2")
    assert time.monotonic() - start < 1.0
    private_redis.start()
    time.sleep(PAUSE + 0.1)
    assert not cache.seen_before("SM3")
    assert private_redis.client().exists(f"{PREFIX}:sms-replay:SM3")


@pytest.fixture
def quick_disconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = functools.partial(socketio.AsyncServer, ping_interval=0.2, ping_timeout=0.5)
    monkeypatch.setattr(rasa.core.channels.socketio, "AsyncServer", quick)
    monkeypatch.setattr(bot.channels.socketio, "AsyncServer", quick)


@pytest.mark.parametrize("outage", ["stopped", "paused"])
def test_the_website_chat_answers_its_socket_while_redis_is_down(
    outage: str, private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch, quick_disconnects: None
) -> None:
    """Stopped: every publish is refused at once. Paused: connections hang, and a publish gives up after 1 s."""
    monkeypatch.setenv("REDIS_URL", private_redis.url)
    monkeypatch.setenv("REDIS_PREFIX", PREFIX)
    agent = FakeAgent(reply)
    conversation = new_conversation_id()

    async def scenario() -> tuple[Patient, float]:
        async with serve([ClinicSocketIOInput(session_persistence=True, token_key=KEY)], agent) as server:
            if outage == "stopped":
                private_redis.stop()
            else:
                private_redis.pause()
            patient = Patient()
            await patient.connect(server)
            await patient.start_session(token_for(conversation))
            start = time.monotonic()
            await patient.say("my back hurts")
            await patient.wait_for_turn(10)
            took = time.monotonic() - start
            await patient.client.disconnect()
            return patient, took

    patient, took = asyncio.run(scenario())
    assert patient.received == [{"text": "got [my back hurts]"}, {"custom": {"type": "ask", "slot": "phone"}}]
    assert patient.turns == [{"ok": True}]
    assert took < 3.0


# ---------------------------------------------------------------------------------------------
# A real Rasa server

RED_FLAG = "I had back surgery and now I'm numb in my groin and can't hold my bladder"
ANSWERS = {
    "surgery_type": "a microdiscectomy",
    "weeks_since_surgery": "10 weeks ago",
    "pain_course": "it felt great, then one morning it was suddenly back",
    "pain_return_weeks": "a week ago",
    "symptoms": "pain down my leg and pins and needles",
    "consent_to_schedule": "yes please",
    "patient_name": "Maria Lopez",
    "phone": "415-555-2671",
    "preferred_time": "weekday mornings",
}


@pytest.fixture
def bot_on_private_redis(private_redis: PrivateRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    with temporary_postgres_database("clinic_redis_down") as database_url:
        server = start_servers(
            database_url,
            tmp_path_factory.mktemp("redis-down"),
            {"REDIS_URL": private_redis.url, "REDIS_PREFIX": PREFIX},
        )
        try:
            yield server
        finally:
            server.stop()


def answer(turn: Turn) -> str:
    assert turn.asks, f"the bot asked nothing: {turn.messages}"
    return ANSWERS[turn.asks[-1]]


def rasa_log(server: BotServer) -> list[str]:
    log = next(path for path in server.logs if path.name == "rasa.log")
    return log.read_text(errors="replace").splitlines()


def test_a_real_server_answers_red_flags_and_carries_on_while_redis_is_down(
    bot_on_private_redis: BotServer, private_redis: PrivateRedis
) -> None:
    server = bot_on_private_redis
    ongoing = server.conversation()
    turn = ongoing.say("hi")
    turn = ongoing.say(answer(turn))
    assert private_redis.calls("watch") > 0  # the conversation's lock is in Redis

    private_redis.stop()
    asked = [turn.asks[-1]]
    for _ in range(2):
        turn = ongoing.say(answer(turn))
        assert turn.asks and turn.asks[-1] not in asked, "the conversation did not move forward"
        asked.append(turn.asks[-1])

    by_rest = server.conversation()
    emergency = by_rest.say(RED_FLAG)
    assert emergency.payload("emergency") == {"type": "emergency", "red_flags": ["cauda_equina"]}
    assert "911" in emergency.text and not emergency.asks

    texting = SmsPatient(server)
    texted = texting.say(RED_FLAG)
    assert emergency_text(["cauda_equina"], sms=True).split(".")[0] in texted.text, texted.text

    website = SocketPatient(server)
    try:
        chatted = website.say(RED_FLAG)
    finally:
        website.close()
    assert chatted.payloads("emergency") == [{"type": "emergency", "red_flags": ["cauda_equina"]}]

    log = rasa_log(server)
    assert any("Lock store: Redis can't be reached (ConnectionError)" in line for line in log)
    about_redis = [line for line in log if "redis" in line.lower()]
    for secret in (ongoing.sender, by_rest.sender, texting.sender, texting.number, website.sender, "bladder"):
        assert not [line for line in about_redis if secret in line], secret

    private_redis.start()
    time.sleep(RETRY_AFTER_SECONDS + 0.5)
    turn = ongoing.say(answer(turn))
    assert turn.asks and turn.asks[-1] not in asked, "the conversation did not move forward"
    assert private_redis.calls("watch") > 0  # back on Redis
    assert not private_redis.client().keys(f"{PREFIX}:lock:*")  # no ticket left behind
    assert any("Lock store: Redis answers again" in line for line in rasa_log(server))
