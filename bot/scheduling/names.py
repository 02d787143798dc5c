"""A patient's name from their answer to "what is your name?"."""

from __future__ import annotations

import re
import unicodedata

NAME_MAX = 120

_GREETING = r"(?:(?:hi|hello|hey|hiya|yes|yeah|yep|ok|okay|sure)\b[\s,!.]*)?"
_INTRO = (
    r"(?:my\s+(?:full\s+|first\s+)?name\s+is|my\s+name's|(?:the\s+)?name\s+is|name\s*:"
    r"|i\s+am\s+called|i'm\s+called|they\s+call\s+me|call\s+me|it\s+is|it's|i\s+am|i'm"
    r"|this\s+is)"
)
_PREFIX = re.compile(rf"^{_GREETING}(?:{_INTRO}(?![\w'])[\s,:]*)?", re.IGNORECASE)
_THANKS = re.compile(r"[\s,.!]+(?:thanks|thank\s+you|thx|ty)[\s.!]*$", re.IGNORECASE)
_EDGE_PUNCTUATION = " \t.,;:!?\"'`()[]\u00ab\u00bb\u201c\u201d\u201e\u2018\u2019"
_ALLOWED_MARKS = " '-."
_NOT_NAMES = {
    "yes", "no", "ok", "okay", "sure", "none", "nope", "skip", "idk", "nothing",
    "anonymous", "unknown", "nobody", "no one", "why", "what",
}  # fmt: skip


def _allowed(ch: str) -> bool:
    """Letters and combining marks of any script, and the punctuation names use."""
    return unicodedata.category(ch)[0] in "LM" or ch in _ALLOWED_MARKS


def clean_patient_name(text: str) -> str | None:
    """The name in ``text`` ("my name is José O'Neil-Smith." → "José O'Neil-Smith"), or ``None``.

    Introductions ("my name is", "it's", "I'm", a greeting before them), a trailing "thanks"
    and surrounding punctuation are removed; the case is kept as typed. ``None`` (so the bot
    asks again) when nothing is left, when the rest holds anything but letters of any script,
    spaces, apostrophes, hyphens and periods (digits, a phone number, markup such as
    ``<script>``), when it is longer than 120 characters, or when it is a plain non-answer
    ("no", "idk").
    """
    name = unicodedata.normalize("NFC", text or "").replace("\u2019", "'").replace("\u2010", "-")
    name = " ".join(name.split())
    if len(name) > 4 * NAME_MAX:
        return None
    name = _PREFIX.sub("", name, count=1)
    name = _THANKS.sub("", name).strip(_EDGE_PUNCTUATION)
    if not name or len(name) > NAME_MAX:
        return None
    if unicodedata.category(name[0])[0] != "L" or not all(_allowed(ch) for ch in name):
        return None
    if name.casefold() in _NOT_NAMES:
        return None
    return name


# Words of a request or a sentence, never of a name the patient was asked for.
_SENTENCE_WORDS = frozenset(
    "a an the to me my i you can could would please call talk speak person human someone somebody "
    "anyone staff nurse doctor book appointment visit see want need like have get help back is are "
    "was it this that with for of and or not agent operator representative receptionist dunno idk unsure whatever "
    "sure maybe know".split()
)


def looks_like_a_name(text: str) -> bool:
    """A bare name ("GARY PETERSON", "victor huang"): one to four words and no sentence words.

    Used where the intent classifier may misread a name typed alone (all capitals, say) as a
    request: a bare name answers the name question whatever the intent.
    """
    name = clean_patient_name(text)
    if name is None or name != " ".join((text or "").split()).strip(_EDGE_PUNCTUATION):
        return False
    words = name.casefold().replace(".", " ").split()
    return 1 <= len(words) <= 4 and not any(word in _SENTENCE_WORDS for word in words)
