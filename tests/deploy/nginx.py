"""Debian's nginx as a private process: deploy/nginx/clinic.conf.template rendered for the test's ports."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conversations.harness import PROJECT_ROOT

NGINX = "/usr/sbin/nginx"
TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "clinic.conf.template"
NAMES = ("LISTEN_PORT", "RASA_SERVERS", "WEB_SERVER", "ACCESS_LOG")


def render(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``${NAME}`` of :data:`NAMES` replaced, as the nginx image's envsubst does."""
    missing = set(NAMES) - set(values)
    if missing:
        raise ValueError(f"no value for {sorted(missing)}")
    return re.sub(r"\$\{(" + "|".join(NAMES) + r")\}", lambda match: values[match.group(1)], template)


def main_config(directory: Path, site: Path) -> str:
    """The main nginx.conf around the site: pid, logs and temporary files all in ``directory``."""
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "worker_processes 1;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"{temp}\n"
        f"    include {site};\n"
        "}\n"
    )


@dataclass
class Nginx:
    """A running private nginx in front of the test's servers."""

    url: str
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = field(default=0)

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"

    def new_log_lines(self) -> list[str]:
        """Access-log lines written since the last call."""
        if not self.access_log.exists():
            return []
        with self.access_log.open("rb") as log:
            log.seek(self.log_offset)
            data = log.read()
        self.log_offset += len(data)
        return data.decode("utf-8", "replace").splitlines()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_nginx(directory: Path, port: int, rasa_servers: list[str], web_server: str) -> Nginx:
    """Render the template into ``directory`` and run nginx there in the foreground (``daemon off``)."""
    directory.mkdir(parents=True, exist_ok=True)
    site = directory / "clinic.conf"
    site.write_text(
        render(
            TEMPLATE.read_text(encoding="utf-8"),
            {
                "LISTEN_PORT": f"127.0.0.1:{port}",
                "RASA_SERVERS": " ".join(f"server {address};" for address in rasa_servers),
                "WEB_SERVER": web_server,
                "ACCESS_LOG": str(directory / "access.log"),
            },
        ),
        encoding="utf-8",
    )
    conf = directory / "nginx.conf"
    conf.write_text(main_config(directory, site), encoding="utf-8")
    # As root, nginx's workers would become "nobody", who cannot enter pytest's private tmp dirs.
    globals_ = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    command = [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log"), "-g", globals_]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
    server = Nginx(f"http://127.0.0.1:{port}", directory)
    with (directory / "nginx.out").open("wb") as out:
        server.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"nginx exited: {(directory / 'error.log').read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("nginx did not listen within 20 s")
