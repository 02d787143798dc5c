"""Tests for bot.chat_tokens: the web chat's signed conversation tokens."""

from __future__ import annotations

from typing import Any

import pytest

from bot.chat_tokens import CONVERSATION_ID, TOKEN_LIFETIME_SECONDS, issue_token, new_conversation_id, verify_token

KEY = "clinic-key"
NOW = 1_800_000_000.0


def test_ids_are_random_and_well_formed() -> None:
    ids = {new_conversation_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(CONVERSATION_ID.fullmatch(conversation) for conversation in ids)


def test_a_token_names_its_conversation_until_it_expires() -> None:
    conversation = new_conversation_id()
    token = issue_token(KEY, conversation, now=NOW)
    assert verify_token(KEY, token, now=NOW) == conversation
    assert verify_token(KEY, token, now=NOW + TOKEN_LIFETIME_SECONDS - 1) == conversation
    assert verify_token(KEY, token, now=NOW + TOKEN_LIFETIME_SECONDS) is None


def test_another_key_or_any_change_is_refused() -> None:
    conversation = new_conversation_id()
    token = issue_token(KEY, conversation, now=NOW)
    identifier, expires, signature = token.split(".")
    assert verify_token("other-key", token, now=NOW) is None
    assert verify_token("", token, now=NOW) is None
    assert verify_token(KEY, f"{new_conversation_id()}.{expires}.{signature}", now=NOW) is None
    assert verify_token(KEY, f"{identifier}.{int(expires) + 3600}.{signature}", now=NOW) is None
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert verify_token(KEY, f"{identifier}.{expires}.{flipped}", now=NOW) is None


@pytest.mark.parametrize(
    "token",
    [
        None,
        7,
        b"bytes",
        "",
        "a.b",
        "a.b.c.d",
        "x" * 500,
        "V" * 32 + ".١٢٣.sig",
        "V" * 31 + ".9999999999.sig",
        "é" * 32 + ".1.x",
    ],
)
def test_malformed_tokens_are_refused(token: Any) -> None:
    assert verify_token(KEY, token, now=NOW) is None


def test_issuing_needs_a_key_and_a_real_id() -> None:
    with pytest.raises(ValueError):
        issue_token("", new_conversation_id())
    with pytest.raises(ValueError):
        issue_token(KEY, "+15550100123")
