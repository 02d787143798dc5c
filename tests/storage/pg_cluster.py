"""A private PostgreSQL cluster that a test can stop and start again (initdb + pg_ctl).

The server binaries come from Debian's ``postgresql`` package (``make test`` installs it):
``/usr/lib/postgresql/<version>/bin``, else ``initdb`` on the ``PATH``. initdb refuses to run
as root, so as root the cluster belongs to the ``postgres`` user (``su postgres -c …``). Without
the binaries the tests fail under ``CI`` (they must run there) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

MISSING = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are not installed, so the database-outage tests "
    "can't run a private cluster: apt-get install postgresql (make test installs it)"
)


def in_ci() -> bool:
    """Whether ``CI`` is set (then these tests must run, never skip)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def server_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest version), or ``None``."""
    found = [
        path
        for path in Path("/usr/lib/postgresql").glob("*/bin")
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file()
    ]
    if found:
        return max(found, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    initdb = shutil.which("initdb")
    if initdb:
        folder = Path(initdb).resolve().parent
        if (folder / "pg_ctl").is_file():
            return folder
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PrivateCluster:
    """One PostgreSQL server of our own on ``127.0.0.1:port`` (user ``postgres``, no password)."""

    binaries: Path
    root: Path
    port: int
    as_postgres: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stdout}{result.stderr}\n{tail}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        """Stop the server at once: connections are cut, as when a database server goes down."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "clinic") -> str:
        """A new empty database; its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        admin = create_engine(self.url(), future=True, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A running private cluster, removed afterwards (fails under ``CI`` without the binaries)."""
    binaries = server_binaries()
    if binaries is None:
        if in_ci():
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    if as_postgres:
        try:
            shutil.chown(root, user="postgres", group="postgres")
        except (LookupError, PermissionError) as error:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"initdb refuses to run as root, and there is no usable 'postgres' user: {error}")
    cluster = PrivateCluster(binaries, root, free_port(), as_postgres)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            cluster._run("pg_ctl", "-D", str(cluster.data), "-m", "immediate", "stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass  # it was stopped already
        shutil.rmtree(root, ignore_errors=True)
