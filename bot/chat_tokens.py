"""Sealed, short-lived tokens that let one browser into its own website conversation.

The web app makes the conversation id (:func:`new_conversation_id`, 192 random bits) and keeps
it in the patient's chat cookie; the widget gets a token for it from the web app and presents it
to Rasa's socket.io channel, which opens it with the same ``SECRET_KEY``. Without a token that
opens, a socket gets a brand-new conversation, so an id can be neither guessed nor replayed
after the token expires.

The id itself never leaves the server in clear text:

* a token is the id and its expiry **encrypted and authenticated** (AES-256-GCM, key derived
  from ``SECRET_KEY``), so the page, the tab's storage and anything that reads them see only an
  opaque string (:func:`issue_token`, :func:`verify_token`);
* the chat cookie holds the id sealed the same way, for another purpose, so a cookie value is
  not a token and a token is not a cookie (:func:`seal_cookie`, :func:`open_cookie`);
* the socket confirms a session with an opaque handle, a keyed hash of the id
  (:func:`confirmation_handle`), which the widget only compares.

Website ids are 32 URL-safe base64 characters and never plain hexadecimal, so they can be told
apart from the ids other channels may use (:func:`looks_like_website_id`; the REST channel keeps
its senders out of this space, see :mod:`bot.channels.rest`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_LIFETIME_SECONDS = 15 * 60
"""How long a token can open a socket; the widget asks for a fresh one on every (re)connect."""

COOKIE_LIFETIME_SECONDS = 8 * 60 * 60
"""How long a browser keeps its conversation: a working day, not weeks (shared computers)."""

CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{32}")
"""What :func:`new_conversation_id` makes (it also never makes plain hex, see below)."""

_PLAIN_HEX = re.compile(r"[0-9A-Fa-f]{32}")
_TOKEN_PURPOSE = b"clinic-chat-token"
_COOKIE_PURPOSE = b"clinic-chat-cookie"
_HANDLE_PURPOSE = b"clinic-chat-handle"
_VERSION = "c2"
_NONCE_BYTES = 12
_MAX_TOKEN_LENGTH = 200


def new_conversation_id() -> str:
    """A fresh, unguessable conversation id (192 random bits), never plain hexadecimal.

    A uuid4's hex is also 32 characters of the same alphabet; excluding plain hex (which a
    random id is with probability 2**-64) keeps website ids apart from such client-made ids.
    """
    while True:
        candidate = secrets.token_urlsafe(24)
        if not _PLAIN_HEX.fullmatch(candidate):
            return candidate


def looks_like_website_id(value: str) -> bool:
    """True if ``value`` has the form of a website conversation id (made here or before)."""
    return bool(CONVERSATION_ID.fullmatch(value)) and not _PLAIN_HEX.fullmatch(value)


def _cipher(key: str, purpose: bytes) -> AESGCM:
    derived = hmac.new(key.encode("utf-8"), b"aes-256-gcm|" + purpose, hashlib.sha256).digest()
    return AESGCM(derived)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _seal(key: str, purpose: bytes, conversation_id: str, now: float | None, lifetime: int) -> str:
    if not key:
        raise ValueError("A chat token needs a secret key.")
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise ValueError("Not a conversation id made by new_conversation_id().")
    expires = int(time.time() if now is None else now) + lifetime
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = expires.to_bytes(8, "big") + conversation_id.encode("ascii")
    sealed = _cipher(key, purpose).encrypt(nonce, plaintext, purpose)
    return f"{_VERSION}.{_b64encode(nonce + sealed)}"


def _open(key: str, purpose: bytes, value: object, now: float | None) -> str | None:
    if not key or not isinstance(value, str) or len(value) > _MAX_TOKEN_LENGTH:
        return None
    version, _, body = value.partition(".")
    if version != _VERSION or not body.isascii():
        return None
    raw = _b64decode(body)
    if raw is None or len(raw) <= _NONCE_BYTES or _b64encode(raw) != body:  # one spelling only
        return None
    try:
        plaintext = _cipher(key, purpose).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose)
    except InvalidTag:
        return None
    expires = int.from_bytes(plaintext[:8], "big")
    conversation_id = plaintext[8:].decode("ascii", "replace")
    if expires <= (time.time() if now is None else now) or not CONVERSATION_ID.fullmatch(conversation_id):
        return None
    return conversation_id


def issue_token(
    key: str, conversation_id: str, now: float | None = None, lifetime: int = TOKEN_LIFETIME_SECONDS
) -> str:
    """A token for ``conversation_id``, valid for ``lifetime`` seconds from ``now``; it does not show the id."""
    return _seal(key, _TOKEN_PURPOSE, conversation_id, now, lifetime)


def verify_token(key: str, token: object, now: float | None = None) -> str | None:
    """The conversation id of a genuine, unexpired ``token``; None for anything else."""
    return _open(key, _TOKEN_PURPOSE, token, now)


def seal_cookie(
    key: str, conversation_id: str, now: float | None = None, lifetime: int = COOKIE_LIFETIME_SECONDS
) -> str:
    """The chat cookie's value for ``conversation_id`` (not usable as a token)."""
    return _seal(key, _COOKIE_PURPOSE, conversation_id, now, lifetime)


def open_cookie(key: str, value: object, now: float | None = None) -> str | None:
    """The conversation id in a genuine, unexpired chat cookie value; None for anything else."""
    return _open(key, _COOKIE_PURPOSE, value, now)


def confirmation_handle(key: str, conversation_id: str) -> str:
    """An opaque, stable name for a conversation, sent to the widget instead of its id."""
    digest = hmac.new(
        key.encode("utf-8"), _HANDLE_PURPOSE + b"|" + conversation_id.encode("utf-8"), hashlib.sha256
    ).digest()
    return "h-" + _b64encode(digest)[:22]
