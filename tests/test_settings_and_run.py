"""Settings from the environment, and the processes `make run` starts."""

from __future__ import annotations

from datetime import date

import pytest

import bot.run
from bot.run import server_commands, server_environment
from bot.settings import Settings, load_settings


def test_defaults_need_no_environment() -> None:
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite:///")
    assert (settings.rasa_port, settings.actions_port, settings.web_port) == (5005, 5055, 8000)
    assert settings.staff_idle_minutes == 15 and settings.staff_cookie_secure is False


def test_environment_overrides() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/clinic",
            "CLINIC_TODAY": "2026-06-15",
            "RASA_PORT": "6005",
            "PUBLIC_URL": "https://sms.clinic.example/",
            "STAFF_COOKIE_SECURE": "1",
        }
    )
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/clinic"
    assert settings.today() == date(2026, 6, 15)
    assert settings.rasa_port == 6005
    assert settings.public_url == "https://sms.clinic.example"
    assert settings.staff_cookie_secure is True


def test_twilio_settings_for_texting_patients() -> None:
    assert load_settings({}).twilio_account_sid == ""
    assert load_settings({}).twilio_from_number == "" and load_settings({}).twilio_messaging_service_sid == ""
    settings = load_settings(
        {
            "TWILIO_ACCOUNT_SID": " AC0123456789abcdef0123456789abcdef ",
            "TWILIO_AUTH_TOKEN": "token-value",
            "TWILIO_FROM_NUMBER": "+15550100199",
            "TWILIO_MESSAGING_SERVICE_SID": "MG0123456789abcdef0123456789abcdef",
        }
    )
    assert settings.twilio_account_sid == "AC0123456789abcdef0123456789abcdef"
    assert settings.twilio_auth_token == "token-value"
    assert settings.twilio_from_number == "+15550100199"
    assert settings.twilio_messaging_service_sid == "MG0123456789abcdef0123456789abcdef"
    assert "token-value" not in repr(settings)


def test_the_rasa_http_api_is_never_enabled_and_everything_listens_on_loopback() -> None:
    commands = server_commands(Settings(), "models/x.tar.gz")
    assert set(commands) == {"actions", "rasa", "web"}
    assert "--enable-api" not in commands["rasa"]
    assert commands["rasa"][commands["rasa"].index("--interface") + 1] == "127.0.0.1"
    assert server_environment(Settings(), {})["SANIC_HOST"] == "127.0.0.1"


def test_chat_settings() -> None:
    settings = load_settings(
        {
            "CHAT_SOCKET_URL": "https://chat.clinic.example/",
            "CHAT_ALLOWED_ORIGINS": " https://clinic.example/ ,https://www.clinic.example,, ",
            "WEB_PORT": "8100",
        }
    )
    assert settings.chat_socket_url == "https://chat.clinic.example"
    assert settings.chat_origins() == ["https://clinic.example", "https://www.clinic.example"]
    assert load_settings({"WEB_PORT": "8100"}).chat_origins() == ["http://localhost:8100", "http://127.0.0.1:8100"]


def test_all_three_processes_share_one_secret_key() -> None:
    given = server_environment(load_settings({"SECRET_KEY": "clinic-key"}), {"SECRET_KEY": "clinic-key"})
    assert given["SECRET_KEY"] == "clinic-key"
    first = server_environment(Settings(), {})["SECRET_KEY"]
    second = server_environment(Settings(), {})["SECRET_KEY"]
    assert len(first) >= 32 and first != second


def test_every_process_gets_the_redis_settings_and_rasas_lock_lifetime() -> None:
    redis = {"REDIS_URL": "redis://127.0.0.1:6379/2", "REDIS_PREFIX": "north", "TICKET_LOCK_LIFETIME": "90"}
    env = server_environment(load_settings(redis), {})
    assert {name: env[name] for name in redis} == redis
    plain = server_environment(Settings(), {})
    assert (plain["REDIS_URL"], plain["TICKET_LOCK_LIFETIME"]) == ("", "120")


def test_one_more_rasa_server_needs_redis_postgresql_and_a_shared_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[list[str]] = []

    class Exited:
        returncode = 0

        def __init__(self, command: list[str], **_: object) -> None:
            started.append(command)

        def poll(self) -> int:
            return 0

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(bot.run.subprocess, "Popen", Exited)
    monkeypatch.setattr(bot.run.signal, "signal", lambda *_: None)  # keep pytest's own Ctrl-C
    monkeypatch.setattr(bot.run, "load_settings", lambda: Settings())
    assert bot.run.main(["--model", "models/x.tar.gz", "--only", "rasa"]) == 2
    assert started == []
    refused = capsys.readouterr().err
    assert "REDIS_URL" in refused and "SQLite" in refused and "SECRET_KEY" in refused

    ready = Settings(
        redis_url="redis://127.0.0.1:6379/0",
        database_url="postgresql://postgres@127.0.0.1:5432/clinic",
        secret_key="shared",
        rasa_port=5006,
    )
    monkeypatch.setattr(bot.run, "load_settings", lambda: ready)
    assert bot.run.main(["--model", "models/x.tar.gz", "--only", "rasa"]) == 0
    (command,) = started
    assert command == server_commands(ready, "models/x.tar.gz")["rasa"]
    assert command[command.index("--port") + 1] == "5006"
