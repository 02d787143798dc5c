"""Start the real Rasa and action servers, and talk to them over the REST channel."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bot.run import server_commands, server_environment
from bot.settings import load_settings
from bot.storage import repository
from bot.storage.db import make_engine, session_factory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEST_TODAY = "2026-06-15"
TWILIO_TEST_TOKEN = "test-auth-token-0123456789abcdef"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def trained_model() -> Path:
    """The model ``make test`` trained (``CLINIC_MODEL``), else the newest one in ``models/``."""
    named = os.environ.get("CLINIC_MODEL")
    if named:
        return PROJECT_ROOT / named
    models = sorted((PROJECT_ROOT / "models").glob("clinic-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise RuntimeError("No trained model: run 'make test' (it trains one) or 'make train'.")
    return models[-1]


@dataclass
class Turn:
    """The bot's messages for one user message."""

    messages: list[dict[str, Any]]

    @property
    def text(self) -> str:
        """All text of the turn, joined."""
        return "\n".join(m["text"] for m in self.messages if "text" in m)

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        """The custom payloads of one type."""
        return [m["custom"] for m in self.messages if m.get("custom", {}).get("type") == kind]

    def payload(self, kind: str) -> dict[str, Any]:
        """The one custom payload of a type (fails when there is not exactly one)."""
        found = self.payloads(kind)
        assert len(found) == 1, f"expected one {kind!r} payload, got {self.messages}"
        return found[0]

    @property
    def asks(self) -> list[str]:
        """The slots this turn asks for (``ask`` payloads)."""
        return [p["slot"] for p in self.payloads("ask")]


@dataclass
class BotServer:
    """A running action server and Rasa server (or several: ``rasa_urls``, the first is ``rasa_url``)."""

    rasa_url: str
    database_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    rasa_urls: list[str] = field(default_factory=list)

    def post(self, sender: str, message: Any, rasa_url: str | None = None) -> list[dict[str, Any]]:
        """One message to the REST webhook (of ``rasa_url``, else the first server); the bot's answer."""
        response = requests.post(
            f"{rasa_url or self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=60,
        )
        response.raise_for_status()
        answer: list[dict[str, Any]] = response.json()
        return answer

    def saved_request(self, public_id: str) -> dict[str, Any]:
        """The consultation request with this id, as saved in the server's database."""
        engine = make_engine(self.database_url)
        try:
            with session_factory(engine)() as session:
                saved = repository.get_appointment_by_public_id(session, public_id)
                assert saved is not None, f"no saved request {public_id}"
                return {column.name: getattr(saved, column.name) for column in saved.__table__.columns}
        finally:
            engine.dispose()

    def conversation(self) -> Conversation:
        """A new conversation with a fresh sender id."""
        return Conversation(self, f"test-{uuid.uuid4().hex}")

    def log_tail(self, lines: int = 60) -> str:
        """The end of each server's log, for failure messages."""
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in self.logs
            if log.exists()
        )

    def stop(self) -> None:
        """Stop both servers."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass
class Conversation:
    """One patient's conversation over the REST channel."""

    server: BotServer
    sender: str
    turns: list[Turn] = field(default_factory=list)

    def say(self, text: Any) -> Turn:
        """Send a message and return the bot's turn."""
        turn = Turn(self.server.post(self.sender, text))
        self.turns.append(turn)
        return turn


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def start_servers(
    database_url: str, log_dir: Path, extra_env: dict[str, str] | None = None, rasa_servers: int = 1
) -> BotServer:
    """Start an action server and ``rasa_servers`` Rasa servers on free ports; wait until all answer.

    Every Rasa server gets the same environment but its own ``RASA_PORT``; ``PUBLIC_URL`` is the first's.
    """
    rasa_port, actions_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        CLINIC_TODAY=TEST_TODAY,
        DATABASE_URL=database_url,
        RASA_PORT=str(rasa_port),
        ACTIONS_PORT=str(actions_port),
        PUBLIC_URL=f"http://127.0.0.1:{rasa_port}",
        TWILIO_AUTH_TOKEN=TWILIO_TEST_TOKEN,
    )
    # The same environment `make run` gives its processes (quiet, loopback-only).
    env = server_environment(load_settings(env), env)
    env.update(extra_env or {})
    server = BotServer(f"http://127.0.0.1:{rasa_port}", database_url, env)
    model = str(trained_model())
    commands = server_commands(load_settings(env), model)
    starts = [("actions", commands["actions"], env), ("rasa", commands["rasa"], env)]
    for number in range(2, rasa_servers + 1):
        own = {**env, "RASA_PORT": str(free_port())}
        starts.append((f"rasa-{number}", server_commands(load_settings(own), model)["rasa"], own))
    server.rasa_urls = [f"http://127.0.0.1:{own['RASA_PORT']}" for name, _, own in starts if name != "actions"]
    try:
        for name, command, own in starts:
            log = log_dir / f"{name}.log"
            server.logs.append(log)
            with log.open("wb") as out:
                server.processes.append(
                    subprocess.Popen(command, cwd=PROJECT_ROOT, env=own, stdout=out, stderr=subprocess.STDOUT)
                )
        _wait_until_up(f"http://127.0.0.1:{actions_port}/health", server.processes[0], 120)
        for url, process in zip(server.rasa_urls, server.processes[1:], strict=True):
            _wait_until_up(f"{url}/", process, 240)
    except Exception as error:
        tail = server.log_tail()
        server.stop()
        raise RuntimeError(f"{error}\n{tail}") from error
    return server
