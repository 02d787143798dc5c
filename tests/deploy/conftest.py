"""Two Rasa servers on the machine's PostgreSQL and Redis, one action server, the web app, and nginx.

Redis is used under a private ``REDIS_PREFIX`` per test session (its keys are deleted at the
end); the tests of a Redis outage start a redis-server of their own. Without PostgreSQL, Redis
(the machine's, or ``redis-server`` for those) or nginx these tests are skipped, except under
``CI``: there they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from tests.conftest import _in_ci, temporary_postgres_database
from tests.conversations.harness import PROJECT_ROOT, BotServer, _wait_until_up, free_port, start_servers
from tests.deploy.nginx import NGINX, Nginx, start_nginx
from tests.deploy.redis_server import REDIS_SERVER, PrivateRedis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET_KEY = "deploy-test-secret"


def unavailable(reason: str) -> None:
    """Skip for want of ``reason``; under ``CI`` fail instead."""
    if _in_ci():
        pytest.fail(f"{reason}, and CI is set: the scale-out tests must run")
    pytest.skip(reason)


def delete_keys(url: str, prefix: str) -> None:
    """Delete every Redis key under ``prefix:``."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis (``TEST_REDIS_URL``), checked to answer."""
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3):
            pass
    except OSError:
        unavailable(f"Redis is not reachable at {parts.hostname}:{parts.port}")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A private key prefix for one test; its keys are deleted afterwards."""
    prefix = f"clinictest{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_keys(redis_url, prefix)


@pytest.fixture
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, running; the test may stop, pause or restart it."""
    if not Path(REDIS_SERVER).exists():
        unavailable(f"{REDIS_SERVER} is missing (apt-get install redis-server)")
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Cluster:
    """Two Rasa servers, their action server and the web app, all on one PostgreSQL database and Redis."""

    bot: BotServer
    web_port: int
    nginx_port: int
    redis_url: str
    redis_prefix: str

    @property
    def rasa_urls(self) -> list[str]:
        return self.bot.rasa_urls

    @property
    def public_url(self) -> str:
        """The origin nginx serves (the clinic's public site)."""
        return f"http://127.0.0.1:{self.nginx_port}"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Cluster]:
    """Start everything once for the session; stop it, drop the database and the Redis keys after."""
    log_dir = tmp_path_factory.mktemp("deploy")
    prefix = f"clinictest{uuid.uuid4().hex[:12]}"
    web_port, nginx_port = free_port(), free_port()
    public = f"http://127.0.0.1:{nginx_port}"
    with ExitStack() as stack:
        database_url = stack.enter_context(temporary_postgres_database("clinic_deploy"))
        stack.callback(delete_keys, redis_url, prefix)
        bot = start_servers(
            database_url,
            log_dir,
            {
                "REDIS_URL": redis_url,
                "REDIS_PREFIX": prefix,
                "SECRET_KEY": SECRET_KEY,
                "WEB_PORT": str(web_port),
                "CHAT_SOCKET_URL": public,
                "CHAT_ALLOWED_ORIGINS": public,
                "PUBLIC_URL": public,
            },
            rasa_servers=2,
        )
        stack.callback(bot.stop)
        log = log_dir / "web.log"
        with log.open("wb") as out:
            web = subprocess.Popen(
                [sys.executable, "-m", "bot.web"], cwd=PROJECT_ROOT, env=bot.env, stdout=out, stderr=subprocess.STDOUT
            )
        bot.processes.append(web)
        bot.logs.append(log)
        _wait_until_up(f"http://127.0.0.1:{web_port}/", web, 60)
        yield Cluster(bot, web_port, nginx_port, redis_url, prefix)


@pytest.fixture(scope="session")
def nginx(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """Debian's nginx, configured from deploy/nginx/clinic.conf.template, in front of the cluster."""
    if not Path(NGINX).exists():
        unavailable(f"{NGINX} is missing (make test installs Debian's nginx)")
    server = start_nginx(
        tmp_path_factory.mktemp("nginx"),
        cluster.nginx_port,
        [urlsplit(url).netloc for url in cluster.rasa_urls],
        f"127.0.0.1:{cluster.web_port}",
    )
    try:
        yield server
    finally:
        server.stop()
