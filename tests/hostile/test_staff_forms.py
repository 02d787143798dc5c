"""Hostile input in every staff form and page parameter, on SQLite and on PostgreSQL.

The staff app (``bot.web``, Starlette's ``TestClient`` on the app factory) gets every text of
the corpus as the login's username and password, the conversation search and filters, the CSV
export, the "Text the patient" form, a queue status, a new account and a path parameter; and
login bodies of the wrong shape. Outcome: never a 5xx, every page shows what was typed escaped
(the transcript of a conversation full of hostile patient text too), and the database still
reads back. PostgreSQL matters here: it refuses NUL characters that SQLite stores.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import quote, urlencode

import httpx
import pytest
from argon2 import PasswordHasher
from markupsafe import escape
from starlette.testclient import TestClient

from bot.channels.text import clean_incoming_text
from bot.storage import staff_repository as repo
from bot.storage.conversations import load_conversation
from bot.storage.staff_models import AuditEntry, StaffText, init_staff_tables
from bot.storage.store import ClinicStore
from bot.web import create_app
from bot.web.staff.auth import StaffPolicy
from tests.hostile.corpus import STAFF_RAW_REQUESTS, TEXTS
from tests.web.conftest import SETTINGS
from tests.web.staff_support import T0, Staff, assessed_conversation, user, write_conversation

FORM = "application/x-www-form-urlencoded"
PATIENT_NUMBER = "+13125550188"
TEXTING = replace(
    SETTINGS,
    twilio_account_sid="AC" + "0123456789abcdef" * 2,
    twilio_auth_token="twilio-test-auth-token",
    twilio_from_number="+15550100199",
)
MARKUP_TEXTS = [h for h in TEXTS if h.has_markup]
URL_VALUE_MAX = 1000
"""Longest value put in a URL (browsers and proxies refuse URLs far shorter than 100 KB)."""


def form_body(fields: dict[str, str]) -> bytes:
    """A form as a browser posts it; characters UTF-8 can't hold go as their raw bytes."""
    return urlencode(fields, encoding="utf-8", errors="surrogatepass").encode("ascii")


def raw_markup_shown(html: str, typed: str) -> bool:
    """Whether ``typed`` (holding ``<`` or ``>``) stands in ``html`` unescaped."""
    return any(ch in typed for ch in "<>") and typed in html


class HostileStaff(Staff):
    """:class:`Staff` that posts raw form bodies and keeps its CSRF token."""

    token = ""
    request_id = 0

    def form(self, path: str, fields: dict[str, str], csrf: bool = True) -> httpx.Response:
        if csrf and not self.token:
            self.token = self.csrf()
        body = form_body({**({"csrf": self.token} if csrf else {}), **fields})
        return self.client.post(path, content=body, headers={"Content-Type": FORM}, follow_redirects=False)


@pytest.fixture
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its lowest cost: what is tested is the form, not 170 ms of hashing per login."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(repo, "_hasher", hasher)
    monkeypatch.setattr(repo, "_DUMMY_HASH", hasher.hash(secrets.token_urlsafe(16)))


@pytest.fixture
def hostile_staff(db_url: str, cheap_passwords: None) -> Iterator[HostileStaff]:
    """The staff app on each test database, texting configured (Twilio mocked), conversations of hostile text."""
    sent: list[httpx.Request] = []

    def twilio(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={"sid": f"SM{len(sent):032d}", "status": "queued"})

    # No lockout: every hostile login must reach the account lookup.
    policy = StaffPolicy(throttle=repo.ThrottlePolicy(account_failures=10**6, ip_failures=10**6))
    app = create_app(replace(TEXTING, database_url=db_url), staff_policy=policy,
                     sms_transport=httpx.MockTransport(twilio))  # fmt: skip
    store = ClinicStore(db_url)
    init_staff_tables(store.engine)
    _seed(db_url)
    with TestClient(app) as client:
        helper = HostileStaff(db_url, client, store)
        helper.add_user("hostile-admin", role="admin")
        helper.request_id = helper.add_request("conv-sms")
        yield helper
    store.dispose()


def _seed(url: str) -> None:
    """A web conversation whose patient typed the whole corpus, and an SMS conversation to text."""
    events = assessed_conversation(T0, first_text="<script>alert('first')</script>")
    for number, item in enumerate(TEXTS):
        events.append(user(clean_incoming_text(item.text) or "(empty)", T0 + 100 + number))
    write_conversation(url, "conv-hostile", events)
    write_conversation(url, "conv-sms", assessed_conversation(T0 + 5, channel="twilio",
                                                               metadata={"phone": PATIENT_NUMBER}))  # fmt: skip


def sign_in(helper: HostileStaff) -> None:
    assert helper.login("hostile-admin").status_code == 303


# --- login ---------------------------------------------------------------------------------


def test_login_survives_hostile_usernames_and_passwords(hostile_staff: HostileStaff) -> None:
    failures = []
    for item in TEXTS:
        csrf = hostile_staff.login_csrf()
        answer = hostile_staff.form(
            "/staff/login", {"csrf": csrf, "username": item.text, "password": item.text}, csrf=False
        )
        if answer.status_code != 401 or raw_markup_shown(answer.text, item.text):
            failures.append((item.id, answer.status_code))
    assert not failures
    # A hostile CSRF token is a stale form, nothing worse.
    for item in MARKUP_TEXTS[:10]:
        answer = hostile_staff.form("/staff/login", {"csrf": item.text, "username": "x", "password": "y"}, csrf=False)
        assert answer.status_code == 403, item.id
    sign_in(hostile_staff)


def test_login_refuses_bodies_of_the_wrong_shape(hostile_staff: HostileStaff) -> None:
    for name, body, content_type in STAFF_RAW_REQUESTS:
        hostile_staff.login_csrf()  # the login cookie is set, as for a real browser
        answer = hostile_staff.client.post("/staff/login", content=body, headers={"Content-Type": content_type})
        assert answer.status_code in (400, 401, 403), (name, answer.status_code)
    sign_in(hostile_staff)  # and the app still works


# --- forms and parameters of a signed-in member of staff ------------------------------------


def test_search_filters_and_export_survive_hostile_values(hostile_staff: HostileStaff) -> None:
    sign_in(hostile_staff)
    for item in TEXTS:
        value = item.text
        listing = hostile_staff.form("/staff/conversations", {"q": value, "from": value, "channel": value,
                                                              "finding": value, "page": value})  # fmt: skip
        assert listing.status_code == 200, item.id
        assert not raw_markup_shown(listing.text, value[:100]), item.id
        short = value[:URL_VALUE_MAX]
        query = urlencode({"from": short, "to": short, "red_flag": short, "booking": short, "page": short},
                          encoding="utf-8", errors="surrogatepass")  # fmt: skip
        assert hostile_staff.client.get(f"/staff/conversations?{query}").status_code == 200, item.id
        exported = hostile_staff.form("/staff/conversations/export.csv", {"q": value, "to": value})
        assert exported.status_code == 200, item.id
        rows = list(csv.reader(io.StringIO(exported.text)))
        assert rows and rows[0][0] == "conversation_id", item.id
        filters = urlencode({"status": short, "page": short}, errors="surrogatepass")
        queue = hostile_staff.client.get(f"/staff/queues/red-flags?{filters}")
        assert queue.status_code == 200, item.id


def test_texting_the_patient_survives_hostile_texts(hostile_staff: HostileStaff) -> None:
    sign_in(hostile_staff)
    outcomes: dict[int, int] = {}
    for item in TEXTS:
        answer = hostile_staff.form(
            "/staff/conversations/conv-sms/sms",
            {"body": item.text, "idempotency_key": secrets.token_urlsafe(24)},
        )
        outcomes[answer.status_code] = outcomes.get(answer.status_code, 0) + 1
        assert answer.status_code in (303, 400), (item.id, answer.status_code)
        if answer.status_code == 400:  # refused (empty, control characters, too long): the draft comes back
            assert not raw_markup_shown(answer.text, item.text[:2000]), item.id
    assert outcomes.get(303) and outcomes.get(400), outcomes
    page = hostile_staff.client.get("/staff/conversations/conv-sms")
    assert page.status_code == 200
    for item in MARKUP_TEXTS:
        assert not raw_markup_shown(page.text, item.text), item.id
    with hostile_staff.store.transaction() as session:
        stored = session.query(StaffText).count()
    assert 0 < stored <= outcomes[303]  # the same words twice within minutes are not sent again


def test_queue_and_account_forms_survive_hostile_values(hostile_staff: HostileStaff) -> None:
    sign_in(hostile_staff)
    with hostile_staff.store.transaction() as session:
        admin_id = repo.get_user(session, "hostile-admin").id  # type: ignore[union-attr]
    for item in TEXTS:
        value = item.text
        status = hostile_staff.form(f"/staff/queues/requests/{hostile_staff.request_id}/status", {"status": value})
        assert status.status_code == 400, (item.id, status.status_code)
        created = hostile_staff.form("/staff/users", {"username": value, "password": value, "role": value})
        assert created.status_code == 400, (item.id, created.status_code)
        assert not raw_markup_shown(created.text, value), item.id
        updated = hostile_staff.form(f"/staff/users/{admin_id}", {"action": value, "password": value})
        assert updated.status_code == 400, (item.id, updated.status_code)
        assert not raw_markup_shown(updated.text, value), item.id


def test_hostile_path_parameters_are_not_found(hostile_staff: HostileStaff) -> None:
    sign_in(hostile_staff)
    for item in TEXTS:
        path = quote(item.text[:300].encode("utf-8", "surrogatepass"), safe="")
        if not path:
            continue
        page = hostile_staff.client.get(f"/staff/conversations/{path}")
        assert page.status_code in (200, 404, 405), (item.id, page.status_code)
        assert not raw_markup_shown(page.text, item.text), item.id
        sms = hostile_staff.form(f"/staff/conversations/{path}/sms", {"body": "hi", "idempotency_key": "k" * 32})
        assert sms.status_code in (303, 400, 404, 405), (item.id, sms.status_code)
        for queue in (path, "requests"):
            moved = hostile_staff.form(f"/staff/queues/{queue}/1/status", {"status": "contacted"})
            assert moved.status_code < 500, (item.id, moved.status_code)


def test_the_chat_endpoints_survive_hostile_cookies_and_origins(hostile_staff: HostileStaff) -> None:
    client = hostile_staff.client
    for item in TEXTS:
        cookie = quote(item.text[:2000].encode("utf-8", "surrogatepass"), safe="")
        headers = {"Cookie": f"clinic_chat={cookie}; clinic_session={cookie}", "X-Requested-With": "XMLHttpRequest",
                   "Origin": "http://testserver"}  # fmt: skip
        session = client.post("/chat/session", headers=headers)
        assert session.status_code == 200, (item.id, session.status_code)
        assert "token" in session.json()
        other = client.post("/chat/session", headers={**headers, "Origin": cookie[:200] or "null"})
        assert other.status_code in (200, 403), (item.id, other.status_code)
        page = client.get(f"/?{urlencode({'q': item.text[:300]}, errors='surrogatepass')}")
        assert page.status_code == 200, item.id
        assert not raw_markup_shown(page.text, item.text[:300]), item.id


# --- what staff read -------------------------------------------------------------------------


def test_a_transcript_of_hostile_patient_text_shows_it_all_escaped(hostile_staff: HostileStaff) -> None:
    sign_in(hostile_staff)
    page = hostile_staff.client.get("/staff/conversations/conv-hostile")
    assert page.status_code == 200
    for item in MARKUP_TEXTS:
        stored = clean_incoming_text(item.text)
        if stored:
            assert str(escape(stored)) in page.text, item.id
            assert not raw_markup_shown(page.text, stored), item.id
    assert "<script>alert('first')</script>" not in page.text
    listing = hostile_staff.client.get("/staff/conversations")
    assert listing.status_code == 200 and "<script>alert" not in listing.text


def test_the_audit_log_shows_hostile_usernames_escaped(hostile_staff: HostileStaff) -> None:
    for item in MARKUP_TEXTS:
        hostile_staff.form(
            "/staff/login",
            {"csrf": hostile_staff.login_csrf(), "username": item.text, "password": "x"},
            csrf=False,
        )
    sign_in(hostile_staff)
    seen = 0
    for page_number in range(1, 20):
        page = hostile_staff.client.get(f"/staff/audit?page={page_number}")
        assert page.status_code == 200
        rows = page.text.count("login_failed")
        if not rows:
            break
        seen += rows
        for item in MARKUP_TEXTS:
            assert not raw_markup_shown(page.text, item.text[:64]), item.id
    assert seen >= len(MARKUP_TEXTS)


def test_the_database_reads_back_after_hostile_forms(hostile_staff: HostileStaff) -> None:
    sign_in(hostile_staff)
    for item in TEXTS[::7]:
        hostile_staff.form("/staff/conversations", {"q": item.text})
        hostile_staff.form("/staff/login", {"csrf": hostile_staff.login_csrf(), "username": item.text,
                                            "password": item.text}, csrf=False)  # fmt: skip
    with hostile_staff.store.transaction() as session:
        conversation = load_conversation(session, "conv-hostile")
        assert conversation is not None
        assert len([t for t in conversation.turns if t.speaker == "patient"]) == len(TEXTS) + 4
        entries, total = repo.list_audit(session, limit=10_000)
        assert total == len(entries) and all(isinstance(e, AuditEntry) for e in entries)
        assert [u.username for u in repo.list_users(session)] == ["hostile-admin"]
    assert hostile_staff.client.get("/staff/conversations").status_code == 200


def test_every_markup_text_is_checked() -> None:
    assert len(MARKUP_TEXTS) >= 50
    assert re.search(r"<script>", " ".join(h.text for h in MARKUP_TEXTS))
