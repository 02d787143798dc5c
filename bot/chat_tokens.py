"""Signed, short-lived tokens that let one browser into its own website conversation.

The web app makes the conversation id (``secrets.token_urlsafe(24)``) and keeps it in the
patient's session cookie; the widget gets a token for it from the web app and presents it to
Rasa's socket.io channel, which checks it with the same ``SECRET_KEY``. Without a token that
verifies, a socket gets a brand-new conversation, so an id can be neither guessed nor replayed
after the token expires.

A token is ``<conversation id>.<expiry, unix seconds>.<HMAC-SHA256, base64url>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time

TOKEN_LIFETIME_SECONDS = 15 * 60
"""How long a token can open a socket; the widget asks for a fresh one on every (re)connect."""

CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{32}")
"""What :func:`new_conversation_id` makes."""

_PURPOSE = b"clinic-chat-conversation"
_MAX_TOKEN_LENGTH = 200
_EXPIRY = re.compile(r"[0-9]{1,12}")


def new_conversation_id() -> str:
    """A fresh, unguessable conversation id (192 random bits)."""
    return secrets.token_urlsafe(24)


def _signature(key: str, conversation_id: str, expires: int) -> str:
    message = b"|".join((_PURPOSE, conversation_id.encode("ascii"), str(expires).encode("ascii")))
    digest = hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue_token(
    key: str, conversation_id: str, now: float | None = None, lifetime: int = TOKEN_LIFETIME_SECONDS
) -> str:
    """A token for ``conversation_id``, valid for ``lifetime`` seconds from ``now``."""
    if not key:
        raise ValueError("A chat token needs a secret key.")
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise ValueError("Not a conversation id made by new_conversation_id().")
    expires = int(time.time() if now is None else now) + lifetime
    return f"{conversation_id}.{expires}.{_signature(key, conversation_id, expires)}"


def verify_token(key: str, token: object, now: float | None = None) -> str | None:
    """The conversation id of a genuine, unexpired ``token``; None for anything else."""
    if not key or not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    conversation_id, expires_text, signature = parts
    if not CONVERSATION_ID.fullmatch(conversation_id) or not _EXPIRY.fullmatch(expires_text):
        return None
    expires = int(expires_text)
    if expires <= (time.time() if now is None else now):
        return None
    expected = _signature(key, conversation_id, expires).encode("ascii")
    if not hmac.compare_digest(signature.encode("ascii", "replace"), expected):
        return None
    return conversation_id
