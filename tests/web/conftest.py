"""A web app wired to a fake Rasa (an httpx MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from bot.settings import Settings
from bot.web import create_app

ORIGIN = "http://testserver"
AJAX = {"X-Requested-With": "XMLHttpRequest", "Origin": ORIGIN}
SETTINGS = Settings(
    clinic_name="Spine Care North",
    clinic_phone="(555) 010-0199",
    rasa_port=5999,
    secret_key="test-secret-key",
)


class FakeRasa:
    """Answers the REST webhook like Rasa; records each request's JSON body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self.reply: Callable[[dict[str, Any]], httpx.Response] = self.echo

    @staticmethod
    def echo(body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(
            200, json=[{"recipient_id": body["sender"], "text": f"got [{body['message']}]"}]
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.urls.append(str(request.url))
        return self.reply(body)


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def client(rasa: FakeRasa) -> Iterator[TestClient]:
    app = create_app(SETTINGS, rasa_transport=httpx.MockTransport(rasa.handle))
    with TestClient(app) as test_client:
        yield test_client
