"""Tests for the chat page and its JSON endpoints (bot.web.chat)."""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import itsdangerous
import pytest
from starlette.testclient import TestClient

from bot.settings import Settings
from bot.web import create_app
from bot.web.app import STATIC_DIR, session_secret
from tests.web.conftest import AJAX, ORIGIN, SETTINGS, FakeRasa


def send(client: TestClient, message: Any, **headers: str) -> httpx.Response:
    return client.post("/chat/send", json={"message": message}, headers={**AJAX, **headers})


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
    assert '<script src="/static/chat.js" defer></script>' in html
    assert "Start a new conversation" in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_static_files_served(client: TestClient) -> None:
    script = client.get("/static/chat.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/static/site.css").status_code == 200


def test_send_forwards_with_the_cookie_sender_id(client: TestClient, rasa: FakeRasa) -> None:
    first = send(client, "my back hurts")
    assert first.status_code == 200
    assert first.json() == {"messages": [{"text": "got [my back hurts]"}]}
    assert first.headers["cache-control"] == "no-store"
    second = send(client, "  /restart")
    assert second.json() == {"messages": [{"text": "got [restart]"}]}
    sender = rasa.requests[0]["sender"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", sender)
    assert [body["sender"] for body in rasa.requests] == [sender, sender]
    assert rasa.urls[0] == "http://127.0.0.1:5999/webhooks/rest/webhook"


def _session_cookie(conversation_id: str, key: str) -> str:
    data = base64.b64encode(json.dumps({"conversation_id": conversation_id}).encode())
    return itsdangerous.TimestampSigner(key).sign(data).decode()


def test_session_cookie_is_httponly_lax_and_signed(client: TestClient, rasa: FakeRasa) -> None:
    answer = send(client, "hi")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("clinic_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    client.cookies.clear()
    # Only a cookie signed with the app's key names a conversation ...
    signed = _session_cookie("chosen-by-server", SETTINGS.secret_key)
    send(client, "hi again", Cookie=f"clinic_session={signed}")
    assert rasa.requests[1]["sender"] == "chosen-by-server"
    client.cookies.clear()
    # ... one forged without it is ignored, and a fresh id is issued instead.
    forged = _session_cookie("victim", "guessed-key")
    send(client, "hi again", Cookie=f"clinic_session={forged}")
    assert rasa.requests[2]["sender"] not in ("victim", rasa.requests[0]["sender"])


def test_ids_differ_between_clients(rasa: FakeRasa) -> None:
    app = create_app(SETTINGS, rasa_transport=httpx.MockTransport(rasa.handle))
    with TestClient(app) as alice, TestClient(app) as bob:
        send(alice, "I am Alice")
        send(bob, "I am Bob")
        send(alice, "Alice again")
    senders = [body["sender"] for body in rasa.requests]
    assert senders[0] != senders[1]
    assert senders[0] == senders[2]


def test_body_cannot_set_the_sender(client: TestClient, rasa: FakeRasa) -> None:
    answer = client.post(
        "/chat/send",
        json={"message": "hi", "sender": "+15550100123", "conversation_id": "x"},
        headers=AJAX,
    )
    assert answer.status_code == 200
    assert rasa.requests[0]["sender"] not in ("+15550100123", "x")
    assert set(rasa.requests[0]) == {"sender", "message"}


def test_new_conversation_issues_a_fresh_id(client: TestClient, rasa: FakeRasa) -> None:
    send(client, "one")
    assert client.post("/chat/new", json={}, headers=AJAX).json() == {"ok": True}
    send(client, "two")
    assert rasa.requests[0]["sender"] != rasa.requests[1]["sender"]


def test_rasa_down_gives_a_kind_502(rasa: FakeRasa) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = create_app(SETTINGS, rasa_transport=httpx.MockTransport(down))
    with TestClient(app) as client:
        answer = send(client, "hello")
    assert answer.status_code == 502
    body = answer.json()
    assert body["error"] == "assistant_unavailable"
    assert body["messages"] == [
        {"text": "The assistant is not available right now; please call Spine Care North at (555) 010-0199."}
    ]
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(500, text="Traceback (most recent call last): ..."),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"not": "a list"}),
    ],
)
def test_rasa_errors_give_a_kind_502(client: TestClient, rasa: FakeRasa, reply: httpx.Response) -> None:
    rasa.reply = lambda body: reply
    answer = send(client, "hello")
    assert answer.status_code == 502
    assert "call Spine Care North" in answer.json()["messages"][0]["text"]
    assert "Traceback" not in answer.text


def test_real_unreachable_rasa_gives_502() -> None:
    app = create_app(SETTINGS, rasa_url="http://127.0.0.1:9")
    with TestClient(app) as client:
        answer = send(client, "hello")
    assert answer.status_code == 502


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
def test_csrf_checks(client: TestClient, rasa: FakeRasa, headers: dict[str, str]) -> None:
    answer = client.post("/chat/send", json={"message": "hi"}, headers=headers)
    assert answer.status_code == 403
    assert client.post("/chat/new", json={}, headers=headers).status_code == 403
    assert rasa.requests == []


def test_same_origin_referer_is_enough(client: TestClient, rasa: FakeRasa) -> None:
    answer = client.post(
        "/chat/send",
        json={"message": "hi"},
        headers={"X-Requested-With": "XMLHttpRequest", "Referer": ORIGIN + "/"},
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "content, content_type",
    [
        (b'{"message": "hi"}', "text/plain"),
        (b"not json", "application/json"),
        (b'["my name is Jane"]', "application/json"),
        (b'{"message": ["Jane"]}', "application/json"),
        (b'{"message": "' + b"a" * 40_000 + b'"}', "application/json"),
    ],
)
def test_bad_bodies_get_400_without_echo(
    client: TestClient, rasa: FakeRasa, content: bytes, content_type: str
) -> None:
    answer = client.post("/chat/send", content=content, headers={**AJAX, "Content-Type": content_type})
    assert answer.status_code == 400
    assert "Jane" not in answer.text
    assert rasa.requests == []


def test_empty_message_still_forwarded(client: TestClient, rasa: FakeRasa) -> None:
    assert client.post("/chat/send", json={}, headers=AJAX).status_code == 200
    assert rasa.requests[0]["message"] == ""


def test_only_renderable_parts_reach_the_browser(client: TestClient, rasa: FakeRasa) -> None:
    ask = {"type": "ask", "slot": "consent_to_schedule"}
    rasa.reply = lambda body: httpx.Response(
        200,
        json=[
            {
                "recipient_id": body["sender"],
                "text": "Shall we?",
                "buttons": [{"title": "Yes", "payload": "/affirm"}, {"payload": "no title"}],
            },
            {"recipient_id": body["sender"], "custom": ask},
            {"recipient_id": body["sender"], "image": "https://x.example/a.png"},
        ],
    )
    answer = send(client, "ok")
    assert answer.json() == {
        "messages": [
            {"text": "Shall we?", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
            {"custom": ask},
        ]
    }
    assert "recipient_id" not in answer.text


def test_staff_placeholder(client: TestClient) -> None:
    page = client.get("/staff")
    assert page.status_code == 200
    assert "login" in page.text.lower()
    assert "noindex" in page.text


def test_unknown_page_is_plain_404(client: TestClient) -> None:
    page = client.get("/webhooks/rest/webhook")
    assert page.status_code == 404
    assert page.text == "Not found."
    assert client.get("/chat/send").status_code == 405


def test_server_error_page_is_kind(rasa: FakeRasa) -> None:
    def explode(body: dict[str, Any]) -> httpx.Response:
        raise RuntimeError("Jane Doe's secret")

    rasa.reply = explode
    app = create_app(SETTINGS, rasa_transport=httpx.MockTransport(rasa.handle))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = send(client, "hi")
    assert answer.status_code == 500
    assert "Jane" not in answer.text
    assert "call Spine Care North" in answer.text


def test_missing_secret_key_makes_a_random_one(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        first = session_secret(Settings(secret_key=""))
        second = session_secret(Settings(secret_key=""))
    assert first != second
    assert len(first) >= 32
    assert "SECRET_KEY is not set" in caplog.text
    assert first not in caplog.text
    assert session_secret(Settings(secret_key="fixed")) == "fixed"


def test_sessions_do_not_survive_a_random_key(rasa: FakeRasa) -> None:
    settings = Settings(secret_key="")
    transport = httpx.MockTransport(rasa.handle)
    with TestClient(create_app(settings, rasa_transport=transport)) as first:
        send(first, "hi")
        cookies = dict(first.cookies)
    with TestClient(create_app(settings, rasa_transport=transport)) as second:
        second.cookies.update(cookies)
        send(second, "hi")
    assert rasa.requests[0]["sender"] != rasa.requests[1]["sender"]


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
