"""Short answers to yes/no questions, in the patient's own words ("y", "yeah", "nope", "I think so")."""

from __future__ import annotations

import re

_YES = re.compile(
    r"^(?:y|ya+|yea+h?|ye+s+|yep+|yup+|ok+|okay|k|sure|correct|right|absolutely|definitely|of course|"
    r"yes please|please|please do|go ahead|sounds good|i do|it is|they are|i am|true)$"
)
_NO = re.compile(
    r"^(?:n|no+|nope|nah|no thanks|no thank you|not really|not at all|i don't|i do not|"
    r"it isn't|it is not|it's not|none|never|negative|false)$"
)
# Not a clear no: for a safety question these count as a yes (a missed red flag is the worst defect).
_MAYBE = re.compile(
    r"\b(?:maybe|i think so|sort of|kind of|kinda|a (?:bit|little)|sometimes|possibly|probably|not sure|"
    r"(?:don't|dont|do not) know|dunno|idk)\b"
)


def _plain(text: str) -> str:
    lowered = text.lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", lowered).split()).strip()


def yes_or_no(text: str, intent: str | None = None) -> bool | None:
    """True for a yes, False for a no, ``None`` when the answer says neither."""
    words = _plain(text)
    if _NO.match(words) or (intent == "deny" and not _YES.match(words)):
        return False
    if _YES.match(words) or intent == "affirm":
        return True
    return None


_FIRST_CLAUSE = re.compile(r"^\s*([^,.;:!?()\-–—]+)[,.;:!?()\-–—]\s*\S")


def leading_yes_or_no(text: str) -> bool | None:
    """A yes or no that opens a longer answer ("no, he'll call his surgeon"), else ``None``."""
    first = _FIRST_CLAUSE.match(text or "")
    return yes_or_no(first.group(1)) if first else None


def safety_yes(text: str, intent: str | None = None) -> bool:
    """Whether an answer to a safety question ("is this happening now?") is to be taken as a yes."""
    answer = yes_or_no(text, intent)
    if answer is not None:
        return answer
    return bool(_MAYBE.search(_plain(text)))
