"""A web app on test settings."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS)) as test_client:
        yield test_client
