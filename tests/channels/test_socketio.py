"""Tests for bot.channels.socketio with python-socketio's AsyncClient on a live server."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
from typing import Any

import pytest
import rasa.core.channels.socketio
import socketio
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput

import bot.channels.socketio
from bot.channels.socketio import ClinicSocketIOInput, default_allowed_origins
from bot.chat_tokens import confirmation_handle, issue_token, new_conversation_id
from tests.channels.conftest import FakeAgent, serve

WEB_ORIGIN = "http://localhost:8000"
KEY = "socket-test-key"


def persistent_channel() -> ClinicSocketIOInput:
    return ClinicSocketIOInput(session_persistence=True, token_key=KEY)


def token_for(conversation: str, key: str = KEY, now: float | None = None) -> str:
    return issue_token(key, conversation, now=now)


def handle(conversation: str) -> str:
    """What ``session_confirm`` carries for a conversation: an opaque handle, not its id."""
    return confirmation_handle(KEY, conversation)


@pytest.fixture(autouse=True)
def quick_disconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    """A polling client's disconnect waits out a ping cycle (25 s + 20 s by default)."""
    quick = functools.partial(socketio.AsyncServer, ping_interval=0.2, ping_timeout=0.5)
    monkeypatch.setattr(rasa.core.channels.socketio, "AsyncServer", quick)
    monkeypatch.setattr(bot.channels.socketio, "AsyncServer", quick)


async def reply(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"got [{message.text}]")
    await message.output_channel.send_custom_json(message.sender_id, {"type": "ask", "slot": "phone"})


class Patient:
    """A socket.io client as the web widget would be."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient()
        self.received: list[Any] = []
        self.turns: list[Any] = []
        self.taken = asyncio.Event()
        self.session_id: str | None = None
        self._confirmed = asyncio.Event()
        self.client.on("bot_uttered", self._on_bot)
        self.client.on("session_confirm", self._on_confirm)
        self.client.on("turn_complete", self._on_turn)
        self.client.on("session_taken", self._on_taken)

    async def _on_bot(self, data: Any) -> None:
        self.received.append(data)

    async def _on_turn(self, data: Any) -> None:
        self.turns.append(data)

    async def _on_taken(self, data: Any) -> None:
        self.taken.set()

    async def _on_confirm(self, data: Any) -> None:
        self.session_id = data
        self._confirmed.set()

    async def connect(self, url: str, origin: str = WEB_ORIGIN) -> None:
        await self.client.connect(url, headers={"Origin": origin}, transports=["polling"], wait_timeout=5)

    async def start_session(self, session_id: Any = None) -> str:
        self._confirmed.clear()
        await self.client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(self._confirmed.wait(), 5)
        assert self.session_id is not None
        return self.session_id

    async def say(self, text: str, session_id: str | None = None) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id or self.session_id})

    async def wait_for_turn(self, seconds: float = 5.0) -> None:
        """Until the server says the bot's turn is over (``turn_complete``)."""
        for _ in range(int(seconds * 20)):
            if self.turns:
                return
            await asyncio.sleep(0.05)

    async def wait_for(self, count: int, seconds: float = 5.0) -> None:
        for _ in range(int(seconds * 20)):
            if len(self.received) >= count:
                return
            await asyncio.sleep(0.05)


def test_rasa_stock_channel_drops_enter_room_so_nothing_is_delivered() -> None:
    # The cause: enter_room became a coroutine and Rasa 3.6 calls it without await.
    assert inspect.iscoroutinefunction(socketio.AsyncServer.enter_room)
    stock_source = inspect.getsource(SocketIOInput.blueprint)
    assert "sio.enter_room(" in stock_source
    assert "await sio.enter_room(" not in stock_source

    agent = FakeAgent(reply)

    async def scenario() -> Patient:
        async with serve([SocketIOInput(session_persistence=True)], agent) as url:
            patient = Patient()
            await patient.connect(url)
            await patient.start_session()
            await patient.say("hello")
            await patient.wait_for(1, seconds=1.5)
            await patient.client.disconnect()
            return patient

    with pytest.warns(RuntimeWarning, match="enter_room' was never awaited"):
        patient = asyncio.run(scenario())
        gc.collect()
    # The bot got the message, but the patient never sees the answer.
    assert [message.text for message in agent.received] == ["hello"]
    assert patient.received == []


def test_ours_delivers_with_session_persistence() -> None:
    agent = FakeAgent(reply)

    conversation = new_conversation_id()

    async def scenario() -> Patient:
        async with serve([persistent_channel()], agent) as url:
            patient = Patient()
            await patient.connect(url)
            assert await patient.start_session(token_for(conversation)) == handle(conversation)
            await patient.say("  /restart")
            await patient.wait_for_turn()
            await patient.client.disconnect()
            return patient

    patient = asyncio.run(scenario())
    assert patient.received == [
        {"text": "got [restart]"},
        {"custom": {"type": "ask", "slot": "phone"}},
    ]
    assert patient.turns == [{"ok": True}]
    (message,) = agent.received
    assert message.sender_id == conversation
    assert message.input_channel == "socketio"
    assert message.metadata == {"channel": "socketio"}


def test_a_failed_turn_is_reported_without_details() -> None:
    async def explode(message: UserMessage) -> None:
        raise RuntimeError("Jane Doe")

    async def scenario() -> Patient:
        async with serve([persistent_channel()], FakeAgent(explode)) as url:
            patient = Patient()
            await patient.connect(url)
            await patient.start_session()
            await patient.say("hello")
            await patient.wait_for_turn()
            await patient.client.disconnect()
            return patient

    patient = asyncio.run(scenario())
    assert patient.turns == [{"ok": False}]
    assert patient.received == []


def test_ours_delivers_without_session_persistence() -> None:
    agent = FakeAgent(reply)

    async def scenario() -> tuple[Patient, str]:
        async with serve([ClinicSocketIOInput()], agent) as url:
            patient = Patient()
            await patient.connect(url)
            sid = patient.client.get_sid()
            await patient.say("hi")
            await patient.wait_for(2)
            await patient.client.disconnect()
            return patient, sid

    patient, sid = asyncio.run(scenario())
    assert patient.received[0] == {"text": "got [hi]"}
    assert agent.received[0].sender_id == sid


def test_a_socket_cannot_write_into_another_conversation() -> None:
    agent = FakeAgent(reply)

    async def scenario() -> tuple[Patient, Patient]:
        async with serve([persistent_channel()], agent) as url:
            alice, mallory = Patient(), Patient()
            await alice.connect(url)
            await mallory.connect(url)
            await alice.start_session()
            await mallory.start_session()
            await mallory.say("cancel my appointment", session_id=alice.session_id)
            await mallory.wait_for(2)
            await alice.wait_for(1, seconds=0.5)
            await alice.client.disconnect()
            await mallory.client.disconnect()
            return alice, mallory

    alice, mallory = asyncio.run(scenario())
    assert alice.session_id != mallory.session_id
    assert [handle(message.sender_id) for message in agent.received] == [mallory.session_id]
    assert alice.received == []
    assert len(mallory.received) == 2


@pytest.mark.parametrize(
    "requested",
    [
        None,
        "default",
        "+15550100000",
        "a b" * 20,
        7,
        {"token": "x"},
        "V" * 32,  # a bare conversation id
        token_for("V" * 32, key="another-clinic"),  # signed with another key
        token_for("V" * 32, now=0),  # expired long ago
        token_for("V" * 32)[:-1] + ("B" if token_for("V" * 32)[-1] == "A" else "A"),  # tampered
        token_for("V" * 32)[:40] + token_for("W" * 32)[40:],  # spliced from two tokens
        "V" * 32 + ".9999999999.c2lnbmF0dXJl",  # the earlier clear-text form
        handle("V" * 32),  # a confirmation handle is not a token
    ],
)
def test_only_a_genuine_token_reopens_a_conversation(requested: Any) -> None:
    async def scenario() -> str:
        async with serve([persistent_channel()], FakeAgent(reply)) as url:
            patient = Patient()
            await patient.connect(url)
            session_id = await patient.start_session(requested)
            await patient.client.disconnect()
            return session_id

    session_id = asyncio.run(scenario())
    assert session_id not in ("V" * 32, "W" * 32, handle("V" * 32), handle("W" * 32), requested)
    assert session_id.startswith("h-") and len(session_id) == 24


def test_the_confirmation_never_shows_the_conversation_id() -> None:
    agent = FakeAgent(reply)
    conversation = new_conversation_id()

    async def scenario() -> tuple[Patient, str]:
        async with serve([persistent_channel()], agent) as url:
            patient = Patient()
            await patient.connect(url)
            token = token_for(conversation)
            await patient.start_session(token)
            await patient.say("hello")
            await patient.wait_for(2)
            await patient.client.disconnect()
            return patient, token

    patient, token = asyncio.run(scenario())
    assert agent.received[0].sender_id == conversation
    assert conversation not in token
    assert patient.session_id == handle(conversation) != conversation
    assert conversation not in repr(patient.received)


def test_a_returning_tab_keeps_its_conversation() -> None:
    agent = FakeAgent(reply)
    conversation = new_conversation_id()

    async def scenario() -> Patient:
        async with serve([persistent_channel()], agent) as url:
            first = Patient()
            await first.connect(url)
            assert await first.start_session(token_for(conversation)) == handle(conversation)
            await first.client.disconnect()
            again = Patient()
            await again.connect(url)
            assert await again.start_session(token_for(conversation)) == handle(conversation)
            await again.say("still here")
            await again.wait_for(2)
            await again.client.disconnect()
            return again

    again = asyncio.run(scenario())
    assert again.received[0] == {"text": "got [still here]"}
    assert agent.received[0].sender_id == conversation


def test_a_second_socket_takes_the_conversation_over_and_the_first_is_told() -> None:
    agent = FakeAgent(reply)
    conversation = new_conversation_id()

    async def scenario() -> tuple[Patient, Patient]:
        async with serve([persistent_channel()], agent) as url:
            first, second = Patient(), Patient()
            await first.connect(url)
            await first.start_session(token_for(conversation))
            await second.connect(url)
            await second.start_session(token_for(conversation))
            await asyncio.wait_for(first.taken.wait(), 5)
            for _ in range(40):
                if not first.client.connected:
                    break
                await asyncio.sleep(0.05)
            assert not first.client.connected
            await second.say("only for me")
            await second.wait_for(2)
            await second.client.disconnect()
            return first, second

    first, second = asyncio.run(scenario())
    assert first.received == []
    assert second.received[0] == {"text": "got [only for me]"}
    assert [message.sender_id for message in agent.received] == [conversation]


def test_a_socket_can_move_to_a_new_conversation() -> None:
    agent = FakeAgent(reply)
    old, new = new_conversation_id(), new_conversation_id()

    async def scenario() -> Patient:
        async with serve([persistent_channel()], agent) as url:
            patient = Patient()
            await patient.connect(url)
            await patient.start_session(token_for(old))
            assert await patient.start_session(token_for(new)) == handle(new)
            await patient.say("fresh start")
            await patient.wait_for(2)
            await patient.client.disconnect()
            return patient

    patient = asyncio.run(scenario())
    assert patient.received[0] == {"text": "got [fresh start]"}
    assert [message.sender_id for message in agent.received] == [new]


def test_message_before_session_request_is_ignored() -> None:
    agent = FakeAgent(reply)

    async def scenario() -> None:
        async with serve([persistent_channel()], agent) as url:
            patient = Patient()
            await patient.connect(url)
            await patient.say("hello", session_id="f" * 32)
            await asyncio.sleep(0.5)
            await patient.client.disconnect()

    asyncio.run(scenario())
    assert agent.received == []


def test_other_origins_are_refused() -> None:
    async def scenario() -> None:
        async with serve([ClinicSocketIOInput()], FakeAgent(reply)) as url:
            patient = Patient()
            with pytest.raises(socketio.exceptions.ConnectionError):
                await patient.connect(url, origin="https://evil.example")

    asyncio.run(scenario())


def test_origins_from_credentials() -> None:
    channel = ClinicSocketIOInput.from_credentials({"cors_allowed_origins": ["https://clinic.example/"]})
    assert isinstance(channel, ClinicSocketIOInput)
    assert channel.cors_allowed_origins == ["https://clinic.example"]
    single = ClinicSocketIOInput.from_credentials({"cors_allowed_origins": "https://a.example"})
    assert isinstance(single, ClinicSocketIOInput)
    assert single.cors_allowed_origins == ["https://a.example"]


@pytest.mark.parametrize("origins", ["*", ["https://a.example", "*"], [3], {"a": 1}])
def test_wildcard_or_malformed_origins_refused(origins: Any) -> None:
    with pytest.raises(ValueError):
        ClinicSocketIOInput.from_credentials({"cors_allowed_origins": origins})


def test_default_origins_follow_web_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAT_ALLOWED_ORIGINS", raising=False)
    monkeypatch.setenv("WEB_PORT", "8123")
    assert default_allowed_origins() == ["http://localhost:8123", "http://127.0.0.1:8123"]
    channel = ClinicSocketIOInput.from_credentials(None)
    assert isinstance(channel, ClinicSocketIOInput)
    assert channel.cors_allowed_origins == default_allowed_origins()
    assert channel.session_persistence is False


def test_configured_site_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_ALLOWED_ORIGINS", "https://www.clinic.example/, https://clinic.example")
    channel = ClinicSocketIOInput.from_credentials(None)
    assert isinstance(channel, ClinicSocketIOInput)
    assert channel.cors_allowed_origins == ["https://www.clinic.example", "https://clinic.example"]


def test_tokens_are_checked_with_secret_key(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SECRET_KEY", "the-clinic-key")
    assert ClinicSocketIOInput().token_key == "the-clinic-key"
    monkeypatch.setenv("SECRET_KEY", "")
    with caplog.at_level("WARNING"):
        first, second = ClinicSocketIOInput(), ClinicSocketIOInput()
    assert first.token_key != second.token_key
    assert len(first.token_key) >= 32
    assert "SECRET_KEY is not set" in caplog.text


def test_empty_origin_list_means_same_origin_not_any() -> None:
    channel = ClinicSocketIOInput(cors_allowed_origins=[])
    server = channel.create_server()
    assert server.eio.cors_allowed_origins is None


def test_jwt_required_when_configured() -> None:
    channel = ClinicSocketIOInput(jwt_key="secret")
    assert asyncio.run(channel.on_connect("sid", {}, None)) is False
    assert asyncio.run(channel.on_connect("sid", {}, {"token": "not-a-jwt"})) is False


def test_output_channel_needs_a_server() -> None:
    channel = ClinicSocketIOInput()
    assert channel.get_output_channel() is None
