"""A real stack (Rasa, actions, web app) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conversations.harness import PROJECT_ROOT, BotServer, _wait_until_up, free_port, start_servers

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = PROJECT_ROOT / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_available() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (make test installs Debian's chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (make test installs it)"
    return None


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BotServer, str]]:
    """Rasa + actions on SQLite, and the web app beside them; yields the web app's URL."""
    missing = _browser_available()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    log_dir = tmp_path_factory.mktemp("browser-stack")
    web_port = free_port()
    # One SECRET_KEY for all (the web app signs chat tokens, Rasa's socket.io channel checks
    # them) and the web app's port, which sets the origins the socket.io channel accepts.
    server = start_servers(
        f"sqlite:///{log_dir / 'clinic.sqlite3'}",
        log_dir,
        {"WEB_PORT": str(web_port), "SECRET_KEY": "browser-test-secret"},
    )
    env = dict(server.env)
    log = log_dir / "web.log"
    with log.open("wb") as out:
        web = subprocess.Popen(
            [sys.executable, "-m", "bot.web"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server.processes.append(web)
    server.logs.append(log)
    try:
        _wait_until_up(f"http://127.0.0.1:{web_port}/", web, 60)
        yield server, f"http://127.0.0.1:{web_port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module.

    Playwright's sync API keeps an event loop running while it is open; closing it after each
    module keeps that loop away from the later tests that start their own (``asyncio.run``).
    """
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def screenshot_path(name: str) -> str:
    """Where a screenshot goes (git-ignored)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")
