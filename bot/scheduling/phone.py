"""Phone numbers as patients type them, turned into E.164 ("+14155552671")."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumber, PhoneNumberMatcher

# Enough for any sentence that carries a number; keeps hostile 5,000-character input cheap.
_MAX_INPUT = 1000
# North American numbering: NPA-NXX-XXXX, area code and exchange start with 2-9 and are
# not N11; area codes N9X are reserved for expansion.
_NANP = re.compile(r"[2-9](?!11)[0-8][0-9][2-9](?!11)[0-9]{2}[0-9]{4}")


def _acceptable(number: PhoneNumber) -> bool:
    """A number the clinic can call back.

    Valid by the phone-number metadata; or, for North America, of the right length and
    shape (so a newly opened area code is not refused before the metadata knows it).
    """
    if phonenumbers.is_valid_number(number):
        return True
    if number.country_code != 1 or not phonenumbers.is_possible_number(number):
        return False
    return bool(_NANP.fullmatch(phonenumbers.national_significant_number(number)))


def normalize_phone(text: str, region: str = "US") -> str | None:
    """The first callable phone number in ``text``, in E.164 form, or ``None``.

    ``text`` may be just the number in any usual spelling ("(415) 555-2671", "+44 20 7946
    0958") or a sentence containing it ("you can reach me at 415-555-2671 after 5").
    Numbers without a country code are read as numbers of ``region``. Extensions are dropped.
    """
    if not text:
        return None
    for match in PhoneNumberMatcher(text[:_MAX_INPUT], region, leniency=Leniency.POSSIBLE):
        if _acceptable(match.number):
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None
