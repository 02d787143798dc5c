"""Vendor the chat widget's one JavaScript dependency from the npm registry.

``python scripts/vendor_js.py`` downloads the pinned ``socket.io-client`` tarball, checks it
against the registry's published sha512 integrity, and writes its browser build and licence
to ``bot/web/static/vendor/`` (git-ignored). ``NPM_CONFIG_REGISTRY`` picks another registry
(a mirror); nothing else, and no Node.js, is needed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "socket.io-client"
VERSION = "4.8.1"
INTEGRITY = "sha512-hJVXfu3E28NmzGk8o1sHhN3om52tRvwYeidbj7xKy2eIIse5IoKX3USlS6Tqt3BHAtflLIkCQBkzVrEEfWUyYQ=="
FILES = {"package/dist/socket.io.min.js": "socket.io.min.js", "package/LICENSE": "socket.io-client.LICENSE"}
VENDOR_DIR = Path(__file__).resolve().parent.parent / "bot" / "web" / "static" / "vendor"


def tarball_url(registry: str) -> str:
    """The tarball's address on ``registry``."""
    return f"{registry.rstrip('/')}/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"


def check_integrity(data: bytes, integrity: str = INTEGRITY) -> None:
    """Raise ValueError unless ``data`` has the npm ``sha512-…`` ``integrity``."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise ValueError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
    if actual != expected:
        raise ValueError(f"{PACKAGE}@{VERSION}: integrity check failed")


def extract(data: bytes, target: Path) -> list[Path]:
    """Write :data:`FILES` from the tarball ``data`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member_name, file_name in FILES.items():
            member = archive.extractfile(member_name)
            if member is None:
                raise ValueError(f"{member_name} is not a file in the tarball")
            path = target / file_name
            partial = path.with_suffix(path.suffix + ".part")
            partial.write_bytes(member.read())
            partial.replace(path)
            written.append(path)
    return written


def main() -> int:
    """Download, check and extract; non-zero on any failure."""
    registry = os.environ.get("NPM_CONFIG_REGISTRY") or "https://registry.npmjs.org"
    url = tarball_url(registry)
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310 - fixed https URL
            data = answer.read()
        check_integrity(data)
        written = extract(data, VENDOR_DIR)
    except (OSError, ValueError, tarfile.TarError) as error:
        print(f"Could not vendor {PACKAGE}@{VERSION} from {url}: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"vendored {path.relative_to(VENDOR_DIR.parent.parent.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
