"""Tests for bot.chat_tokens: the web chat's sealed conversation tokens and cookie values."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bot.chat_tokens import (
    CONVERSATION_ID,
    COOKIE_LIFETIME_SECONDS,
    TOKEN_LIFETIME_SECONDS,
    confirmation_handle,
    issue_token,
    looks_like_website_id,
    new_conversation_id,
    open_cookie,
    seal_cookie,
    verify_token,
)

KEY = "clinic-key"
NOW = 1_800_000_000.0


def test_ids_are_random_and_well_formed() -> None:
    ids = {new_conversation_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(CONVERSATION_ID.fullmatch(conversation) for conversation in ids)
    assert all(looks_like_website_id(conversation) for conversation in ids)


def test_ids_are_never_plain_hex(monkeypatch: pytest.MonkeyPatch) -> None:
    # A uuid4's hex has the same length and alphabet; website ids stay apart from it.
    made = iter(["0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789abcdeg"])
    monkeypatch.setattr("bot.chat_tokens.secrets.token_urlsafe", lambda _: next(made))
    assert new_conversation_id() == "0123456789ABCDEF0123456789abcdeg"
    assert not looks_like_website_id("0123456789abcdef0123456789abcdef")
    assert not looks_like_website_id("sms-0123456789abcdef0123456789abcdef")
    assert not looks_like_website_id("demo-1")


def test_a_token_names_its_conversation_until_it_expires() -> None:
    conversation = new_conversation_id()
    token = issue_token(KEY, conversation, now=NOW)
    assert verify_token(KEY, token, now=NOW) == conversation
    assert verify_token(KEY, token, now=NOW + TOKEN_LIFETIME_SECONDS - 1) == conversation
    assert verify_token(KEY, token, now=NOW + TOKEN_LIFETIME_SECONDS) is None


def test_a_token_does_not_show_the_conversation_id() -> None:
    conversation = new_conversation_id()
    token = issue_token(KEY, conversation, now=NOW)
    assert conversation not in token
    body = token.partition(".")[2]
    decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert conversation.encode() not in decoded
    # Two tokens for the same conversation look unrelated (a fresh nonce each time).
    assert issue_token(KEY, conversation, now=NOW) != token


def test_another_key_or_any_change_is_refused() -> None:
    conversation = new_conversation_id()
    token = issue_token(KEY, conversation, now=NOW)
    assert verify_token("other-key", token, now=NOW) is None
    assert verify_token("", token, now=NOW) is None
    version, _, body = token.partition(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    for position in range(len(raw)):
        changed = raw[:position] + bytes([raw[position] ^ 1]) + raw[position + 1 :]
        forged = f"{version}." + base64.urlsafe_b64encode(changed).rstrip(b"=").decode()
        assert verify_token(KEY, forged, now=NOW) is None
    for position in range(3, len(token)):  # any character, including the last one's spare bits
        flipped = "B" if token[position] == "A" else "A"
        assert verify_token(KEY, token[:position] + flipped + token[position + 1 :], now=NOW) is None
    assert verify_token(KEY, token[:-2], now=NOW) is None


def test_a_cookie_value_is_not_a_token_and_a_token_is_not_a_cookie() -> None:
    conversation = new_conversation_id()
    cookie = seal_cookie(KEY, conversation, now=NOW)
    assert conversation not in cookie
    assert open_cookie(KEY, cookie, now=NOW + COOKIE_LIFETIME_SECONDS - 1) == conversation
    assert open_cookie(KEY, cookie, now=NOW + COOKIE_LIFETIME_SECONDS) is None
    assert verify_token(KEY, cookie, now=NOW) is None
    assert open_cookie(KEY, issue_token(KEY, conversation, now=NOW), now=NOW) is None


def test_the_confirmation_handle_is_stable_opaque_and_keyed() -> None:
    conversation = new_conversation_id()
    handle = confirmation_handle(KEY, conversation)
    assert handle == confirmation_handle(KEY, conversation)
    assert handle != confirmation_handle("other-key", conversation)
    assert handle != confirmation_handle(KEY, new_conversation_id())
    assert conversation not in handle and not looks_like_website_id(handle)
    assert verify_token(KEY, handle, now=NOW) is None


@pytest.mark.parametrize(
    "token",
    [
        None,
        7,
        b"bytes",
        "",
        "a.b",
        "c2.",
        "c2.!!!!",
        "c2." + "A" * 10,
        "x" * 500,
        "V" * 32 + ".١٢٣.sig",
        "V" * 32 + ".9999999999.sig",  # the earlier clear-text form
        "c2.é" + "A" * 90,
    ],
)
def test_malformed_tokens_are_refused(token: Any) -> None:
    assert verify_token(KEY, token, now=NOW) is None
    assert open_cookie(KEY, token, now=NOW) is None


def test_issuing_needs_a_key_and_a_real_id() -> None:
    with pytest.raises(ValueError):
        issue_token("", new_conversation_id())
    with pytest.raises(ValueError):
        issue_token(KEY, "+15550100123")
    with pytest.raises(ValueError):
        seal_cookie(KEY, "sms-0123")
