"""Website conversations through Debian's nginx (deploy/nginx) in front of two Rasa servers.

The page and its token come from the web app through nginx, as in a browser; the socket is
python-socketio's client, sent to a chosen server by its ``clinic_route`` cookie.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import socketio

from bot.chat_tokens import verify_token
from tests.deploy.conftest import SECRET_KEY, Cluster
from tests.deploy.nginx import Nginx
from tests.deploy.test_two_servers import PATIENTS, payloads, saved_requests

pytestmark = pytest.mark.servers

UPSTREAM = re.compile(r"upstream=(\S+)")


def upstreams(lines: list[str]) -> set[str]:
    """The Rasa servers that served the socket.io requests in these access-log lines."""
    return {match.group(1) for line in lines if "/socket.io/" in line for match in [UPSTREAM.search(line)] if match}


@pytest.fixture(scope="module")
def routes(nginx: Nginx, cluster: Cluster) -> list[str]:
    """A ``clinic_route`` cookie value that nginx sends to each Rasa server, in the order of ``rasa_urls``."""
    servers = [url.removeprefix("http://") for url in cluster.rasa_urls]
    found: dict[str, str] = {}
    for number in range(64):
        nginx.new_log_lines()
        requests.get(f"{nginx.url}/socket.io/", cookies={"clinic_route": f"route-{number}"}, timeout=10)
        time.sleep(0.05)
        (server,) = upstreams(nginx.new_log_lines())
        found.setdefault(server, f"route-{number}")
        if len(found) == len(servers):
            return [found[server] for server in servers]
    raise AssertionError(f"nginx sent every probe to {sorted(found)}")


def page_and_token(nginx: Nginx) -> tuple[requests.Session, str]:
    """What the widget does first: load the chat page through nginx, then ask the web app for a token."""
    browser = requests.Session()
    browser.get(f"{nginx.url}/", timeout=30).raise_for_status()
    assert browser.cookies.get("clinic_route"), "nginx gives the page a route cookie"
    answer = browser.post(
        f"{nginx.url}/chat/session",
        headers={"X-Requested-With": "XMLHttpRequest", "Origin": nginx.url},
        timeout=30,
    )
    answer.raise_for_status()
    return browser, str(answer.json()["token"])


class WebPatient:
    """The website chat's socket through nginx, carrying the browser's route cookie."""

    def __init__(self, nginx: Nginx, route: str, token: str, transports: list[str] | None = None) -> None:
        self.url = nginx.url
        self.token = token
        self.transports = transports or ["polling", "websocket"]
        self.messages: list[dict[str, Any]] = []
        self.turn_over = threading.Event()
        self.taken = threading.Event()
        self.confirmed = threading.Event()
        cookies = requests.Session()
        cookies.cookies.set("clinic_route", route, domain=urlsplit(nginx.url).hostname, path="/")
        # websocket-client would add an Origin of its own beside the browser's (two make a refused one).
        self.client = socketio.Client(http_session=cookies, websocket_extra_options={"suppress_origin": True})
        self.client.on("bot_uttered", self.messages.append)
        self.client.on("turn_complete", lambda data: self.turn_over.set())
        self.client.on("session_taken", lambda data: self.taken.set())
        self.client.on("session_confirm", lambda data: self.confirmed.set())

    def connect(self) -> str:
        """Connect (long-polling, then the WebSocket upgrade unless polling alone); open the conversation."""
        self.client.connect(self.url, headers={"Origin": self.url}, transports=self.transports, wait_timeout=10)
        self.client.emit("session_request", {"session_id": self.token})
        assert self.confirmed.wait(10), "no session_confirm"
        return str(self.client.transport())

    def say(self, text: str) -> list[dict[str, Any]]:
        """One message; the bot's messages of that turn."""
        self.messages.clear()
        self.turn_over.clear()
        self.client.emit("user_uttered", {"message": text})
        assert self.turn_over.wait(60), "no turn_complete"
        return list(self.messages)

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


def book(patient: WebPatient, script: Any) -> tuple[list[str], str]:
    """Play a scripted patient through to a saved request; the findings and the request's id."""
    messages = patient.say(script.first)
    findings: list[str] = []
    for _ in range(20):
        for assessment in payloads(messages, "assessment"):
            findings = list(assessment["findings"])
        done = payloads(messages, "appointment_requested")
        if done:
            return findings, str(done[0]["request_id"])
        asked = [p["slot"] for p in payloads(messages, "ask")]
        assert asked, f"the bot asked nothing: {messages}"
        messages = patient.say(script.answers[asked[-1]])
    raise AssertionError("no request after 20 turns")


@pytest.mark.parametrize("server", [0, 1])
def test_a_website_conversation_through_nginx_over_a_websocket(
    server: int, nginx: Nginx, cluster: Cluster, routes: list[str]
) -> None:
    browser, token = page_and_token(nginx)
    conversation = verify_token(SECRET_KEY, token)
    assert conversation is not None
    script = PATIENTS[2 + server]

    nginx.new_log_lines()
    patient = WebPatient(nginx, routes[server], token)
    try:
        transport = patient.connect()
        findings, request_id = book(patient, script)
    finally:
        patient.close()
    time.sleep(0.3)  # nginx logs a WebSocket when it closes
    lines = nginx.new_log_lines()
    assert transport == "websocket"
    assert any('"GET /socket.io/" 101' in line for line in lines), lines  # the upgrade went through nginx
    assert upstreams(lines) == {cluster.rasa_urls[server].removeprefix("http://")}
    assert findings == script.findings
    (saved,) = saved_requests(cluster, conversation)
    assert (saved.public_id, saved.findings, saved.channel) == (request_id, script.findings, "socketio")


def test_long_polling_alone_stays_on_one_server(nginx: Nginx, cluster: Cluster) -> None:
    """Without the WebSocket every turn is several HTTP requests: nginx keeps them on one server."""
    browser, token = page_and_token(nginx)

    nginx.new_log_lines()
    patient = WebPatient(nginx, browser.cookies["clinic_route"], token, transports=["polling"])
    try:
        transport = patient.connect()
        turns = [patient.say(text) for text in ("hi", "a fusion", "about 14 months ago")]
    finally:
        patient.close()
    lines = [line for line in nginx.new_log_lines() if "/socket.io/" in line]
    assert transport == "polling"
    assert len(lines) >= 6 and len(upstreams(lines)) == 1
    assert [[p["slot"] for p in payloads(turn, "ask")] for turn in turns] == [
        ["surgery_type"],
        ["weeks_since_surgery"],
        ["pain_course"],
    ]


def test_a_second_tab_on_the_other_server_takes_the_conversation_over(
    nginx: Nginx, cluster: Cluster, routes: list[str]
) -> None:
    """Tab 1 on one server, tab 2 (same conversation) on the other: tab 1 is told and cut off; tab 2 goes on."""
    browser, token = page_and_token(nginx)

    first, second = WebPatient(nginx, routes[0], token), WebPatient(nginx, routes[1], token)
    try:
        first.connect()
        first.say("discectomy 8 weeks ago, it's slowly getting better")
        second.connect()
        assert first.taken.wait(10), "tab 1 was not told"
        for _ in range(100):
            if not first.client.connected:
                break
            time.sleep(0.05)
        first.messages.clear()
        answer = second.say("leg pain")
    finally:
        first.close()
        second.close()
    assert not first.client.connected
    assert first.messages == []  # nothing of tab 2's turn reached tab 1
    (assessment,) = payloads(answer, "assessment")
    assert assessment["findings"] == ["on_track"]  # the facts given in tab 1, on the other server


def test_only_the_site_the_widget_and_the_sms_webhook_are_public(nginx: Nginx, cluster: Cluster) -> None:
    rest = requests.post(f"{nginx.url}/webhooks/rest/webhook", json={"sender": "x", "message": "hi"}, timeout=10)
    assert rest.status_code == 404
    unsigned = requests.post(f"{nginx.url}/webhooks/twilio/webhook", data={"Body": "hi"}, timeout=10)
    assert unsigned.status_code == 403  # Rasa's SMS channel answered, and refused it
    actions_port = cluster.bot.env["ACTIONS_PORT"]
    config = (nginx.directory / "clinic.conf").read_text()
    assert f":{actions_port}" not in config
    for path in ("/health", "/webhook", "/model/parse", "/conversations/x/tracker"):
        answer = requests.get(f"{nginx.url}{path}", timeout=10)
        assert answer.status_code == 404, path  # the web app's 404: nothing of Rasa or the actions
