"""deploy/: what the written-only files promise, checked without running them (no Docker here)."""

from __future__ import annotations

from typing import Any

import yaml
from rasa.utils.endpoints import read_endpoint_config

from tests.conversations.harness import PROJECT_ROOT
from tests.deploy.nginx import NAMES, TEMPLATE, render

DEPLOY = PROJECT_ROOT / "deploy"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    return loaded


def test_compose_has_two_rasa_servers_and_the_services_they_need() -> None:
    assert set(compose()["services"]) == {"rasa-1", "rasa-2", "actions", "web", "postgres", "redis", "nginx"}


def test_only_nginx_publishes_a_port_and_the_rasa_api_is_never_enabled() -> None:
    services = compose()["services"]
    assert [name for name, service in services.items() if service.get("ports")] == ["nginx"]
    for name in ("rasa-1", "rasa-2"):
        command = services[name]["command"]
        assert "--enable-api" not in command and "--endpoints deploy/endpoints.yml" in command
    assert "--enable-api" not in services["actions"]["command"]


def test_every_server_shares_the_database_redis_and_the_key() -> None:
    services = compose()["services"]
    shared = ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "SECRET_KEY", "TWILIO_AUTH_TOKEN", "PUBLIC_URL")
    servers = ("rasa-1", "rasa-2", "actions", "web")
    values = {tuple(services[name]["environment"][key] for key in shared) for name in servers}
    assert len(values) == 1


def test_compose_endpoints_differ_from_the_projects_only_in_where_the_actions_are() -> None:
    for section in ("tracker_store", "lock_store"):
        ours = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), section)
        deployed = read_endpoint_config(str(DEPLOY / "endpoints.yml"), section)
        assert ours is not None and deployed is not None and ours.type == deployed.type
    action = read_endpoint_config(str(DEPLOY / "endpoints.yml"), "action_endpoint")
    assert action is not None and action.url == "http://actions:5055/webhook"


def test_nginx_renders_the_template_compose_mounts() -> None:
    nginx = compose()["services"]["nginx"]
    assert any(volume.startswith("./nginx/clinic.conf.template:") for volume in nginx["volumes"])
    assert set(NAMES) <= set(nginx["environment"])
    rendered = render(TEMPLATE.read_text(encoding="utf-8"), {name: str(nginx["environment"][name]) for name in NAMES})
    assert "actions" not in rendered and "5055" not in rendered
    assert "server rasa-1:5005" in rendered and "upstream=$upstream_addr" in rendered
