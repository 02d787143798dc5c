"""``python -m bot.web`` serves on 127.0.0.1:WEB_PORT with the access log off."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

import bot.web.__main__ as web_main


def test_main_runs_uvicorn_locally_without_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setenv("WEB_PORT", "8123")
    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.setattr(web_main.uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    web_main.main()
    ((app, kwargs),) = calls
    assert isinstance(app, Starlette)
    assert kwargs["host"] == "127.0.0.1"
    assert kwargs["port"] == 8123
    assert kwargs["access_log"] is False
