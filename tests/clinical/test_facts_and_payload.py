"""Facts validation and the contract's assessment payload."""

from __future__ import annotations

import json
import math

import pytest

from bot.clinical.engine import SYMPTOMS, Assessment, Facts, assess

CONTRACT_EXAMPLE = json.loads(
    """
    {"type": "assessment",
     "findings": ["recurrent_disc_herniation", "nerve_recovery_ongoing"],
     "facts": {"surgery_type": "decompression", "weeks_since_surgery": 10.0,
               "pain_course": "relief_then_sudden_return", "pain_return_weeks": 9.0,
               "symptoms": ["leg_pain", "tingling"]}}
    """
)


def test_payload_is_exactly_the_contract_example() -> None:
    facts = Facts(
        "decompression",
        10,
        "relief_then_sudden_return",
        9,
        frozenset({"tingling", "leg_pain"}),
    )
    payload = assess(facts).payload()
    assert payload == CONTRACT_EXAMPLE
    assert list(payload) == ["type", "findings", "facts"]
    assert list(payload["facts"]) == list(CONTRACT_EXAMPLE["facts"])  # type: ignore[call-overload]
    assert json.loads(json.dumps(payload)) == payload


def test_numbers_are_floats_in_the_payload() -> None:
    facts_payload = Facts("fusion", 10, None, 9).as_payload()
    assert type(facts_payload["weeks_since_surgery"]) is float
    assert type(facts_payload["pain_return_weeks"]) is float


def test_unknown_facts_in_the_payload() -> None:
    assert Facts().as_payload() == {
        "surgery_type": "unknown",
        "weeks_since_surgery": None,
        "pain_course": None,
        "pain_return_weeks": None,
        "symptoms": [],
    }
    assert Facts("unknown").as_payload()["surgery_type"] == "unknown"


def test_symptoms_are_listed_in_canonical_order() -> None:
    facts = Facts(symptoms=frozenset(reversed(SYMPTOMS)))
    assert facts.as_payload()["symptoms"] == [
        "leg_pain",
        "back_pain",
        "burning",
        "gnawing",
        "stinging",
        "numbness",
        "tingling",
        "weakness",
    ]
    assert Facts(symptoms=frozenset({"weakness", "burning"})).as_payload()[
        "symptoms"
    ] == ["burning", "weakness"]


def test_symptoms_accept_any_iterable_and_become_a_frozenset() -> None:
    facts = Facts(symptoms=["numbness", "numbness", "leg_pain"])  # type: ignore[arg-type]
    assert facts.symptoms == frozenset({"numbness", "leg_pain"})
    assert hash(facts) == hash(Facts(symptoms=frozenset({"leg_pain", "numbness"})))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"surgery_type": "laminectomy"},
        {"surgery_type": ""},
        {"pain_course": "unknown"},
        {"pain_course": "worse"},
        {"weeks_since_surgery": -1},
        {"weeks_since_surgery": math.nan},
        {"weeks_since_surgery": math.inf},
        {"weeks_since_surgery": True},
        {"weeks_since_surgery": "6"},
        {"pain_return_weeks": -0.5},
        {"symptoms": frozenset({"itching"})},
        {"symptoms": "numbness"},
    ],
)
def test_facts_outside_the_vocabulary_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        Facts(**kwargs)  # type: ignore[arg-type]


def test_assessment_is_frozen_and_keeps_the_facts() -> None:
    facts = Facts("fusion", 10)
    assessment = assess(facts)
    assert isinstance(assessment, Assessment)
    assert assessment.facts is facts
    assert assessment.codes() == ["fusion_still_healing"]
    with pytest.raises(AttributeError):
        assessment.facts = Facts()  # type: ignore[misc]
