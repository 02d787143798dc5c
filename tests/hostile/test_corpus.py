"""The hostile-input corpus itself: big enough, every kind of input, nothing duplicated."""

from __future__ import annotations

import json

from bot.channels.text import MAX_TEXT_LENGTH, clean_incoming_text
from tests.hostile.corpus import (
    COMMAND_SLOT_VALUES,
    HUNDRED_KB,
    KINDS,
    REST_JSON_BODIES,
    REST_RAW_BODIES,
    SMS_RAW_FORMS,
    SOCKET_PAYLOADS,
    STAFF_RAW_REQUESTS,
    TEXTS,
    corpus_size,
)


def test_the_corpus_holds_at_least_200_hostile_inputs_of_every_kind() -> None:
    assert corpus_size() >= 200
    assert len(TEXTS) >= 150
    assert {h.kind for h in TEXTS} == set(KINDS)
    assert len({h.id for h in TEXTS}) == len(TEXTS)
    assert len({h.text for h in TEXTS}) == len(TEXTS)
    for names in (REST_RAW_BODIES, REST_JSON_BODIES, SOCKET_PAYLOADS, SMS_RAW_FORMS, STAFF_RAW_REQUESTS):
        assert len({entry[0] for entry in names}) == len(names)


def test_the_corpus_covers_what_the_issue_lists() -> None:
    texts = [h.text for h in TEXTS]
    assert "" in texts and any(t and not t.strip() for t in texts)  # empty, whitespace
    assert sum(len(t.encode("utf-8", "surrogatepass")) >= HUNDRED_KB for t in texts) >= 5  # 100 KB
    assert any("\x00" in t for t in texts) and any("\x1b" in t for t in texts)  # control characters
    assert any(any(0xD800 <= ord(c) <= 0xDFFF for c in t) for t in texts)  # lone surrogates
    invalid_utf8 = [body for _, body in REST_RAW_BODIES if not _decodes(body)]
    assert len(invalid_utf8) >= 4  # invalid UTF-8 bodies
    assert any("\U0001f600" in t for t in texts) and any("\u202e" in t for t in texts)  # emoji, RTL
    assert any("<script>" in t.lower() for t in texts) and any("<img" in t for t in texts)  # script, HTML
    assert any("DROP TABLE" in t for t in texts) and any("{{" in t for t in texts) and any("${" in t for t in texts)
    assert any(t.startswith("/") and "{" in t for t in texts)  # /intent{...}
    assert any(not isinstance(body.get("message"), str) for _, body in REST_JSON_BODIES if "message" in body)
    assert any("sender" not in body for _, body in REST_JSON_BODIES)
    assert any(isinstance(body.get("sender"), dict) for _, body in REST_JSON_BODIES)


def test_every_command_with_values_is_emptied_by_the_channels() -> None:
    """The channels' cleaning is what keeps ``/inform{...}`` from reaching Rasa's command parser."""
    for item in TEXTS:
        if item.kind == "intent":
            cleaned = clean_incoming_text(item.text)
            assert not cleaned.startswith("/"), item.id
            assert not any(json.dumps(value) in cleaned for value in COMMAND_SLOT_VALUES.values()), item.id
        assert len(clean_incoming_text(item.text)) <= MAX_TEXT_LENGTH


def _decodes(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
