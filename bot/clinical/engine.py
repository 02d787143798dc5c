"""The findings engine: which possible causes the clinic's documents describe for a patient's facts.

The rules live in ``findings.yml`` (readable and editable by a clinician); this module parses and
validates that table, and applies it to a :class:`Facts` record. It never diagnoses: a finding is a
situation the documents describe, listed for a physician to check.
"""

from __future__ import annotations

import functools
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.clinical.datafile import (
    ClinicalDataError,
    check_keys,
    load_yaml,
    require_list,
    require_mapping,
    require_text,
)
from bot.vocabulary import FINDING_CODES, PAIN_COURSES, SURGERY_TYPES, SYMPTOMS

#: The source documents a finding may cite.
DOCUMENTS: tuple[str, ...] = ("000", "004")
DEFAULT_FINDINGS_PATH = Path(__file__).with_name("findings.yml")
#: Longest ``sms`` text of a finding, in characters.
SMS_MAX_CHARS = 160

_CATEGORY_FACTS: dict[str, tuple[str, ...]] = {
    "surgery_type": SURGERY_TYPES,
    "pain_course": PAIN_COURSES,
}
_NUMBER_FACTS: tuple[str, ...] = ("weeks_since_surgery", "pain_return_weeks")
_FACT_NAMES: tuple[str, ...] = (
    "surgery_type",
    "weeks_since_surgery",
    "pain_course",
    "pain_return_weeks",
    "symptoms",
)
_NUMBER_OPERATORS: dict[str, str] = {
    "below": "<",
    "at_most": "≤",
    "at_least": "≥",
    "above": ">",
    "from": "≥",
    "to": "≤",
}
_SYMPTOM_OPERATORS: tuple[str, ...] = (
    "any_of",
    "all_of",
    "none_of",
    "at_least",
    "of",
    "including_one_of",
)
_UNKNOWN = "unknown"

Reasons = tuple[str, ...]


class FindingsError(ClinicalDataError):
    """The findings table cannot be read or does not validate; the message says where and why."""


# --------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class Facts:
    """What the conversation learned about the patient; ``None`` means not known.

    Values are checked against the clinical-rules vocabulary; numbers are stored as floats and
    ``symptoms`` as a frozenset (any iterable of symptom codes is accepted).
    """

    # decompression | fusion | unknown ; None = not known (treated as unknown)
    surgery_type: str | None = None
    weeks_since_surgery: float | None = None
    pain_course: str | None = None
    pain_return_weeks: float | None = None
    symptoms: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        """Validate the vocabulary and normalise numbers and symptoms."""
        if self.surgery_type is not None and self.surgery_type not in SURGERY_TYPES:
            raise ValueError(f"surgery_type must be one of {SURGERY_TYPES} or None, not {self.surgery_type!r}")
        if self.pain_course is not None and self.pain_course not in PAIN_COURSES:
            raise ValueError(f"pain_course must be one of {PAIN_COURSES} or None, not {self.pain_course!r}")
        for name in _NUMBER_FACTS:
            object.__setattr__(self, name, _checked_weeks(name, getattr(self, name)))
        symptoms = self.symptoms
        if isinstance(symptoms, str) or not isinstance(symptoms, Iterable):
            raise TypeError(f"symptoms must be a set of symptom codes, not {symptoms!r}")
        symptom_set = frozenset(symptoms)
        unknown = sorted(str(s) for s in symptom_set if s not in SYMPTOMS)
        if unknown:
            raise ValueError(f"unknown symptom(s) {unknown}; known: {SYMPTOMS}")
        object.__setattr__(self, "symptoms", symptom_set)

    def as_payload(self) -> dict[str, object]:
        """The ``facts`` object of the assessment payload, in the contract's vocabulary."""
        return {
            "surgery_type": self.surgery_type or _UNKNOWN,
            "weeks_since_surgery": self.weeks_since_surgery,
            "pain_course": self.pain_course,
            "pain_return_weeks": self.pain_return_weeks,
            "symptoms": [s for s in SYMPTOMS if s in self.symptoms],
        }


def _checked_weeks(name: str, value: object) -> float | None:
    """Return a number of weeks as a float (or None), refusing negatives, NaN and booleans."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of weeks or None, not {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0, not {value!r}")
    return number


def _fmt_value(number: float) -> str:
    """Format a fact's number for a reason: at most two decimals, at least one (13.0, 8.67)."""
    text = f"{number:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _fmt_bound(number: float) -> str:
    """Format a rule's bound for a reason as written in the table (12, 6, 12.5)."""
    return f"{number:g}"


# --------------------------------------------------------------------------------------------
# Conditions


class Condition(ABC):
    """A parsed ``when`` condition (or part of one)."""

    @abstractmethod
    def check(self, facts: Facts) -> Reasons | None:
        """Return the reasons the condition holds for ``facts``, or ``None`` if it does not hold."""


@dataclass(frozen=True)
class CategoryIs(Condition):
    """A categorical fact is one of ``values``; an unknown surgery type counts as ``unknown``."""

    fact: str
    values: tuple[str, ...]

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when the fact's value is listed."""
        value: str | None = getattr(facts, self.fact)
        if value is None and self.fact == "surgery_type":
            value = _UNKNOWN
        if value is None or value not in self.values:
            return None
        return (f"{self.fact} is {value}",)


@dataclass(frozen=True)
class NumberCompare(Condition):
    """A number fact passes every ``(operator, bound)`` test; an unknown number passes none."""

    fact: str
    tests: tuple[tuple[str, float], ...]

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when the fact is known and every comparison holds."""
        value: float | None = getattr(facts, self.fact)
        if value is None:
            return None
        for operator, bound in self.tests:
            if not _compare(value, operator, bound):
                return None
        comparisons = " and ".join(f"{_NUMBER_OPERATORS[op]} {_fmt_bound(b)}" for op, b in self.tests)
        return (f"{self.fact} {_fmt_value(value)} {comparisons}",)


def _compare(value: float, operator: str, bound: float) -> bool:
    """Apply one number operator of the condition language."""
    if operator == "below":
        return value < bound
    if operator == "above":
        return value > bound
    if operator in ("at_least", "from"):
        return value >= bound
    if operator in ("at_most", "to"):
        return value <= bound
    raise AssertionError(f"unhandled operator {operator!r}")  # parsing admits no other


@dataclass(frozen=True)
class NumberUnknown(Condition):
    """A number fact is not known."""

    fact: str

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when the fact is ``None``."""
        return (f"{self.fact} unknown",) if getattr(facts, self.fact) is None else None


@dataclass(frozen=True)
class SymptomsAnyOf(Condition):
    """At least one of ``values`` is among the symptoms."""

    values: tuple[str, ...]

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when some listed symptom is present."""
        present = [s for s in self.values if s in facts.symptoms]
        if not present:
            return None
        return (f"symptoms include {', '.join(present)} (any of {', '.join(self.values)})",)


@dataclass(frozen=True)
class SymptomsAllOf(Condition):
    """Every one of ``values`` is among the symptoms."""

    values: tuple[str, ...]

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when all listed symptoms are present."""
        if not all(s in facts.symptoms for s in self.values):
            return None
        return (f"symptoms include all of {', '.join(self.values)}",)


@dataclass(frozen=True)
class SymptomsNoneOf(Condition):
    """None of ``values`` is among the symptoms."""

    values: tuple[str, ...]

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when no listed symptom is present."""
        if any(s in facts.symptoms for s in self.values):
            return None
        return (f"symptoms include none of {', '.join(self.values)}",)


@dataclass(frozen=True)
class SymptomsCount(Condition):
    """At least ``at_least`` of ``of`` are present, one of them in ``including_one_of`` (if given)."""

    at_least: int
    of: tuple[str, ...]
    including_one_of: tuple[str, ...] = ()

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when enough listed symptoms are present, including a required one."""
        present = [s for s in self.of if s in facts.symptoms]
        if len(present) < self.at_least:
            return None
        reasons = [
            (
                f"symptoms include {len(present)} of {', '.join(self.of)} "
                f"(at least {self.at_least} needed): {', '.join(present)}"
            )
        ]
        if self.including_one_of:
            required = [s for s in self.including_one_of if s in facts.symptoms]
            if not required:
                return None
            reasons.append(f"symptoms include {', '.join(required)} (one of {', '.join(self.including_one_of)} needed)")
        return tuple(reasons)


@dataclass(frozen=True)
class AllOf(Condition):
    """Every part holds (the keys of one ``when`` mapping)."""

    parts: tuple[Condition, ...]

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when every part holds; the reasons are all the parts' reasons, in order."""
        reasons: list[str] = []
        for part in self.parts:
            held = part.check(facts)
            if held is None:
                return None
            reasons.extend(held)
        return tuple(reasons)


@dataclass(frozen=True)
class AnyOf(Condition):
    """At least one alternative holds (an ``any_of:`` list)."""

    alternatives: tuple[Condition, ...]

    def check(self, facts: Facts) -> Reasons | None:
        """Hold when some alternative holds; the reasons are those of the first one that does."""
        for alternative in self.alternatives:
            held = alternative.check(facts)
            if held is not None:
                return held
        return None


@dataclass(frozen=True)
class Otherwise(Condition):
    """``otherwise: true``: :func:`assess` fires it only when no other finding holds."""

    def check(self, facts: Facts) -> Reasons | None:
        """Always hold; the gating on other findings is done by :func:`assess`."""
        return ("no other finding holds",)


# --------------------------------------------------------------------------------------------
# Rules and results


@dataclass(frozen=True)
class SourceQuote:
    """A sentence (or sentences) of a source document that a finding's text rests on."""

    doc: str
    quote: str


@dataclass(frozen=True)
class FindingRule:
    """One row of the findings table."""

    code: str
    title: str
    condition: Condition
    says: str
    sms: str
    source: tuple[SourceQuote, ...]

    @property
    def is_fallback(self) -> bool:
        """True for an ``otherwise: true`` rule, which holds only when no other finding does."""
        return isinstance(self.condition, Otherwise)


@dataclass(frozen=True)
class FindingResult:
    """A finding that holds for the facts, with the trace of the conditions that held."""

    code: str
    title: str
    says: str
    source: tuple[SourceQuote, ...]
    reasons: tuple[str, ...]
    sms: str = ""
    fallback: bool = False


@dataclass(frozen=True)
class Assessment:
    """The findings that hold for some facts, in table order."""

    facts: Facts
    findings: tuple[FindingResult, ...]

    def codes(self) -> list[str]:
        """The finding codes, in table order."""
        return [f.code for f in self.findings]

    def payload(self) -> dict[str, object]:
        """The contract's ``assessment`` custom payload."""
        return {
            "type": "assessment",
            "findings": self.codes(),
            "facts": self.facts.as_payload(),
        }


def assess(facts: Facts, rules: Sequence[FindingRule] | None = None) -> Assessment:
    """Apply every rule (default: ``findings.yml``) to ``facts``.

    Returns every finding whose condition holds, in table order; ``otherwise`` findings only
    when no other finding holds.
    """
    table = load_findings() if rules is None else tuple(rules)
    held: dict[int, Reasons] = {}
    for index, rule in enumerate(table):
        if not rule.is_fallback:
            reasons = rule.condition.check(facts)
            if reasons is not None:
                held[index] = reasons
    if not held:
        for index, rule in enumerate(table):
            if rule.is_fallback:
                reasons = rule.condition.check(facts)
                if reasons is not None:
                    held[index] = reasons
    results = tuple(
        FindingResult(
            code=rule.code,
            title=rule.title,
            says=rule.says,
            source=rule.source,
            reasons=held[index],
            sms=rule.sms,
            fallback=rule.is_fallback,
        )
        for index, rule in enumerate(table)
        if index in held
    )
    return Assessment(facts=facts, findings=results)


# --------------------------------------------------------------------------------------------
# Loading and validation


def load_findings(
    path: str | os.PathLike[str] | None = None,
) -> tuple[FindingRule, ...]:
    """Read and validate the findings table (default: ``bot/clinical/findings.yml``).

    The result is cached per file and modification time, so an edited file is read again.
    Raises :class:`FindingsError` naming the file, the entry and the problem.
    """
    resolved = (Path(path) if path is not None else DEFAULT_FINDINGS_PATH).resolve()
    try:
        mtime_ns = resolved.stat().st_mtime_ns
    except OSError as exc:
        raise FindingsError(f"{resolved}: cannot read the findings table: {exc}") from exc
    return _load_findings_cached(resolved, mtime_ns)


@functools.lru_cache(maxsize=8)
def _load_findings_cached(path: Path, mtime_ns: int) -> tuple[FindingRule, ...]:
    """Parse one version of a findings file (``mtime_ns`` is part of the cache key only)."""
    del mtime_ns
    try:
        data = load_yaml(path)
    except ClinicalDataError as exc:
        raise FindingsError(str(exc)) from exc
    return parse_findings(data, source=str(path))


def parse_findings(data: object, source: str = "findings") -> tuple[FindingRule, ...]:
    """Validate parsed YAML (``{"findings": [...]}``) and build the rules.

    Every clinical-rules code must appear exactly once, in table order. Raises
    :class:`FindingsError` for unknown keys, codes, facts, values or operators.
    """
    top = require_mapping(data, source, FindingsError)
    check_keys(top, source, FindingsError, required=("findings",))
    entries = require_list(top["findings"], f"{source}: findings", FindingsError)
    rules: list[FindingRule] = []
    for position, entry in enumerate(entries):
        rules.append(_parse_rule(entry, f"{source}: findings[{position}]"))
    _check_codes([rule.code for rule in rules], source)
    return tuple(rules)


def _check_codes(codes: list[str], source: str) -> None:
    """Require every known code exactly once, in clinical-rules table order."""
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise FindingsError(f"{source}: the code {code!r} appears twice")
        seen.add(code)
    missing = [code for code in FINDING_CODES if code not in seen]
    if missing:
        raise FindingsError(f"{source}: missing finding code(s): {', '.join(missing)}")
    for position, (found, expected) in enumerate(zip(codes, FINDING_CODES, strict=False)):
        if found != expected:
            raise FindingsError(
                f"{source}: findings must follow the clinical-rules table order; "
                f"position {position} should be {expected!r}, found {found!r}"
            )


def _parse_rule(entry: object, where: str) -> FindingRule:
    """Validate one entry of the table."""
    mapping = require_mapping(entry, where, FindingsError)
    code = mapping.get("code")
    if isinstance(code, str):
        where = f"{where} ({code})"
    check_keys(
        mapping,
        where,
        FindingsError,
        required=("code", "title", "when", "says", "sms", "source"),
    )
    if code not in FINDING_CODES:
        raise FindingsError(f"{where}: unknown code {code!r} (known codes: {', '.join(FINDING_CODES)})")
    assert isinstance(code, str)
    sms = require_text(mapping["sms"], f"{where}.sms", FindingsError)
    if len(sms) > SMS_MAX_CHARS:
        raise FindingsError(f"{where}.sms: {len(sms)} characters, at most {SMS_MAX_CHARS} allowed")
    return FindingRule(
        code=code,
        title=require_text(mapping["title"], f"{where}.title", FindingsError),
        condition=_parse_when(mapping["when"], f"{where}.when"),
        says=require_text(mapping["says"], f"{where}.says", FindingsError),
        sms=sms,
        source=_parse_source(mapping["source"], f"{where}.source"),
    )


def _parse_source(value: object, where: str) -> tuple[SourceQuote, ...]:
    """Validate the list of ``{doc, quote}`` citations."""
    quotes: list[SourceQuote] = []
    for position, item in enumerate(require_list(value, where, FindingsError)):
        item_where = f"{where}[{position}]"
        mapping = require_mapping(item, item_where, FindingsError)
        check_keys(mapping, item_where, FindingsError, required=("doc", "quote"))
        doc = mapping["doc"]
        if doc not in DOCUMENTS:
            raise FindingsError(
                f"{item_where}.doc: {doc!r} is not a source document; use one of "
                f'{", ".join(repr(d) for d in DOCUMENTS)} (in quotes, e.g. doc: "000")'
            )
        assert isinstance(doc, str)
        quotes.append(
            SourceQuote(
                doc=doc,
                quote=require_text(mapping["quote"], f"{item_where}.quote", FindingsError),
            )
        )
    return tuple(quotes)


def _parse_when(value: object, where: str) -> Condition:
    """Parse a rule's ``when``: a condition, or ``otherwise: true`` on its own."""
    mapping = require_mapping(value, where, FindingsError)
    if "otherwise" in mapping:
        if len(mapping) != 1:
            raise FindingsError(f"{where}: 'otherwise' must stand alone; remove the other keys")
        if mapping["otherwise"] is not True:
            raise FindingsError(f"{where}.otherwise: must be true, found {mapping['otherwise']!r}")
        return Otherwise()
    return _parse_condition(mapping, where)


def _parse_condition(value: object, where: str) -> Condition:
    """Parse a condition mapping: every key (a fact, or ``any_of``) must hold."""
    mapping = require_mapping(value, where, FindingsError)
    if not mapping:
        raise FindingsError(f"{where}: empty condition; give at least one fact test")
    parts: list[Condition] = []
    for key, item in mapping.items():
        item_where = f"{where}.{key}"
        if key == "any_of":
            alternatives = require_list(item, item_where, FindingsError)
            parts.append(
                AnyOf(tuple(_parse_condition(alt, f"{item_where}[{i}]") for i, alt in enumerate(alternatives)))
            )
        elif key == "otherwise":
            raise FindingsError(f"{item_where}: 'otherwise' is only allowed alone, directly under 'when'")
        elif key in _CATEGORY_FACTS:
            parts.append(_parse_category(key, item, item_where))
        elif key in _NUMBER_FACTS:
            parts.append(_parse_number(key, item, item_where))
        elif key == "symptoms":
            parts.append(_parse_symptoms(item, item_where))
        else:
            raise FindingsError(
                f"{where}: unknown key {key!r} (expected a fact: {', '.join(_FACT_NAMES)}; or any_of, otherwise)"
            )
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _parse_category(fact: str, value: object, where: str) -> Condition:
    """Parse ``surgery_type`` / ``pain_course``: one value or a list of values."""
    values: list[object] = [value] if isinstance(value, str) else require_list(value, where, FindingsError)
    return CategoryIs(fact, _vocabulary_list(values, _CATEGORY_FACTS[fact], where))


def _parse_number(fact: str, value: object, where: str) -> Condition:
    """Parse a number test: ``unknown``, or a mapping of operators to bounds."""
    if value == _UNKNOWN:
        return NumberUnknown(fact)
    if not isinstance(value, dict):
        raise FindingsError(
            f"{where}: expected 'unknown' or a mapping such as {{below: 12}} or {{from: 6, to: 12}}, found {value!r}"
        )
    mapping = require_mapping(value, where, FindingsError)
    if not mapping:
        raise FindingsError(f"{where}: empty comparison; use e.g. {{below: 12}}")
    tests: list[tuple[str, float]] = []
    for operator, bound in mapping.items():
        if operator not in _NUMBER_OPERATORS:
            raise FindingsError(
                f"{where}: unknown operator {operator!r} (known: {', '.join(_NUMBER_OPERATORS)}, or the word unknown)"
            )
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise FindingsError(f"{where}.{operator}: expected a number of weeks, found {bound!r}")
        tests.append((operator, float(bound)))
    if ("from" in mapping) != ("to" in mapping):
        raise FindingsError(f"{where}: 'from' and 'to' go together (both ends included); use at_least / at_most alone")
    if "from" in mapping and dict(tests)["from"] > dict(tests)["to"]:
        raise FindingsError(f"{where}: 'from' must not be greater than 'to'")
    return NumberCompare(fact, tuple(tests))


def _parse_symptoms(value: object, where: str) -> Condition:
    """Parse a symptom-set test: any_of / all_of / none_of / at_least + of (+ including_one_of)."""
    mapping = require_mapping(value, where, FindingsError)
    if not mapping:
        raise FindingsError(f"{where}: empty symptom test; use e.g. {{any_of: [numbness]}}")
    for key in mapping:
        if key not in _SYMPTOM_OPERATORS:
            raise FindingsError(f"{where}: unknown operator {key!r} (known: {', '.join(_SYMPTOM_OPERATORS)})")
    parts: list[Condition] = []
    simple: dict[str, type[SymptomsAnyOf | SymptomsAllOf | SymptomsNoneOf]] = {
        "any_of": SymptomsAnyOf,
        "all_of": SymptomsAllOf,
        "none_of": SymptomsNoneOf,
    }
    for key, kind in simple.items():
        if key in mapping:
            items = require_list(mapping[key], f"{where}.{key}", FindingsError)
            parts.append(kind(_vocabulary_list(items, SYMPTOMS, f"{where}.{key}")))
    counting = [key for key in ("at_least", "of", "including_one_of") if key in mapping]
    if counting:
        if "at_least" not in mapping or "of" not in mapping:
            raise FindingsError(f"{where}: 'at_least' and 'of' go together (including_one_of is optional)")
        of = _vocabulary_list(
            require_list(mapping["of"], f"{where}.of", FindingsError),
            SYMPTOMS,
            f"{where}.of",
        )
        at_least = mapping["at_least"]
        if isinstance(at_least, bool) or not isinstance(at_least, int) or not 1 <= at_least <= len(of):
            raise FindingsError(f"{where}.at_least: expected a whole number from 1 to {len(of)}, found {at_least!r}")
        including: tuple[str, ...] = ()
        if "including_one_of" in mapping:
            including = _vocabulary_list(
                require_list(
                    mapping["including_one_of"],
                    f"{where}.including_one_of",
                    FindingsError,
                ),
                SYMPTOMS,
                f"{where}.including_one_of",
            )
            outside = [s for s in including if s not in of]
            if outside:
                raise FindingsError(f"{where}.including_one_of: {', '.join(outside)} not in 'of'")
        parts.append(SymptomsCount(at_least, of, including))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _vocabulary_list(items: list[object], vocabulary: tuple[str, ...], where: str) -> tuple[str, ...]:
    """Check that every item is a known value, listed once."""
    values: list[str] = []
    for item in items:
        if not isinstance(item, str) or item not in vocabulary:
            raise FindingsError(f"{where}: unknown value {item!r} (known: {', '.join(vocabulary)})")
        if item in values:
            raise FindingsError(f"{where}: {item!r} is listed twice")
        values.append(item)
    return tuple(values)
