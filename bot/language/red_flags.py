"""Red flags after spine surgery (cauda equina, progressive weakness, infection, blood clot).

Lexicon: ``lexicons/red_flags.yml``. Only a denial ("no fever"), a supposition ("if I get a
fever", "they told me to watch for chills") or a past that is clearly over ("I had a fever
before the surgery but none since", "years ago I had bladder trouble, nothing now") clears a
flag; doubt does not ("not sure if I have a fever" still raises ``infection``), nor does a
recent past ("I had a fever last night"). A caregiver's "she peed herself" counts like "I
peed myself" (:func:`bot.language.negation.patient_parse`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.language.lexicon import (
    CompiledLexicon,
    compile_lexicon,
    load_yaml,
    longest_per_code,
    string_list,
)
from bot.language.negation import Polarity, assess_tokens, patient_parse
from bot.language.types import Mention

_NUMBER = re.compile(
    r"(?<![\w.,])(\d{2,3}(?:[.,]\d{1,2})?)\s*"
    r"(°\s*[fc]?|º\s*[fc]?|deg(?:rees?|s)?(?:\s*(?:f|c|fahrenheit|celsius|celcius))?|f|c|fahrenheit|celsius|celcius)?"
    r"(?![\w°])",
    re.IGNORECASE,
)
_CONTEXT_CHARS = 25
# Only a denial, a mere supposition ("if I get a fever") or a past that is over clears a flag;
# doubt does not.
_CLEARING = frozenset({Polarity.NEGATED, Polarity.HYPOTHETICAL, Polarity.HISTORICAL})


@dataclass(frozen=True)
class _TemperatureRules:
    words: re.Pattern[str]
    fever_f: float
    fever_c: float


@lru_cache(maxsize=1)
def _lexicon() -> CompiledLexicon:
    return compile_lexicon("red_flags")


@lru_cache(maxsize=1)
def _temperature_rules() -> _TemperatureRules:
    data = load_yaml("red_flags").get("temperature") or {}
    words = string_list(data.get("words", []), "red_flags.temperature.words")
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    return _TemperatureRules(
        pattern, float(data.get("fever_fahrenheit", 100.4)), float(data.get("fever_celsius", 38.0))
    )


def _is_fever(value: float, unit: str) -> bool:
    """Whether a temperature reading is a fever; a bare number's scale follows from its size."""
    rules = _temperature_rules()
    scale = re.sub(r"deg(?:rees?|s)?|[°º\s]", "", unit.lower())
    if scale.startswith("c") or (not scale and 34.0 <= value < 45.0):
        return rules.fever_c <= value < 45.0
    if scale.startswith("f") or (not scale and value >= 90.0):
        return rules.fever_f <= value <= 110.0
    return False


def fever_temperatures(text: str) -> list[tuple[int, int]]:
    """Character spans of temperatures at or above fever ("temp 101", "38.5C", "102 degrees").

    A number counts when it has a unit, follows a temperature word, or is written with one
    decimal like a thermometer reading ("101.4").
    """
    rules = _temperature_rules()
    spans: list[tuple[int, int]] = []
    for match in _NUMBER.finditer(text):
        unit = (match.group(2) or "").strip()
        before = text[max(0, match.start() - _CONTEXT_CHARS) : match.start()]
        before = re.split(r"[.!?;\n]", before)[-1]
        value = float(match.group(1).replace(",", "."))
        reading = bool(re.fullmatch(r"\d+[.,]\d", match.group(1)))  # "101.4", "38.6": a thermometer's format
        if not unit and not rules.words.search(before) and not reading:
            continue
        if _is_fever(value, unit):
            spans.append((match.start(), match.end()))
    return spans


def find_red_flags(text: str) -> list[Mention]:
    """Every red flag the message describes; denied, supposed or past ones come back with ``negated=True``."""
    return list(_find_red_flags(text))


@lru_cache(maxsize=1024)
def _find_red_flags(text: str) -> tuple[Mention, ...]:
    """:func:`find_red_flags`, once per text: the entity extractor and the intent guard both ask."""
    parsed = patient_parse(text)
    found = longest_per_code(_lexicon().candidates(parsed))
    codes = [c.code for c in found]
    tokens = [(c.start, c.end) for c in found]
    spans = [parsed.char_span(c.start, c.end) for c in found]
    for span in fever_temperatures(text):
        token_span = parsed.token_span(*span)
        if token_span is not None and not any(s <= span[0] and span[1] <= e for s, e in spans):
            codes.append("infection")
            tokens.append(token_span)
            spans.append(span)
    results = assess_tokens(parsed, tokens, historical=True)
    mentions = [
        Mention(code=code, text=text[s:e], start=s, end=e, negated=result.polarity in _CLEARING)
        for code, (s, e), result in zip(codes, spans, results, strict=True)
    ]
    return tuple(sorted(mentions, key=lambda m: (m.start, m.end, m.code)))
