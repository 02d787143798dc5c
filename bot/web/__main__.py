"""``python -m bot.web``: serve the web app on 127.0.0.1:``WEB_PORT`` without access logs."""

from __future__ import annotations

import logging

import uvicorn

from bot.settings import load_settings
from bot.web.app import create_app


def main() -> None:
    """Run the web app with uvicorn until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every request's URL at INFO: a chat webhook's URL is its secret (NOTIFY_WEBHOOK_URL)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    settings = load_settings()
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=settings.web_port,
        access_log=False,  # URLs and bodies must never bring patient data into logs
        server_header=False,
    )


if __name__ == "__main__":
    main()
