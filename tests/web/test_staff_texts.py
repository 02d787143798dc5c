"""Staff text a patient from an SMS conversation's transcript, on SQLite and PostgreSQL.

Twilio is an ``httpx.MockTransport``: no test touches the network.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from urllib.parse import parse_qs

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from bot.storage import opt_outs
from bot.storage import staff_repository as repo
from bot.storage.staff_models import StaffText, init_staff_tables
from bot.storage.store import ClinicStore
from bot.web import app as web_app
from bot.web import create_app
from bot.web.staff import texts
from bot.web.staff.auth import StaffPolicy
from tests.web.conftest import SETTINGS
from tests.web.staff_support import T0, Staff, assessed_conversation, staff, write_conversation

__all__ = ["staff"]

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token"
CLINIC_NUMBER = "+15550100199"
PATIENT = "+13125550188"
MESSAGE_SID = "SM" + "fedcba9876543210" * 2
TWILIO_SETTINGS = replace(
    SETTINGS, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, twilio_from_number=CLINIC_NUMBER
)
SMS_URL = "/staff/conversations/conv-sms/sms"
WORDS = "Hi, it’s Spine Care North. Dr. Patel can see you Tuesday; reply or call us."
SENT_WORDS = "Hi, it's Spine Care North. Dr. Patel can see you Tuesday; reply or call us."  # GSM-7 apostrophe


class FakeTwilio:
    """Twilio's Messages API: records each request, answers with ``reply`` (or raises it)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reply: tuple[int, object] | Exception = (201, {"sid": MESSAGE_SID, "status": "queued"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.reply, Exception):
            raise self.reply
        status, payload = self.reply
        if isinstance(payload, str):
            return httpx.Response(status, text=payload)
        return httpx.Response(status, json=payload)


@pytest.fixture
def twilio() -> FakeTwilio:
    return FakeTwilio()


@pytest.fixture
def texting(db_url: str, twilio: FakeTwilio) -> Iterator[Staff]:
    """A staff app with texting configured, Twilio mocked, a nurse signed in, an SMS and a web conversation."""
    settings = replace(TWILIO_SETTINGS, database_url=db_url)
    app = create_app(settings, staff_policy=StaffPolicy(), sms_transport=httpx.MockTransport(twilio.handle))
    store = ClinicStore(db_url)
    init_staff_tables(store.engine)
    with TestClient(app) as client:
        helper = Staff(db_url, client, store)
        _seed(helper)
        helper.add_user("nurse")
        helper.login("nurse")
        yield helper
    store.dispose()


def _seed(helper: Staff) -> None:
    sms = assessed_conversation(T0, channel="twilio", metadata={"phone": PATIENT})
    write_conversation(helper.url, "conv-sms", sms)
    write_conversation(helper.url, "conv-a", assessed_conversation(T0 + 60))


def _form_key(helper: Staff, path: str = SMS_URL) -> str:
    """The idempotency key of the transcript's text form (a fresh valid one where there is no form)."""
    html = helper.client.get(path.removesuffix("/sms")).text
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    return match.group(1) if match else secrets.token_urlsafe(24)


def _send(helper: Staff, data: dict[str, str], path: str = SMS_URL, key: str | None = None) -> httpx.Response:
    """Post the text form as a browser would: with the key of a freshly rendered form."""
    return helper.post(path, {"idempotency_key": key or _form_key(helper, path), **data})


def _texts(helper: Staff) -> list[StaffText]:
    with helper.store.transaction() as session:
        return list(session.execute(select(StaffText).order_by(StaffText.id)).scalars())


def _form_of(request: httpx.Request) -> dict[str, str]:
    fields = parse_qs(request.content.decode("utf-8"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def test_the_form_is_offered_on_an_sms_transcript(texting: Staff) -> None:
    html = texting.client.get("/staff/conversations/conv-sms").text
    assert "<h2>Text the patient</h2>" in html
    assert '<form method="post" action="/staff/conversations/conv-sms/sms"' in html
    assert '<label for="sms-body">' in html and '<textarea id="sms-body" name="body"' in html
    assert re.search(
        r'action="/staff/conversations/conv-sms/sms" class="stacked" data-send-once>\s*'
        r'<input type="hidden" name="csrf"',
        html,
    )
    assert 'maxlength="306"' in html


def test_a_text_is_sent_recorded_audited_and_shown(texting: Staff, twilio: FakeTwilio) -> None:
    answer = _send(texting, {"body": WORDS, "To": "+19995550100", "to": "+19995550100"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/conversations/conv-sms?sms=sent"
    assert answer.headers["cache-control"] == "no-store"

    (request,) = twilio.requests
    assert request.method == "POST"
    assert str(request.url) == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    expected_auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    # the number is the conversation's, never the form's
    assert _form_of(request) == {"To": PATIENT, "Body": SENT_WORDS, "From": CLINIC_NUMBER}

    (text,) = _texts(texting)
    assert (text.conversation_id, text.staff_username, text.body) == ("conv-sms", "nurse", SENT_WORDS)
    assert (text.status, text.twilio_sid, text.failure) == ("sent", MESSAGE_SID, "")
    assert text.sent_at.tzinfo is not None
    assert ("nurse", "sms_sent", "conv-sms", f"text={text.id} sid={MESSAGE_SID}") in texting.audit_actions()
    for _actor, _action, target, detail in texting.audit_actions():
        assert PATIENT not in target + detail and "Patel" not in detail

    page = texting.client.get(answer.headers["location"]).text
    assert '<p class="notice" role="status">Text sent to the patient.</p>' in page
    html = page[page.index("<h2>Transcript</h2>") :]
    assert "Staff text by nurse</span>" in html
    assert "Dr. Patel can see you Tuesday" in html
    # the text comes after the last turn of the conversation (it was sent days later)
    assert html.index("burning down my leg") < html.index("Staff text by nurse") < html.index("Dr. Patel")


def test_staff_texts_are_interleaved_with_the_turns_by_time(texting: Staff) -> None:
    with texting.store.transaction() as session:
        repo.record_staff_text(
            session,
            conversation_id="conv-sms",
            staff_username="frontdesk",
            body="Sorry for the wait <b>today</b>",
            sent_at=datetime.fromtimestamp(T0 + 15, tz=timezone.utc),
            status="failed",
            failure="network",
        )
    page = texting.client.get("/staff/conversations/conv-sms").text
    html = page[page.index("<h2>Transcript</h2>") :]
    assert (
        html.index("6 weeks ago") < html.index("Staff text by frontdesk (not sent)") < html.index("worse than before")
    )
    assert "Sorry for the wait &lt;b&gt;today&lt;/b&gt;" in html


def test_not_configured_shows_so_and_sends_nothing(staff: Staff) -> None:
    _seed(staff)
    staff.add_user("nurse")
    staff.login("nurse")
    html = staff.client.get("/staff/conversations/conv-sms").text
    assert "Texting patients is not configured." in html
    assert "<textarea" not in html
    answer = _send(staff, {"body": "Hello"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/conversations/conv-sms?sms=not_configured"
    assert "Not sent: texting patients is not configured." in staff.client.get(answer.headers["location"]).text
    assert _texts(staff) == []
    assert ("nurse", "sms_refused", "conv-sms", "not_configured") in staff.audit_actions()


def test_an_opted_out_number_gets_nothing(texting: Staff, twilio: FakeTwilio) -> None:
    with texting.store.transaction() as session:
        opt_outs.record_opt_out(session, PATIENT)
    html = texting.client.get("/staff/conversations/conv-sms").text
    assert "This number has opted out of texts (STOP)" in html and "<textarea" not in html
    answer = _send(texting, {"body": "Hello"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/conversations/conv-sms?sms=opted_out"
    assert twilio.requests == [] and _texts(texting) == []
    assert ("nurse", "sms_refused", "conv-sms", "opted_out") in texting.audit_actions()
    # START brings the form back
    with texting.store.transaction() as session:
        opt_outs.record_opt_in(session, PATIENT)
    assert "<textarea" in texting.client.get("/staff/conversations/conv-sms").text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write a message first."),
        ("  \r\n  ", "Write a message first."),
        ("x" * 307, "The message is too long for two text segments"),
        ("Feeling better? 🙂 " + "y" * 116, "The message is too long for two text segments"),  # UCS-2: 135 units
        ("Call us\x00 now", "The message holds characters that can&#39;t be sent by text."),
    ],
)
def test_empty_or_too_long_texts_are_refused(texting: Staff, twilio: FakeTwilio, body: str, message: str) -> None:
    answer = _send(texting, {"body": body})
    assert answer.status_code == 400
    assert message in answer.text
    assert "<textarea" in answer.text
    if body.strip() and "\x00" not in body:
        assert body in answer.text  # the draft is kept
    assert twilio.requests == [] and _texts(texting) == []


def test_the_longest_texts_that_fit_are_sent(texting: Staff, twilio: FakeTwilio) -> None:
    assert _send(texting, {"body": "x" * 306}).status_code == 303
    assert _send(texting, {"body": "Feeling better? 🙂 " + "y" * 115}).status_code == 303
    assert [len(_form_of(request)["Body"]) for request in twilio.requests] == [306, 133]


def test_without_csrf_nothing_is_sent(texting: Staff, twilio: FakeTwilio) -> None:
    assert texting.client.post(SMS_URL, data={"body": "Hello"}).status_code == 403
    assert texting.client.post(SMS_URL, data={"body": "Hello", "csrf": "forged"}).status_code == 403
    assert twilio.requests == [] and _texts(texting) == []


def test_signed_out_staff_are_sent_to_login(texting: Staff, twilio: FakeTwilio) -> None:
    texting.post("/staff/logout", {})
    answer = texting.client.post(SMS_URL, data={"body": "Hello"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/login"
    assert twilio.requests == [] and _texts(texting) == []


def test_only_post_is_allowed(texting: Staff) -> None:
    assert texting.client.get(SMS_URL).status_code == 405


def test_web_conversations_have_no_form_and_refuse_texts(texting: Staff, twilio: FakeTwilio) -> None:
    html = texting.client.get("/staff/conversations/conv-a").text
    assert "Text the patient" not in html and "<textarea" not in html
    answer = _send(texting, {"body": "Hello", "To": PATIENT}, "/staff/conversations/conv-a/sms")
    assert answer.status_code == 400
    assert "Texts can only be sent in SMS conversations." in answer.text
    assert _send(texting, {"body": "Hello"}, "/staff/conversations/nope/sms").status_code == 404
    assert twilio.requests == [] and _texts(texting) == []


TWILIO_ERROR = "The 'To' number +13125550188 is not a valid phone number."


@pytest.mark.parametrize(
    ("reply", "failure"),
    [
        ((400, {"code": 21211, "message": TWILIO_ERROR, "status": 400}), "rejected status=400 code=21211"),
        ((401, {"code": 20003, "message": "Authenticate", "status": 401}), "rejected status=401 code=20003"),
        ((500, "<html>Internal error for +13125550188</html>"), "unavailable status=500"),
        ((201, {"status": "queued"}), "bad_response status=201"),
        (httpx.ConnectError(f"could not reach Twilio for {PATIENT}"), "network"),
        (httpx.ReadTimeout("timed out"), "network"),
    ],
)
def test_twilio_errors_are_kind_recorded_and_leak_nothing(
    texting: Staff,
    twilio: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
    reply: tuple[int, object] | Exception,
    failure: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    twilio.reply = reply
    answer = _send(texting, {"body": "Your MRI results are in"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/conversations/conv-sms?sms=failed"
    html = texting.client.get(answer.headers["location"]).text
    assert "The text could not be sent" in html and 'role="alert"' in html
    assert "not a valid phone number" not in html and "Internal error" not in html and "could not reach" not in html
    assert "Staff text by nurse (not sent)" in html

    (text,) = _texts(texting)
    assert (text.status, text.twilio_sid, text.failure) == ("failed", None, failure)
    assert ("nurse", "sms_failed", "conv-sms", failure) in texting.audit_actions()
    logs = " ".join(record.getMessage() for record in caplog.records)
    assert "staff text not sent" in logs or "unreadable answer" in logs
    assert PATIENT not in logs and "MRI" not in logs and "3125550188" not in logs


def test_a_double_submit_sends_once(texting: Staff, twilio: FakeTwilio) -> None:
    assert _send(texting, {"body": WORDS}).headers["location"].endswith("?sms=sent")
    again = _send(texting, {"body": WORDS})
    assert again.headers["location"].endswith("?sms=duplicate")
    assert "not sent again" in texting.client.get(again.headers["location"]).text
    assert len(twilio.requests) == 1 and len(_texts(texting)) == 1
    # A different text goes out.
    assert _send(texting, {"body": "Please call us back today."}).headers["location"].endswith("?sms=sent")
    assert len(twilio.requests) == 2


# --- one send per form: the idempotency key -------------------------------------------------


def test_each_rendered_form_carries_its_own_key(texting: Staff) -> None:
    first, second = _form_key(texting), _form_key(texting)
    assert first != second
    assert texts.IDEMPOTENCY_KEY.match(first) and texts.IDEMPOTENCY_KEY.match(second)


@pytest.mark.parametrize("key", ["", "too-short", "k" * 65, "spaces are not allowed in keys"])
def test_a_form_without_a_valid_key_sends_nothing(texting: Staff, twilio: FakeTwilio, key: str) -> None:
    answer = texting.post(SMS_URL, {"body": "Hello", "idempotency_key": key})
    assert answer.status_code == 400 and "The form expired" in answer.text
    assert twilio.requests == [] and _texts(texting) == []


def test_the_same_form_sent_twice_goes_out_once(texting: Staff, twilio: FakeTwilio) -> None:
    key = _form_key(texting)
    assert _send(texting, {"body": "Please call us today."}, key=key).headers["location"].endswith("?sms=sent")
    # a second click on the same form, even after editing the words, sends nothing
    again = _send(texting, {"body": "Please call us today, Maria."}, key=key)
    assert again.headers["location"].endswith("?sms=duplicate")
    assert len(twilio.requests) == 1
    (text,) = _texts(texting)
    assert (text.body, text.status, text.idempotency_key) == ("Please call us today.", "sent", key)


def _clients_cookies(helper: Staff) -> dict[str, str]:
    return {cookie.name: cookie.value or "" for cookie in helper.client.cookies.jar if cookie.name == "clinic_staff"}


def _post_at_once(helper: Staff, data: dict[str, str], count: int = 2) -> list[httpx.Response]:
    """``count`` POSTs of the text form at the same time, each from its own thread and event loop."""
    answers: list[httpx.Response] = []
    problems: list[BaseException] = []

    def post() -> None:
        try:
            client = TestClient(helper.client.app, cookies=_clients_cookies(helper))
            answers.append(client.post(SMS_URL, data=data, follow_redirects=False))
        except BaseException as error:  # reported by the test below
            problems.append(error)

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not problems, problems
    return answers


def _outcomes(answers: list[httpx.Response]) -> list[str]:
    return sorted(answer.headers["location"].rsplit("sms=", 1)[1] for answer in answers)


def test_two_requests_at_once_with_one_key_send_once(
    texting: Staff, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both requests pass the opt-out check together, before either has written anything.
    together = threading.Barrier(2, timeout=10)
    checks: list[str] = []
    real_is_opted_out = texts.is_opted_out

    def is_opted_out(session: object, phone: str) -> bool:
        answer = real_is_opted_out(session, phone)  # type: ignore[arg-type]
        checks.append(phone)
        if len(checks) <= 2:  # the first check of each request; a retry goes straight on
            together.wait()
        return answer

    monkeypatch.setattr(texts, "is_opted_out", is_opted_out)
    data = {"csrf": texting.csrf(), "idempotency_key": _form_key(texting), "body": WORDS}
    answers = _post_at_once(texting, data)
    assert _outcomes(answers) == ["duplicate", "sent"]
    assert len(twilio.requests) == 1
    assert [(t.status, t.twilio_sid) for t in _texts(texting)] == [("sent", MESSAGE_SID)]


def test_the_database_refuses_a_second_row_for_a_key(
    texting: Staff, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both requests look the key up and find nothing; only the unique index can stop the second.
    together = threading.Barrier(2, timeout=10)
    lookups = []
    real_lookup = repo.get_staff_text_by_key

    def get_staff_text_by_key(session: object, key: str) -> StaffText | None:
        found = real_lookup(session, key)  # type: ignore[arg-type]
        lookups.append(found)
        if len(lookups) <= 2:
            together.wait()
        return found

    monkeypatch.setattr(repo, "get_staff_text_by_key", get_staff_text_by_key)
    data = {"csrf": texting.csrf(), "idempotency_key": _form_key(texting), "body": WORDS}
    answers = _post_at_once(texting, data)
    assert lookups[:2] == [None, None]
    assert _outcomes(answers) == ["duplicate", "sent"]
    assert len(twilio.requests) == 1 and len(_texts(texting)) == 1


# --- a text Twilio accepted is recorded, even when the database fails ---------------------


class FailingTextWrites:
    """Makes writes to ``clinic_staff_texts`` fail once Twilio has accepted a message.

    The error quotes the patient's number, as a real driver error may quote the values it was
    given: the logs must not repeat it.
    """

    def __init__(self, helper: Staff, twilio: FakeTwilio, times: int) -> None:
        self.engine = helper.client.app.state.staff_store.engine  # type: ignore[attr-defined]
        self.twilio = twilio
        self.remaining = times
        self.failed = 0
        event.listen(self.engine, "before_cursor_execute", self.before)

    def before(self, _conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        writes = ("UPDATE clinic_staff_texts", "INSERT INTO clinic_staff_texts")
        if self.twilio.requests and self.remaining > 0 and statement.lstrip().startswith(writes):
            self.remaining -= 1
            self.failed += 1
            raise OperationalError(statement, {"to": PATIENT}, Exception(f"server closed the connection ({PATIENT})"))

    def stop(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.before)


def test_a_text_twilio_accepted_is_recorded_when_the_first_write_fails(
    texting: Staff, twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failing = FailingTextWrites(texting, twilio, times=1)
    answer = _send(texting, {"body": "Your MRI results are in"})
    failing.stop()
    assert answer.headers["location"].endswith("?sms=sent")
    assert failing.failed == 1 and len(twilio.requests) == 1
    (text,) = _texts(texting)
    assert (text.status, text.twilio_sid, text.failure) == ("sent", MESSAGE_SID, "")
    assert ("nurse", "sms_sent", "conv-sms", f"text={text.id} sid={MESSAGE_SID}") in texting.audit_actions()
    assert PATIENT not in caplog.text and "MRI" not in caplog.text


def test_when_every_write_fails_the_sid_is_kept_and_written_later(
    texting: Staff, twilio: FakeTwilio, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(web_app, "TEXT_RETRY_SECONDS", 0.1)
    monkeypatch.setattr(texts, "RETRY_PAUSE_SECONDS", 0.01)
    failing = FailingTextWrites(texting, twilio, times=1000)
    answer = _send(texting, {"body": "Your MRI results are in"})
    assert answer.headers["location"].endswith("?sms=sent")  # Twilio took it
    assert failing.failed == texts.OUTCOME_ATTEMPTS and len(twilio.requests) == 1
    (text,) = _texts(texting)  # written before sending; Twilio's answer is not in it yet
    assert (text.status, text.failure, text.twilio_sid) == ("failed", "sending", None)
    transcript = texting.client.get("/staff/conversations/conv-sms").text
    assert "Staff text by nurse (sending; not confirmed yet)" in transcript
    waiting = texts.unrecorded(texting.client.app)
    assert len(waiting) == 1
    # the log says what failed (its type) and keeps the SID for a reconciliation by hand
    assert "OperationalError" in caplog.text and MESSAGE_SID in caplog.text
    assert PATIENT not in caplog.text and "3125550188" not in caplog.text and "MRI" not in caplog.text

    failing.stop()  # the database is back: the app's background task writes it
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _texts(texting)[0].status != "sent":
        time.sleep(0.1)
    (text,) = _texts(texting)
    assert (text.status, text.twilio_sid, text.failure) == ("sent", MESSAGE_SID, "")
    assert len(waiting) == 0
    assert ("nurse", "sms_sent", "conv-sms", f"text={text.id} sid={MESSAGE_SID}") in texting.audit_actions()
    assert len(twilio.requests) == 1  # never sent again
