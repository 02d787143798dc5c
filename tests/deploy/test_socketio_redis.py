"""The socket.io channel on two servers sharing python-socketio's Redis manager (in-process servers)."""

from __future__ import annotations

import asyncio
import functools

import pytest
import rasa.core.channels.socketio
import socketio

import bot.channels.socketio
from bot.channels.socketio import (
    ClinicSocketIOInput,
    ConversationManager,
    ConversationRedisManager,
    client_manager,
)
from bot.chat_tokens import new_conversation_id
from bot.settings import load_settings
from tests.channels.conftest import FakeAgent, serve
from tests.channels.test_socketio import KEY, Patient, handle, reply, token_for


@pytest.fixture(autouse=True)
def on_redis(monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_prefix: str) -> None:
    """Every channel built in these tests uses Redis under the test's own prefix; quick disconnects."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PREFIX", redis_prefix)
    quick = functools.partial(socketio.AsyncServer, ping_interval=0.2, ping_timeout=0.5)
    monkeypatch.setattr(rasa.core.channels.socketio, "AsyncServer", quick)
    monkeypatch.setattr(bot.channels.socketio, "AsyncServer", quick)


def channel() -> ClinicSocketIOInput:
    return ClinicSocketIOInput(session_persistence=True, token_key=KEY)


def test_the_manager_follows_redis_url(redis_url: str, redis_prefix: str) -> None:
    manager = client_manager(load_settings({"REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix}))
    assert isinstance(manager, ConversationRedisManager) and isinstance(manager, socketio.AsyncRedisManager)
    assert manager.channel == f"{redis_prefix}:socketio"
    assert type(client_manager(load_settings({}))) is ConversationManager


async def until_disconnected(patient: Patient) -> None:
    for _ in range(60):
        if not patient.client.connected:
            return
        await asyncio.sleep(0.05)


def test_a_socket_on_another_server_takes_the_conversation_over() -> None:
    """Tab 1 on server A, tab 2 on server B: tab 1 is told and disconnected, replies reach tab 2 only."""
    agent = FakeAgent(reply)
    conversation = new_conversation_id()

    async def scenario() -> tuple[Patient, Patient, bool]:
        async with serve([channel()], agent) as server_a, serve([channel()], agent) as server_b:
            first, second = Patient(), Patient()
            await first.connect(server_a)
            assert await first.start_session(token_for(conversation)) == handle(conversation)
            await asyncio.sleep(0.3)  # server A's manager subscribes to Redis on its first connection
            await second.connect(server_b)
            assert await second.start_session(token_for(conversation)) == handle(conversation)
            await asyncio.wait_for(first.taken.wait(), 5)
            await until_disconnected(first)
            first_connected = first.client.connected
            await second.say("only for me")
            await second.wait_for(2)
            await asyncio.sleep(0.3)
            await second.client.disconnect()
            return first, second, first_connected

    first, second, first_connected = asyncio.run(scenario())
    assert not first_connected
    assert first.received == []
    assert second.received[0] == {"text": "got [only for me]"}
    assert [message.sender_id for message in agent.received] == [conversation]


def test_replies_reach_the_socket_whichever_server_sends_them() -> None:
    """A reply emitted by server B to the conversation's room reaches the tab connected to server A."""
    agent = FakeAgent(reply)
    conversation = new_conversation_id()
    sender = channel()

    async def scenario() -> Patient:
        async with serve([channel()], agent) as server_a, serve([sender], agent):
            patient = Patient()
            await patient.connect(server_a)
            await patient.start_session(token_for(conversation))
            await asyncio.sleep(0.3)
            output = sender.get_output_channel()
            assert output is not None
            await output.send_text_message(conversation, "from the other server")
            await patient.wait_for(1)
            await patient.client.disconnect()
            return patient

    patient = asyncio.run(scenario())
    assert patient.received == [{"text": "from the other server"}]
