"""Helpers to run Rasa input channels on a real in-process Sanic server."""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic

from bot.storage.store import reset_store

Handler = Callable[[UserMessage], Awaitable[None]]

_app_numbers = itertools.count()


@pytest.fixture(autouse=True)
def _own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Channels that open the process-wide store (the SMS opt-outs) get a throwaway SQLite file."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'channels.sqlite3'}")
    reset_store()
    yield
    reset_store()


@dataclass
class FakeLatest:
    """The latest user message of a :class:`FakeTracker`, as Rasa's ``UserUttered`` has it."""

    text: str
    intent: dict[str, Any]
    entities: list[dict[str, Any]]
    metadata: dict[str, Any]


@dataclass
class FakeTracker:
    """Just enough of Rasa's tracker for a channel that logs a message without answering."""

    sender_id: str
    slots: dict[str, Any] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    latest_message: FakeLatest | None = None

    def get_slot(self, name: str) -> Any:
        return self.slots.get(name)

    def update(self, event: Any, domain: Any = None) -> None:
        self.events.append(event)
        if type(event).__name__ == "SlotSet":
            self.slots[event.key] = event.value


class FakeProcessor:
    """Rasa's message processor for ``log_message``: our lexicon as the NLU, trackers kept in memory."""

    domain = None

    def __init__(self) -> None:
        self.trackers: dict[str, FakeTracker] = {}
        self.saved: list[str] = []

    async def log_message(self, message: UserMessage, should_save_tracker: bool = True) -> FakeTracker:
        from bot.language.entities import extract_entities

        entities = extract_entities(message.text or "", date(2026, 6, 15))
        intent = "report_red_flag" if any(e["entity"] == "red_flag" for e in entities) else "inform"
        tracker = self.trackers.setdefault(message.sender_id, FakeTracker(message.sender_id))
        tracker.latest_message = FakeLatest(message.text or "", {"name": intent}, entities, message.metadata or {})
        tracker.events.append(("user", message.text, message.metadata))
        if should_save_tracker:
            self.saved.append(message.sender_id)
        return tracker

    async def save_tracker(self, tracker: FakeTracker) -> None:
        self.saved.append(tracker.sender_id)


class FakeLockStore:
    """Records which conversations were locked."""

    def __init__(self) -> None:
        self.locked: list[str] = []

    @asynccontextmanager
    async def lock(self, conversation_id: str) -> AsyncIterator[None]:
        self.locked.append(conversation_id)
        yield


class FakeAgent:
    """Stands in for Rasa's agent: records messages and lets a test script the replies."""

    def __init__(self, reply: Handler | None = None) -> None:
        self.received: list[UserMessage] = []
        self._reply = reply
        self.processor = FakeProcessor()
        self.lock_store = FakeLockStore()

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if self._reply is not None:
            await self._reply(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serve(
    channels: Sequence[InputChannel], agent: FakeAgent, app: Sanic | None = None
) -> AsyncIterator[str]:
    """Serve ``channels`` under ``/webhooks/`` as ``rasa run`` does; yield the base URL.

    With ``app`` (e.g. from ``rasa.core.run.configure_app``), its channels are already
    registered and only the agent is set.
    """
    Sanic.test_mode = True
    if app is None:
        app = Sanic(f"channel_test_{next(_app_numbers)}")
        register(list(channels), app, route="/webhooks/")
    app.ctx.agent = agent
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
