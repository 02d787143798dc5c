"""The clinic web app (Starlette + Jinja2): the chat page and staff review behind a login.

Build it with :func:`create_app`; run it with ``python -m bot.web``.
"""

from bot.web.app import create_app

__all__ = ["create_app"]
