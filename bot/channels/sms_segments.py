"""How many SMS segments a text costs, and the GSM-7 spelling the SMS channel sends.

A message in the GSM 03.38 alphabet (GSM-7) fits 160 characters in one segment; a longer one is
split into parts of 153 (each part carries a header). Characters of the extension table
(``^{}\\[~]|€``) take two places. One character outside GSM-7 makes the whole message UCS-2:
70 UTF-16 code units in one segment, 67 per part when split.
"""

from __future__ import annotations

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Look-alikes that would otherwise turn a whole message into UCS-2 (what Twilio's "smart
# encoding" does too): typographic quotes, dashes, bullets, ellipsis, special spaces.
_GSM_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2022": "-",
        "\u00b7": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u200b": "",
        "\t": " ",
    }
)


def is_gsm7(text: str) -> bool:
    """True if every character of ``text`` is in the GSM-7 alphabet (basic or extension)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def gsm_spelling(text: str) -> str:
    """``text`` with typographic look-alikes (``•``, ``’``, ``–``, ``…``) spelt in GSM-7.

    Other characters (e.g. accented letters outside GSM-7, emoji) are kept: the message is
    then sent, and counted, as UCS-2.
    """
    return text.translate(_GSM_LOOKALIKES)


def segments(text: str) -> int:
    """The number of SMS segments ``text`` is sent in (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm7(text):
        length = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, part = GSM7_SINGLE, GSM7_PART
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part = UCS2_SINGLE, UCS2_PART
    if length <= single:
        return 1
    return -(-length // part)
