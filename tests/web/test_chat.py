"""Tests for the chat page and its token endpoints (bot.web.chat)."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import replace
from pathlib import Path

import httpx
import itsdangerous
import pytest
from starlette.testclient import TestClient

from bot.chat_tokens import CONVERSATION_ID, TOKEN_LIFETIME_SECONDS, new_conversation_id, seal_cookie, verify_token
from bot.settings import Settings
from bot.web import create_app
from bot.web.app import STATIC_DIR, session_secret
from bot.web.chat import CHAT_COOKIE, chat_page_policy
from tests.web.conftest import AJAX, ORIGIN, SETTINGS

KEY = SETTINGS.secret_key


def token_of(client: TestClient, path: str = "/chat/session", **headers: str) -> httpx.Response:
    return client.post(path, json={}, headers={**AJAX, **headers})


def conversation_of(answer: httpx.Response, key: str = KEY) -> str:
    assert answer.status_code == 200
    conversation = verify_token(key, answer.json()["token"])
    assert conversation is not None
    return conversation


def test_page_renders(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Spine Care North" in html
    assert 'href="tel:5550100199"' in html
    assert '<label for="chat-input"' in html
    assert 'role="log"' in html
    assert 'name="viewport"' in html
    assert html.index("/static/vendor/socket.io.min.js") < html.index('<script src="/static/chat.js" defer>')
    assert 'data-socket-url="http://testserver:5999"' in html
    assert 'data-socket-path="/socket.io"' in html
    assert 'data-session-url="/chat/session"' in html
    assert "Start a new conversation" in html
    assert page.headers["x-content-type-options"] == "nosniff"


def test_page_may_connect_only_to_itself_and_the_socket(client: TestClient) -> None:
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self' http://testserver:5999 ws://testserver:5999;" in policy
    # Other pages keep the strict default.
    assert "connect-src 'self';" in client.get("/staff/login").headers["content-security-policy"]


def test_a_configured_socket_url_is_used() -> None:
    settings = replace(SETTINGS, chat_socket_url="https://chat.clinic.example")
    with TestClient(create_app(settings)) as client:
        page = client.get("/")
    assert 'data-socket-url="https://chat.clinic.example"' in page.text
    assert "https://chat.clinic.example wss://chat.clinic.example;" in page.headers["content-security-policy"]


def test_policy_for_a_secure_socket() -> None:
    policy = chat_page_policy("https://chat.example:8443")
    assert "connect-src 'self' https://chat.example:8443 wss://chat.example:8443;" in policy
    assert "default-src 'none'" in policy


def test_static_files_served(client: TestClient) -> None:
    script = client.get("/static/chat.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/static/site.css").status_code == 200


def test_the_socket_io_client_is_vendored(client: TestClient) -> None:
    vendored = STATIC_DIR / "vendor" / "socket.io.min.js"
    assert vendored.is_file(), "make vendors it (scripts/vendor_js.py)"
    script = client.get("/static/vendor/socket.io.min.js")
    assert script.status_code == 200
    assert "Socket.IO v4" in script.text[:300]


def test_session_gives_a_token_for_one_stable_conversation(client: TestClient) -> None:
    first = token_of(client)
    assert first.headers["cache-control"] == "no-store"
    assert first.json()["expires_in"] == TOKEN_LIFETIME_SECONDS
    conversation = conversation_of(first)
    assert CONVERSATION_ID.fullmatch(conversation)
    assert conversation_of(token_of(client)) == conversation
    assert conversation not in first.headers["set-cookie"]
    assert conversation not in first.text  # the token is opaque


def _session_cookie(conversation_id: str, key: str) -> str:
    """A ``clinic_session`` cookie of the earlier version: the id in clear text, signed."""
    data = base64.b64encode(json.dumps({"conversation_id": conversation_id}).encode())
    return itsdangerous.TimestampSigner(key).sign(data).decode()


def _set_cookies(answer: httpx.Response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in answer.headers.get_list("set-cookie")}


def test_chat_cookie_is_httponly_lax_sealed_and_not_secure_over_http(client: TestClient) -> None:
    answer = token_of(client)
    cookie = _set_cookies(answer)[CHAT_COOKIE]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()
    assert conversation_of(answer) not in cookie
    client.cookies.clear()
    # Only a cookie sealed with the app's key names a conversation ...
    chosen = new_conversation_id()
    assert conversation_of(token_of(client, Cookie=f"{CHAT_COOKIE}={seal_cookie(KEY, chosen)}")) == chosen
    client.cookies.clear()
    # ... one sealed without it is ignored, and a fresh id is issued instead.
    victim = new_conversation_id()
    forged = conversation_of(token_of(client, Cookie=f"{CHAT_COOKIE}={seal_cookie('guessed-key', victim)}"))
    assert forged != victim
    client.cookies.clear()
    # ... and a clear-text id is no cookie at all.
    assert conversation_of(token_of(client, Cookie=f"{CHAT_COOKIE}={victim}")) != victim


@pytest.mark.parametrize(
    "changes",
    [
        {"staff_cookie_secure": True},
        {"public_url": "https://sms.clinic.example"},
        {"chat_socket_url": "https://chat.clinic.example"},
    ],
)
def test_chat_cookie_is_secure_behind_https(changes: dict[str, object]) -> None:
    with TestClient(create_app(replace(SETTINGS, **changes))) as client:
        cookie = _set_cookies(token_of(client))[CHAT_COOKIE]
    assert "; secure" in cookie.lower()


def test_chat_cookie_is_secure_on_an_https_request() -> None:
    with TestClient(create_app(SETTINGS), base_url="https://testserver") as client:
        answer = client.post("/chat/session", json={}, headers={**AJAX, "Origin": "https://testserver"})
    assert answer.status_code == 200
    assert "; secure" in _set_cookies(answer)[CHAT_COOKIE].lower()


def test_an_earlier_session_cookie_is_carried_over_once_and_cleared(client: TestClient) -> None:
    chosen = new_conversation_id()
    answer = token_of(client, Cookie=f"clinic_session={_session_cookie(chosen, KEY)}")
    assert conversation_of(answer) == chosen
    cookies = _set_cookies(answer)
    assert chosen not in cookies[CHAT_COOKIE]
    assert "expires=thu, 01 jan 1970" in cookies["clinic_session"].lower()  # cleared
    # A legacy cookie forged without the key is ignored.
    client.cookies.clear()
    victim = new_conversation_id()
    assert conversation_of(token_of(client, Cookie=f"clinic_session={_session_cookie(victim, 'guessed')}")) != victim


def test_a_cookie_holding_a_malformed_id_gets_a_fresh_one(client: TestClient) -> None:
    cookie = _session_cookie("short", KEY)
    assert CONVERSATION_ID.fullmatch(conversation_of(token_of(client, Cookie=f"clinic_session={cookie}")))
    client.cookies.clear()
    assert CONVERSATION_ID.fullmatch(conversation_of(token_of(client, Cookie=f"{CHAT_COOKIE}=c2.AAAA")))


def test_ids_differ_between_browsers() -> None:
    app = create_app(SETTINGS)
    with TestClient(app) as alice, TestClient(app) as bob:
        alice_first = conversation_of(token_of(alice))
        bob_first = conversation_of(token_of(bob))
        alice_again = conversation_of(token_of(alice))
    assert alice_first != bob_first
    assert alice_first == alice_again


def test_the_body_cannot_choose_the_conversation(client: TestClient) -> None:
    answer = client.post("/chat/session", json={"conversation_id": "V" * 32, "session_id": "x"}, headers=AJAX)
    assert conversation_of(answer) != "V" * 32


def test_new_conversation_rotates_the_id(client: TestClient) -> None:
    before = conversation_of(token_of(client))
    fresh = conversation_of(token_of(client, "/chat/new"))
    assert fresh != before
    assert conversation_of(token_of(client)) == fresh


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": ORIGIN},
        {"X-Requested-With": "XMLHttpRequest"},
        {"X-Requested-With": "fetch", "Origin": ORIGIN},
        {"X-Requested-With": "XMLHttpRequest", "Origin": "https://evil.example"},
        {"X-Requested-With": "XMLHttpRequest", "Origin": "null"},
        {"X-Requested-With": "XMLHttpRequest", "Referer": "https://evil.example/page"},
        {"X-Requested-With": "XMLHttpRequest", "Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_csrf_checks(client: TestClient, headers: dict[str, str]) -> None:
    for path in ("/chat/session", "/chat/new"):
        answer = client.post(path, json={}, headers=headers)
        assert answer.status_code == 403
        assert "token" not in answer.text


def test_same_origin_referer_is_enough(client: TestClient) -> None:
    answer = client.post("/chat/session", headers={"X-Requested-With": "XMLHttpRequest", "Referer": ORIGIN + "/"})
    assert conversation_of(answer)


def test_tokens_only_by_post(client: TestClient) -> None:
    assert client.get("/chat/session").status_code == 405
    assert client.get("/chat/new").status_code == 405


def test_staff_placeholder(client: TestClient) -> None:
    page = client.get("/staff")
    assert page.status_code == 200
    assert "login" in page.text.lower()
    assert "noindex" in page.text


def test_unknown_page_is_plain_404(client: TestClient) -> None:
    page = client.get("/webhooks/rest/webhook")
    assert page.status_code == 404
    assert page.text == "Not found."
    assert client.post("/chat/send", json={"message": "hi"}, headers=AJAX).status_code == 404


def test_missing_secret_key_makes_a_random_one(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        first = session_secret(Settings(secret_key=""))
        second = session_secret(Settings(secret_key=""))
    assert first != second
    assert len(first) >= 32
    assert "SECRET_KEY is not set" in caplog.text
    assert first not in caplog.text
    assert session_secret(Settings(secret_key="fixed")) == "fixed"


def test_sessions_and_tokens_do_not_survive_a_random_key() -> None:
    settings = Settings(secret_key="")
    first_app, second_app = create_app(settings), create_app(settings)
    with TestClient(first_app) as first:
        token = token_of(first).json()["token"]
        cookies = dict(first.cookies)
    with TestClient(second_app) as second:
        second.cookies.update(cookies)
        again = token_of(second).json()["token"]
    assert "clinic_chat" in cookies
    before = verify_token(first_app.state.chat_token_key, token)
    after = verify_token(second_app.state.chat_token_key, again)
    assert before and after and before != after


def test_patient_text_never_goes_through_html_parsing() -> None:
    script = (STATIC_DIR / "chat.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "textContent" in script
    assert "createTextNode" in script


def test_templates_do_not_disable_autoescape() -> None:
    templates = Path(STATIC_DIR).parent / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "")
        assert "autoescape false" not in text
