"""Cleaning of patient-typed text before any channel hands it to Rasa."""

from __future__ import annotations

import re
import unicodedata

MAX_TEXT_LENGTH = 5_000
"""Longest text (in code points) a channel passes on to the bot."""

# Rasa's command syntax with slot values, e.g. inform{"weeks_since_surgery": 500}: not patient words.
_COMMAND_WITH_VALUES = re.compile(r"^[\w.-]+\s*(?:@[\d.]+)?\s*\{.*\}\s*$", re.DOTALL)

# Anything longer than this is cut before normalising, so that a huge body costs little.
_RAW_LENGTH_LIMIT = MAX_TEXT_LENGTH * 4


def _is_slash_like(char: str) -> bool:
    """True for "/" and for characters that compatibility-normalise to it (e.g. "／")."""
    return char == "/" or unicodedata.normalize("NFKC", char).startswith("/")


def _clean_char(char: str) -> str:
    """Map one code point: whitespace-like controls to a space, other controls to ""."""
    category = unicodedata.category(char)
    if category == "Cc":
        return " " if char.isspace() else ""
    if category in ("Zl", "Zp"):
        return " "
    if category == "Cs":  # a lone surrogate cannot even be encoded as UTF-8
        return ""
    return char


def clean_incoming_text(text: object) -> str:
    """Return patient text safe to hand to Rasa.

    Non-strings become "". The text is NFC-normalised; control characters are dropped,
    except line breaks and tabs which become spaces; runs of whitespace collapse to one
    space and the ends are trimmed; it is capped at :data:`MAX_TEXT_LENGTH` characters.
    Leading slashes are removed, so Rasa's ``RegexMessageHandler`` (which unpacks
    ``/intent{"slot": "value"}`` from text whose stripped form starts with "/") can never
    set an intent or a slot from what a patient typed: ``"/restart"`` becomes
    ``"restart"``, to be understood like any other words. A whole command with slot values
    (``/inform{"phone": "1"}``) becomes "", which the bot answers as a message it did not
    understand.
    """
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFC", text[:_RAW_LENGTH_LIMIT])
    text = "".join(_clean_char(char) for char in text)
    # str.split() splits on exactly what str.strip() (used by Rasa) treats as whitespace.
    text = " ".join(text.split())
    had_slash = False
    while text and _is_slash_like(text[0]):
        had_slash = True
        text = " ".join(text[1:].split())
    if had_slash and _COMMAND_WITH_VALUES.match(text):
        return ""
    return text[:MAX_TEXT_LENGTH].rstrip()
