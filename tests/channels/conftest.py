"""Helpers to run Rasa input channels on a real in-process Sanic server."""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

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


class FakeAgent:
    """Stands in for Rasa's agent: records messages and lets a test script the replies."""

    def __init__(self, reply: Handler | None = None) -> None:
        self.received: list[UserMessage] = []
        self._reply = reply

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
