"""No patient data in the web app's error logs or error pages (SQLite and PostgreSQL).

A database error's text quotes the SQL parameters (and PostgreSQL's the failing row), so an
error raised while a phone number is a bound parameter must be logged by its type only, and
must not leave the app for the ASGI server to log with its traceback.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
import uvicorn
from sqlalchemy import event, insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.storage import repository
from bot.storage import staff_repository as repo
from bot.storage.models import AppointmentRequest, utcnow
from bot.storage.staff_models import init_staff_tables
from bot.storage.store import ClinicStore
from bot.web import create_app
from tests.web.conftest import SETTINGS
from tests.web.staff_support import PASSWORD, T0, Staff, assessed_conversation, staff, write_conversation

__all__ = ["staff"]

PHONE = "+13125550188"
NAME = "Rosalind Quist"


def _violate_a_check_constraint(session: Session, **_ignored: object) -> list[object]:
    """Insert a request with a status the table refuses: the phone and name are bound parameters."""
    now = utcnow()
    session.execute(
        insert(AppointmentRequest).values(
            public_id="CR-ZZZZZZZZ", conversation_id="conv-a", channel="rest", patient_name=NAME, phone=PHONE,
            preferred_time="mornings", findings=[], facts={}, kind="consultation", status="no-such-status",
            created_at=now, updated_at=now,
        )
    )  # fmt: skip
    return []


def _no_patient_data(text: str) -> None:
    for secret in (PHONE, PHONE[2:], "555-0188", NAME, "Quist"):
        assert secret not in text, secret


def test_a_constraint_violation_with_a_phone_number_is_logged_by_type_only(
    staff: Staff, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write_conversation(staff.url, "conv-a", assessed_conversation(T0))
    staff.add_user("nurse")
    staff.login("nurse")
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(repository, "list_appointment_requests", _violate_a_check_constraint)
    # The test client re-raises any exception that leaves the app: none may.
    page = staff.client.get("/staff/conversations/conv-a")
    assert page.status_code == 500
    assert page.text.startswith("Something went wrong.") and "Traceback" not in page.text
    _no_patient_data(page.text)
    assert "unhandled error in transcript: IntegrityError" in caplog.text
    assert "Traceback" not in caplog.text
    _no_patient_data(caplog.text)


def test_a_failing_phone_search_is_logged_by_type_only(
    staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    write_conversation(staff.url, "conv-a", assessed_conversation(T0))
    staff.add_user("nurse")
    staff.login("nurse")
    csrf = staff.csrf()
    engine = staff.client.app.state.staff_store.engine  # type: ignore[attr-defined]

    def fail_on_the_search(_conn: object, _cursor: object, statement: str, parameters: object, *_rest: object) -> None:
        if "3125550188" in repr(parameters):  # the search's digits, bound into the LIKE
            raise OperationalError(statement, parameters, Exception(f"canceling statement due to timeout: {PHONE}"))

    caplog.set_level(logging.DEBUG)
    event.listen(engine, "before_cursor_execute", fail_on_the_search)
    try:
        page = staff.client.post("/staff/conversations", data={"csrf": csrf, "q": "(312) 555-0188"})
    finally:
        event.remove(engine, "before_cursor_execute", fail_on_the_search)
    assert page.status_code == 500
    _no_patient_data(page.text)
    assert "unhandled error in conversation_list: OperationalError" in caplog.text
    _no_patient_data(caplog.text)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(db_url: str) -> Iterator[str]:
    """The web app served by a real uvicorn (its own logging, as ``python -m bot.web`` runs it)."""
    clinic_store = ClinicStore(db_url)
    init_staff_tables(clinic_store.engine)
    with clinic_store.transaction() as session:
        repo.create_user(session, "nurse", PASSWORD)
    clinic_store.dispose()
    write_conversation(db_url, "conv-a", assessed_conversation(T0))
    port = _free_port()
    app = create_app(replace(SETTINGS, database_url=db_url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_the_asgi_server_logs_no_traceback_with_patient_data(
    served: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with httpx.Client(base_url=served) as browser:
        form = browser.get("/staff/login").text
        match = re.search(r'name="csrf" value="([^"]+)"', form)
        assert match is not None
        login = {"csrf": match.group(1), "username": "nurse", "password": PASSWORD}
        signed_in = browser.post("/staff/login", data=login)
        assert signed_in.status_code == 303
        monkeypatch.setattr(repository, "list_appointment_requests", _violate_a_check_constraint)
        page = browser.get("/staff/conversations/conv-a")
    assert page.status_code == 500
    _no_patient_data(page.text)
    assert "Exception in ASGI application" not in caplog.text and "Traceback" not in caplog.text
    assert "IntegrityError" in caplog.text
    _no_patient_data(caplog.text)
