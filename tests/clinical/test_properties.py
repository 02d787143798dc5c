"""Properties of the findings engine and the red flags, checked on generated facts (hypothesis).

The example tests (``test_rules.py``) pin each rule at its boundaries; these check what must hold
for *every* combination of valid facts: the engine never fails, lists only codes of the table,
in table order, falls back only when nothing else holds, fires no rule on a fact it needs but
doesn't know, and more symptoms never take a finding away. Red flags always win: whatever else
the message says or the classifier guesses, a red flag the lexicon confirms is acted on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clinical.engine import (
    SMS_MAX_CHARS,
    AllOf,
    AnyOf,
    Condition,
    Facts,
    NumberCompare,
    SymptomsAllOf,
    SymptomsAnyOf,
    SymptomsCount,
    SymptomsNoneOf,
    assess,
    load_findings,
)
from bot.clinical.red_flags import (
    SMS_COMBINED_MAX_CHARS,
    emergency_payload,
    emergency_text,
    load_red_flag_table,
)
from bot.intents import RED_FLAG_INTENT, guard_intent
from bot.vocabulary import FINDING_CODES, PAIN_COURSES, RED_FLAG_CODES, SURGERY_TYPES, SYMPTOMS

RULES = load_findings()
FALLBACK = "no_specific_pattern"
NERVE_SYMPTOMS = frozenset({"numbness", "tingling", "weakness"})

# The table's boundaries (and their neighbours) are where mistakes hide: generate them often.
BOUNDARIES = (0.0, 5.9, 6.0, 6.1, 11.9, 12.0, 12.1, 13.0, 51.9, 52.0, 52.1, 104.0)
weeks = st.one_of(
    st.none(),
    st.sampled_from(BOUNDARIES),
    st.integers(min_value=0, max_value=52 * 80),
    st.floats(min_value=0, max_value=52 * 80, allow_nan=False, allow_infinity=False),
)
surgery_types = st.sampled_from((*SURGERY_TYPES, None))
pain_courses = st.sampled_from((*PAIN_COURSES, None))
symptom_sets = st.frozensets(st.sampled_from(SYMPTOMS))
facts = st.builds(
    Facts,
    surgery_type=surgery_types,
    weeks_since_surgery=weeks,
    pain_course=pain_courses,
    pain_return_weeks=weeks,
    symptoms=symptom_sets,
)


def requires(condition: Condition, fact: str) -> bool:
    """Whether ``condition`` can only hold when the number ``fact`` is known."""
    if isinstance(condition, NumberCompare):
        return condition.fact == fact
    if isinstance(condition, AllOf):
        return any(requires(part, fact) for part in condition.parts)
    if isinstance(condition, AnyOf):
        return all(requires(alternative, fact) for alternative in condition.alternatives)
    return False


def excludes_symptoms(condition: Condition) -> bool:
    """Whether ``condition`` holds only while some symptom is absent (``none_of``)."""
    if isinstance(condition, SymptomsNoneOf):
        return True
    if isinstance(condition, AllOf):
        return any(excludes_symptoms(part) for part in condition.parts)
    if isinstance(condition, AnyOf):
        return any(excludes_symptoms(alternative) for alternative in condition.alternatives)
    return False


def symptoms_named(condition: Condition) -> set[str]:
    """Every symptom a condition mentions."""
    if isinstance(condition, (SymptomsAnyOf, SymptomsAllOf, SymptomsNoneOf)):
        return set(condition.values)
    if isinstance(condition, SymptomsCount):
        return set(condition.of) | set(condition.including_one_of)
    if isinstance(condition, AllOf):
        return set().union(*(symptoms_named(part) for part in condition.parts))
    if isinstance(condition, AnyOf):
        return set().union(*(symptoms_named(alternative) for alternative in condition.alternatives))
    return set()


def codes(f: Facts) -> list[str]:
    return assess(f).codes()


# --- the engine ----------------------------------------------------------------------------


@given(facts)
def test_every_assessment_lists_known_codes_once_in_table_order(f: Facts) -> None:
    result = assess(f)
    found = result.codes()
    assert found, "every assessment has at least one finding (the fallback)"
    assert set(found) <= set(FINDING_CODES)
    positions = [FINDING_CODES.index(code) for code in found]
    assert positions == sorted(set(positions)), "table order, each once"
    for finding in result.findings:
        assert finding.reasons and all(isinstance(r, str) and r for r in finding.reasons)
        assert finding.says.strip() and finding.title.strip()
        assert 0 < len(finding.sms) <= SMS_MAX_CHARS


@given(facts)
def test_the_fallback_holds_exactly_when_nothing_else_does(f: Facts) -> None:
    found = codes(f)
    assert (FALLBACK in found) == (found == [FALLBACK])
    result = assess(f)
    assert [finding.fallback for finding in result.findings] == [code == FALLBACK for code in found]


@given(facts)
def test_the_payload_is_strict_json_in_the_contract_vocabulary(f: Facts) -> None:
    payload = assess(f).payload()
    decoded = json.loads(json.dumps(payload, allow_nan=False))
    assert decoded["type"] == "assessment"
    assert decoded["findings"] == codes(f)
    sent = decoded["facts"]
    assert sent["surgery_type"] in SURGERY_TYPES  # None is sent as "unknown"
    assert sent["pain_course"] in (*PAIN_COURSES, None)
    assert sent["symptoms"] == [s for s in SYMPTOMS if s in f.symptoms]  # canonical order
    for name in ("weeks_since_surgery", "pain_return_weeks"):
        value = sent[name]
        assert value is None or (isinstance(value, float) and math.isfinite(value) and value >= 0)


@given(facts)
def test_a_rule_never_fires_on_a_number_it_needs_but_is_not_known(f: Facts) -> None:
    found = set(codes(f))
    for rule in RULES:
        for fact in ("weeks_since_surgery", "pain_return_weeks"):
            if getattr(f, fact) is None and requires(rule.condition, fact):
                assert rule.code not in found, (rule.code, fact)


@given(facts, symptom_sets)
def test_more_symptoms_never_take_a_finding_away(f: Facts, extra: frozenset[str]) -> None:
    """Monotonic in symptoms: every rule without a ``none_of`` test keeps holding."""
    more = Facts(f.surgery_type, f.weeks_since_surgery, f.pain_course, f.pain_return_weeks, f.symptoms | extra)
    before, after = set(codes(f)), set(codes(more))
    for rule in RULES:
        if rule.is_fallback or excludes_symptoms(rule.condition):
            continue
        if rule.code in before:
            assert rule.code in after, rule.code


@given(facts, st.frozensets(st.sampled_from(SYMPTOMS)))
def test_symptoms_no_rule_names_change_nothing(f: Facts, other: frozenset[str]) -> None:
    named = set().union(*(symptoms_named(rule.condition) for rule in RULES))
    unnamed = frozenset(s for s in other if s not in named)
    more = Facts(f.surgery_type, f.weeks_since_surgery, f.pain_course, f.pain_return_weeks, f.symptoms | unnamed)
    assert codes(more) == codes(f)


@given(facts)
def test_the_time_since_surgery_splits_the_paired_findings_exactly(f: Facts) -> None:
    found = set(codes(f))
    w = f.weeks_since_surgery
    if w is None:
        return
    if f.symptoms & NERVE_SYMPTOMS:
        assert ("nerve_recovery_ongoing" in found) == (w < 52)
        assert ("permanent_nerve_damage_possible" in found) == (w >= 52)
    if f.surgery_type == "decompression" and f.pain_course in ("no_improvement", "worse_since_surgery"):
        assert ("too_early_to_judge" in found) == (w < 12)
        assert ("failed_decompression" in found) == (w >= 12)
    if f.surgery_type == "fusion":
        assert ("fusion_still_healing" in found) == (w < 52)
    if f.pain_course == "improving":
        assert "on_track" in found


@given(facts, st.permutations(SYMPTOMS))
def test_assessment_is_deterministic_and_ignores_how_facts_are_given(f: Facts, order: list[str]) -> None:
    listed = [s for s in order if s in f.symptoms]
    as_list = Facts(f.surgery_type, f.weeks_since_surgery, f.pain_course, f.pain_return_weeks, listed)  # type: ignore[arg-type]
    assert assess(as_list).codes() == assess(f).codes() == assess(f).codes()
    if f.weeks_since_surgery is not None and f.weeks_since_surgery == int(f.weeks_since_surgery):
        as_int = Facts(f.surgery_type, int(f.weeks_since_surgery), f.pain_course, f.pain_return_weeks, f.symptoms)
        assert assess(as_int).codes() == assess(f).codes()


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from((*SURGERY_TYPES, *PAIN_COURSES, *SYMPTOMS, "", "UNKNOWN", "fusion ")),
    st.lists(st.sampled_from((*SYMPTOMS, "fever", "", 3)), max_size=4),
)


@given(anything, anything, anything, anything, anything)
def test_facts_refuse_bad_values_with_value_or_type_errors_only(
    surgery: object, w: object, course: object, r: object, symptoms: object
) -> None:
    try:
        f = Facts(surgery, w, course, r, symptoms)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return
    # What was accepted is valid, and assessable.
    assert f.surgery_type in (*SURGERY_TYPES, None)
    assert f.pain_course in (*PAIN_COURSES, None)
    for value in (f.weeks_since_surgery, f.pain_return_weeks):
        assert value is None or (isinstance(value, float) and math.isfinite(value) and value >= 0)
    assert f.symptoms <= set(SYMPTOMS)
    assert codes(f)


# --- red flags -----------------------------------------------------------------------------

flag_lists = st.lists(st.sampled_from(RED_FLAG_CODES), min_size=1, max_size=8)


@given(flag_lists)
def test_any_red_flags_get_one_urgent_message_and_payload(flags: list[str]) -> None:
    table = load_red_flag_table()
    wanted = [f for f in table.flags if f.code in set(flags)]
    payload = emergency_payload(flags)
    assert payload == {"type": "emergency", "red_flags": [f.code for f in wanted]}
    web, sms = emergency_text(flags), emergency_text(flags, sms=True)
    most_urgent = next(i for i in table.instructions if i.level in {f.level for f in wanted})
    assert web.startswith(most_urgent.says)
    assert sms.startswith(most_urgent.sms)
    for flag in wanted:
        assert flag.warning in web
    assert len(sms) <= SMS_COMBINED_MAX_CHARS
    assert emergency_text(list(reversed(flags))) == web  # the order given doesn't matter


@given(st.lists(st.text(max_size=12), max_size=3))
def test_unknown_or_no_red_flags_are_refused(codes_given: list[str]) -> None:
    if set(codes_given) <= set(RED_FLAG_CODES) and codes_given:
        return
    with pytest.raises(ValueError):
        emergency_payload(codes_given)
    with pytest.raises(ValueError):
        emergency_text(codes_given)


intents = st.sampled_from(
    (None, "greet", "affirm", "deny", "inform", "dont_know", "nlu_fallback", "report_red_flag", "possible_red_flag",
     "request_appointment", "start_over", "request_human", "out_of_scope")
)  # fmt: skip
entity_names: st.SearchStrategy[list[str | None]] = st.lists(
    st.sampled_from(("surgery_type", "time", "time_problem", "pain_course", "return_speed", "symptom", None)),
    max_size=5,
)


@given(
    st.text(max_size=200),
    intents,
    st.lists(intents, max_size=4),
    entity_names,
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_a_confirmed_red_flag_always_wins_the_intent(
    text: str,
    intent: str | None,
    ranking: Iterable[str | None],
    names: list[str | None],
    judged: bool,
    close: bool,
    dont_know: bool,
) -> None:
    chosen = guard_intent(
        text,
        intent,
        list(ranking),
        [*names, "red_flag"],
        red_flag_judged=judged,
        close_to_red_flag=close,
        says_dont_know=dont_know,
    )
    assert chosen == RED_FLAG_INTENT


@settings(max_examples=60)
@given(st.text(max_size=200), intents, st.lists(intents, max_size=4), entity_names, st.booleans(), st.booleans())
def test_without_a_confirmed_red_flag_the_guard_never_claims_one(
    text: str,
    intent: str | None,
    ranking: list[str | None],
    names: list[str | None],
    close: bool,
    dont_know: bool,
) -> None:
    """Only the lexicon confirms a red flag; a guess is at most a *possible* one (a safety question)."""
    chosen = guard_intent(
        text, intent, ranking, names, red_flag_judged=False, close_to_red_flag=close, says_dont_know=dont_know
    )
    assert chosen != RED_FLAG_INTENT
    assert isinstance(chosen, str) and chosen
