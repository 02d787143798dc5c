"""Red-flag notices to the clinic's on-call channel (bot.notifications), on SQLite and PostgreSQL.

E-mail goes to a real SMTP server on 127.0.0.1 (aiosmtpd); the webhook is an
``httpx.MockTransport``. What is sent must hold links into the staff app and nothing about the
patient.
"""

from __future__ import annotations

import asyncio
import email
import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.notifications import MAX_BACKOFF_SECONDS, NotifyConfig, RedFlagNotifier, next_delay
from bot.settings import load_settings
from bot.storage import repository
from bot.storage.models import RedFlagEvent, utcnow
from bot.storage.staff_models import init_staff_tables
from bot.storage.store import ClinicStore
from bot.web import create_app
from tests.web.conftest import SETTINGS
from tests.web.staff_support import T0, assessed_conversation, red_flag_conversation, write_conversation

STAFF_URL = "https://staff.clinic.example"
WEBHOOK = "https://hooks.chat.example/services/T0001/B0002/webhook-secret"
NAME, PHONE = "Maria Lopez", "+13125550188"
# Nothing about the patient: name, number, red-flag kind, their words or the bot's.
FORBIDDEN = (
    "Maria", "Lopez", "3125550188", "555-0188", "0188", "fever", "102", "infection", "cauda", "microdiscectomy",
    "burning", "tingling", "<script>", "surgeon",
)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Sink:
    """An SMTP server's handler that keeps every message."""

    messages: list[Any] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: object, session: object, envelope: object, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (b"alerts", b"smtp-password"):
            self.logins.append((data.login, data.password))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def parsed(self) -> list[Message]:
        return [email.message_from_bytes(envelope.content) for envelope in self.messages]


def _smtp(**options: Any) -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = _free_port()
    if options.pop("with_auth", False):
        options.update(authenticator=sink.authenticate, auth_require_tls=False)
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    yield from _smtp()


class Webhook:
    """The chat webhook: records each POST, answers with the next status (200 once they run out)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200, text="ok")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


@dataclass
class Clinic:
    store: ClinicStore
    ids: dict[str, int]

    def notified(self) -> dict[str, bool]:
        with self.store.transaction() as session:
            rows = session.execute(select(RedFlagEvent.id, RedFlagEvent.notified_at)).all()
        by_id = {row.id: row.notified_at is not None for row in rows}
        return {name: by_id[record_id] for name, record_id in self.ids.items()}


def _add_event(store: ClinicStore, conversation_id: str, *, kind: str = "emergency", status: str = "new",
               age: timedelta = timedelta(minutes=5), notified: bool = False) -> int:  # fmt: skip
    with store.transaction() as session:
        now = utcnow()
        event = RedFlagEvent(
            conversation_id=conversation_id, channel="rest", red_flags=["infection"], kind=kind, status=status,
            created_at=now - age, notified_at=now if notified else None,
        )  # fmt: skip
        session.add(event)
        session.flush()
        return int(event.id)


@pytest.fixture
def clinic(db_url: str) -> Iterator[Clinic]:
    """A conversation with a name, a number and a red flag, and events of every kind and state."""
    write_conversation(db_url, "conv-1", [*assessed_conversation(T0), *red_flag_conversation(T0 + 100)[2:]])
    store = ClinicStore(db_url)
    init_staff_tables(store.engine)
    with store.transaction() as session:
        repository.save_appointment_request(
            session, conversation_id="conv-1", channel="rest", patient_name=NAME, phone=PHONE,
            preferred_time="weekday mornings",
        )  # fmt: skip
    ids = {
        "new": _add_event(store, "conv-1"),
        # written late, e.g. replayed after a database outage: detected 30 hours ago, not told yet
        "late": _add_event(store, "sms-late", status="contacted", age=timedelta(hours=30)),
        "review": _add_event(store, "conv-review", kind="review"),
        "closed": _add_event(store, "conv-closed", status="closed"),
        "too_old": _add_event(store, "conv-old", age=timedelta(days=4)),
        "told": _add_event(store, "conv-told", notified=True),
    }
    yield Clinic(store, ids)
    store.dispose()


def _config(port: int = 0, **overrides: Any) -> NotifyConfig:
    config = NotifyConfig(
        staff_url=STAFF_URL,
        clinic_name="Spine Care North",
        smtp_host="127.0.0.1" if port else "",
        smtp_port=port,
        smtp_starttls=False,
        email_to=("on-call@clinic.example", "desk@clinic.example"),
        email_from="assistant@clinic.example",
        webhook_url=WEBHOOK,
        poll_seconds=30.0,
        max_age=timedelta(hours=72),
    )
    return replace(config, **overrides)


def _leaks(text: str) -> list[str]:
    return [word for word in FORBIDDEN if word.lower() in text.lower()]


def _our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What the app logged (httpx's request lines are turned off in the app: ``bot.web.__main__``)."""
    return "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("bot."))


def test_email_and_webhook_carry_links_and_no_patient_data(
    clinic: Clinic, smtp: tuple[Sink, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sink, port = smtp
    webhook = Webhook()
    notifier = RedFlagNotifier(_config(port), lambda: clinic.store, transport=webhook.transport())
    assert asyncio.run(notifier.run_once()) == 2

    (message,) = sink.parsed()
    assert message["Subject"] == "Spine Care North: 2 new red flags to follow up"
    assert message["From"] == "assistant@clinic.example"
    assert message["To"] == "on-call@clinic.example, desk@clinic.example"
    assert sink.messages[0].rcpt_tos == ["on-call@clinic.example", "desk@clinic.example"]
    body = message.get_payload(decode=True).decode("utf-8")
    assert f"{STAFF_URL}/staff/queues/red-flags" in body
    assert f"{STAFF_URL}/staff/conversations/conv-1" in body
    assert f"{STAFF_URL}/staff/conversations/sms-late" in body
    assert "conv-review" not in body and "conv-closed" not in body and "conv-old" not in body
    assert _leaks(str(message.items()) + body) == []

    (request,) = webhook.requests
    assert str(request.url) == WEBHOOK and request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    payload = json.loads(request.content)
    assert payload["type"] == "red_flags" and payload["count"] == 2
    assert payload["queue_url"] == f"{STAFF_URL}/staff/queues/red-flags"
    assert sorted(payload["transcript_urls"]) == [
        f"{STAFF_URL}/staff/conversations/conv-1",
        f"{STAFF_URL}/staff/conversations/sms-late",
    ]
    assert payload["text"].startswith("Spine Care North: 2 new red flags to follow up")
    assert _leaks(request.content.decode("utf-8")) == []

    assert clinic.notified() == {
        "new": True, "late": True, "review": False, "closed": False, "too_old": False, "told": True,
    }  # fmt: skip
    assert "red-flag notice sent for 2 event(s) by email and webhook" in caplog.text
    assert _leaks(_our_logs(caplog)) == [] and "webhook-secret" not in _our_logs(caplog)

    # told once: the next poll has nothing to say
    assert asyncio.run(notifier.run_once()) == 0
    assert len(sink.messages) == 1 and len(webhook.requests) == 1


def test_a_failing_channel_backs_off_and_retries_until_delivered(
    clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook = Webhook(500, 503)
    notifier = RedFlagNotifier(_config(), lambda: clinic.store, transport=webhook.transport())
    assert asyncio.run(notifier.step()) == 60.0  # twice the 30 s interval
    assert clinic.notified()["new"] is False
    assert asyncio.run(notifier.step()) == 120.0
    assert clinic.notified()["new"] is False
    assert asyncio.run(notifier.step()) == 30.0  # delivered: back to the interval
    assert clinic.notified()["new"] is True and clinic.notified()["late"] is True
    assert len(webhook.requests) == 3
    assert "webhook: refused status=500" in caplog.text and "webhook: refused status=503" in caplog.text
    assert _leaks(_our_logs(caplog)) == [] and "webhook-secret" not in _our_logs(caplog)


def test_one_channel_that_delivers_is_enough(clinic: Clinic, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    webhook = Webhook()
    closed_port = _free_port()  # nothing listens there
    notifier = RedFlagNotifier(_config(closed_port), lambda: clinic.store, transport=webhook.transport())
    assert asyncio.run(notifier.run_once()) == 2
    assert len(webhook.requests) == 1 and clinic.notified()["new"] is True
    assert "red-flag notice not delivered by email: ConnectionRefusedError" in caplog.text
    assert _leaks(_our_logs(caplog)) == []


def test_nothing_is_marked_while_no_channel_delivers(clinic: Clinic, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"no route to host for {PHONE}")

    notifier = RedFlagNotifier(_config(_free_port()), lambda: clinic.store, transport=httpx.MockTransport(unreachable))
    assert asyncio.run(notifier.step()) == 60.0
    assert not any(clinic.notified()[name] for name in ("new", "late"))
    assert "email: ConnectionRefusedError" in caplog.text and "webhook: ConnectError" in caplog.text
    assert _leaks(_our_logs(caplog)) == []


def test_starttls_is_required_unless_turned_off(clinic: Clinic, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp  # this server offers no STARTTLS
    notifier = RedFlagNotifier(_config(port, smtp_starttls=True, webhook_url=""), lambda: clinic.store)
    assert asyncio.run(notifier.step()) == 60.0
    assert sink.messages == [] and clinic.notified()["new"] is False


def test_smtp_login() -> None:
    for sink, port in _smtp(with_auth=True):
        config = _config(port, webhook_url="", smtp_user="alerts", smtp_password="smtp-password")
        assert "smtp-password" not in repr(config)
        from bot.notifications import RedFlagNotice, send_email

        send_email(config, RedFlagNotice.of(config, ["conv-1"], 1))
        assert sink.logins == [(b"alerts", b"smtp-password")]
        (message,) = sink.parsed()
        assert message["Subject"] == "Spine Care North: a new red flag to follow up"


def test_the_backoff_is_bounded() -> None:
    assert next_delay(30.0, 0) == 30.0
    assert [next_delay(30.0, n) for n in range(1, 6)] == [60.0, 120.0, 240.0, 480.0, 900.0]
    assert next_delay(30.0, 60) == MAX_BACKOFF_SECONDS == 900.0


def test_settings() -> None:
    settings = load_settings(
        {
            "NOTIFY_SMTP_HOST": "smtp.clinic.example",
            "NOTIFY_SMTP_PORT": "465",
            "NOTIFY_SMTP_USER": "alerts",
            "NOTIFY_SMTP_PASSWORD": "pw",
            "NOTIFY_SMTP_STARTTLS": "0",
            "NOTIFY_EMAIL_TO": "on-call@clinic.example, desk@clinic.example",
            "NOTIFY_EMAIL_FROM": "assistant@clinic.example",
            "NOTIFY_WEBHOOK_URL": WEBHOOK,
            "PUBLIC_STAFF_URL": "https://staff.clinic.example/",
            "NOTIFY_POLL_SECONDS": "10",
            "NOTIFY_MAX_AGE_HOURS": "24",
        }
    )
    config = NotifyConfig.from_settings(settings)
    assert config is not None and config.email and config.webhook
    assert (config.smtp_port, config.smtp_starttls, config.email_to) == (
        465, False, ("on-call@clinic.example", "desk@clinic.example"),
    )  # fmt: skip
    assert config.staff_url == "https://staff.clinic.example"
    assert (config.poll_seconds, config.max_age) == (10.0, timedelta(hours=24))
    assert "webhook-secret" not in repr(settings) + repr(config) and "'pw'" not in repr(settings) + repr(config)
    defaults = load_settings({})
    assert defaults.notify_smtp_starttls is True and defaults.notify_smtp_port == 587
    assert NotifyConfig.from_settings(defaults) is None  # nothing configured: nothing polls
    assert defaults.staff_url() == "http://localhost:8000"


def test_the_web_app_notifies_in_the_background(db_url: str) -> None:
    store = ClinicStore(db_url)
    init_staff_tables(store.engine)
    down = _add_event(store, "conv-while-down")  # written while the web app was not running
    webhook = Webhook()
    settings = replace(
        SETTINGS, database_url=db_url, notify_webhook_url=WEBHOOK, public_staff_url=STAFF_URL, notify_poll_seconds=0.05
    )
    app = create_app(settings, notify_transport=webhook.transport())
    with TestClient(app):
        late = _add_event(store, "conv-late", age=timedelta(hours=2))  # written late, while it runs
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with store.transaction() as session:
                pending = session.execute(
                    select(RedFlagEvent.id).where(RedFlagEvent.id.in_([down, late]), RedFlagEvent.notified_at.is_(None))
                ).all()
            if not pending:
                break
            time.sleep(0.05)
        assert pending == []
    urls = [url for request in webhook.requests for url in json.loads(request.content)["transcript_urls"]]
    assert sorted(urls) == [
        f"{STAFF_URL}/staff/conversations/conv-late",
        f"{STAFF_URL}/staff/conversations/conv-while-down",
    ]
    store.dispose()


def test_no_notifier_without_a_channel(db_url: str) -> None:
    app = create_app(replace(SETTINGS, database_url=db_url))
    with TestClient(app):
        assert getattr(app.state, "notifier", None) is None
