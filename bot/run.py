"""Start the whole assistant in the foreground: Rasa, the action server and the web app.

``python -m bot.run --model models/clinic-….tar.gz`` (what ``make run`` does). Ports and storage
come from the environment / ``.env`` (see ``bot.settings``); Ctrl-C stops all three.

``--only rasa`` (``make run-rasa``) starts one more Rasa server alone, on ``RASA_PORT``, with
the same settings and the action server already running at ``ACTIONS_PORT``. Several Rasa
servers need ``REDIS_URL`` (the lock store, socket.io and the SMS replay cache are then shared),
one database that is not SQLite, and one ``SECRET_KEY``; see deploy/README.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings, load_settings

BIN = Path(sys.executable).parent


def server_commands(settings: Settings, model: str) -> dict[str, list[str]]:
    """The three processes, by name. The Rasa HTTP API stays off: only the channels listen."""
    return {
        "actions": [
            str(BIN / "rasa"),
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(settings.actions_port),
        ],
        "rasa": [
            str(BIN / "rasa"),
            "run",
            "--model",
            model,
            "--port",
            str(settings.rasa_port),
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
            "--interface",
            "127.0.0.1",
        ],
        "web": [sys.executable, "-m", "bot.web"],
    }


def server_environment(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """The environment every process gets: the settings' ports, and quiet, private logging.

    Without ``SECRET_KEY`` all three share a random one for this run, so the web app's chat
    tokens verify in Rasa's socket.io channel (chat sessions then end when the servers stop).
    """
    env = dict(base)
    if not settings.secret_key:
        env["SECRET_KEY"] = secrets.token_urlsafe(32)
    env.update(
        RASA_PORT=str(settings.rasa_port),
        ACTIONS_PORT=str(settings.actions_port),
        WEB_PORT=str(settings.web_port),
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        REDIS_PREFIX=settings.redis_prefix,
        # Rasa reads the lock's lifetime from its environment only (rasa/core/lock_store.py).
        TICKET_LOCK_LIFETIME=str(settings.lock_lifetime_seconds),
        LOG_LEVEL_LIBRARIES="ERROR",
        SQLALCHEMY_WARN_20="0",
        TF_CPP_MIN_LOG_LEVEL="3",
        RASA_TELEMETRY_ENABLED="false",
        SANIC_HOST="127.0.0.1",  # the action server listens on loopback only
    )
    return env


def extra_server_problems(settings: Settings) -> list[str]:
    """Why one more Rasa server must not start beside the first with these settings ([] if it may)."""
    problems = []
    if not settings.redis_url:
        problems.append("REDIS_URL is not set: the servers would not share conversation locks or chat sockets.")
    if settings.database_url.startswith("sqlite"):
        problems.append("DATABASE_URL is SQLite: several servers need one PostgreSQL database.")
    if not settings.secret_key:
        problems.append("SECRET_KEY is not set: this server could not check the web app's chat tokens.")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl-C or until one process stops; then stop the others."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the trained model (.tar.gz)")
    parser.add_argument(
        "--only",
        choices=["rasa"],
        help="start only one more Rasa server (on RASA_PORT), for the action server already running",
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    commands = server_commands(settings, args.model)
    if args.only:
        problems = extra_server_problems(settings)
        if problems:
            print("Not starting another Rasa server:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 2
        commands = {args.only: commands[args.only]}
    env = server_environment(settings, os.environ)
    processes = {name: subprocess.Popen(command, cwd=PROJECT_ROOT, env=env) for name, command in commands.items()}
    if args.only:
        print(
            f"Starting one more Rasa server on {settings.rasa_port} (actions on {settings.actions_port}). "
            "The model takes about 20 s to load. Ctrl-C stops it.",
            flush=True,
        )
    else:
        print(
            f"Starting: chat on http://localhost:{settings.web_port} (Rasa on {settings.rasa_port}, "
            f"actions on {settings.actions_port}). The model takes about 20 s to load. Ctrl-C stops.",
            flush=True,
        )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    failed = [name for name, p in processes.items() if p.returncode not in (0, -15, None)]
    if failed and not stopping:
        print(f"Stopped because {', '.join(failed)} exited.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
