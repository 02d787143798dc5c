"""The dialogue benchmark's personas validate, and its scoring rules work on hand-made transcripts.

No servers: ``bench/dialogue.py`` is only imported (its runner starts Rasa; these tests never do).
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.dialogue import (
    ASK_SLOTS,
    SPLITS,
    Exchange,
    Persona,
    Transcript,
    check_reply,
    fact_errors,
    load_personas,
    load_split,
    max_asked_in_a_row,
    normalised_opening,
    parse_persona,
    play,
    red_flag_figures,
    return_weeks,
    score,
    surgery_weeks,
)
from bot.vocabulary import FINDING_CODES, PAIN_COURSES, RED_FLAG_CODES, SURGERY_TYPES, SYMPTOMS


@pytest.fixture(scope="module")
def personas() -> list[Persona]:
    return load_personas("all")


# --- the persona files ----------------------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_each_persona_file_validates(split: str) -> None:
    found, problems = load_split(split)
    assert problems == []
    assert found


def test_enough_personas_in_each_split(personas: list[Persona]) -> None:
    assert len(personas) >= 150
    assert sum(1 for p in personas if p.split == "held_out") >= 50
    assert len({p.id for p in personas}) == len(personas)


def test_ground_truth_uses_the_clinical_vocabulary(personas: list[Persona]) -> None:
    for p in personas:
        assert p.surgery_type in SURGERY_TYPES, p.id
        assert p.pain_course is None or p.pain_course in PAIN_COURSES, p.id
        assert p.symptoms <= set(SYMPTOMS), p.id
        assert set(p.red_flags) <= set(RED_FLAG_CODES), p.id
        assert p.weeks_since_surgery is None or p.weeks_since_surgery >= 0, p.id
        if p.pain_return_weeks is not None:
            assert p.pain_course in ("relief_then_sudden_return", "relief_then_gradual_return"), p.id
        assert set(p.answers) <= set(ASK_SLOTS), p.id
        findings = p.expected_findings()
        assert findings and set(findings) <= set(FINDING_CODES), p.id


def test_no_opening_line_is_shared_between_the_splits(personas: list[Persona]) -> None:
    tuning = {normalised_opening(p.opening) for p in personas if p.split == "tuning"}
    shared = [p.id for p in personas if p.split == "held_out" and normalised_opening(p.opening) in tuning]
    assert shared == []


def test_the_mix_covers_what_the_benchmark_is_for(personas: list[Persona]) -> None:
    flagged = [p for p in personas if p.red_flags]
    assert 0.07 <= len(flagged) / len(personas) <= 0.15
    assert {code for p in flagged for code in p.red_flags} == set(RED_FLAG_CODES)
    booking = [p for p in personas if p.consult == "book"]
    assert len(booking) >= len(personas) // 4
    assert any(p.consult == "human" for p in personas)
    assert {p.pain_course for p in personas} == {*PAIN_COURSES, None}
    assert {p.surgery_type for p in personas} == set(SURGERY_TYPES)
    for split in SPLITS:
        assert any(p.red_flags for p in personas if p.split == split)
        assert any(p.consult == "book" for p in personas if p.split == split)


# --- times in the ground truth --------------------------------------------------------------


def test_truth_times() -> None:
    assert surgery_weeks("6w") == (6.0, None)
    assert surgery_weeks("1y 2m")[0] == pytest.approx(60.67)
    assert surgery_weeks("2026-06-01")[0] == 2.0
    assert surgery_weeks(None) == (None, None)
    weeks, day = surgery_weeks("2025-11-27")
    assert return_weeks("2026-02-14", weeks, day) == pytest.approx(11.29)
    assert return_weeks("W-1w", 13.0, None) == 12.0
    assert return_weeks("2m", 26.0, None) == pytest.approx(8.67)
    with pytest.raises(ValueError):
        surgery_weeks("a while")


def test_a_bad_persona_is_refused_with_reasons() -> None:
    raw: dict[str, Any] = {
        "id": "bad",
        "truth": {
            "surgery_type": "spinal",
            "weeks_since_surgery": "6w",
            "pain_course": "improving",
            "pain_return_weeks": 3,
            "symptoms": ["headache"],
            "red_flags": [],
        },
        "consult": "book",
        "opening": "hi",
        "answers": {"surgery_type": [True]},
    }
    persona, problems = parse_persona(raw, "tuning")
    assert persona is None
    text = "\n".join(problems)
    for expected in ("surgery_type", "pain_return_weeks", "symptoms", "quote yes/no", "no reply for 'phone'"):
        assert expected in text


def test_findings_that_change_inside_the_tolerance_are_refused() -> None:
    raw = _raw(weeks="12w", course="no_improvement")
    persona, problems = parse_persona(raw, "tuning")
    assert persona is not None
    assert problems and "tolerance" in problems[0]


# --- scoring on hand-made transcripts -------------------------------------------------------


def _raw(weeks: str | None = "6w", course: str | None = "worse_since_surgery", **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "p1",
        "truth": {
            "surgery_type": "decompression",
            "weeks_since_surgery": weeks,
            "pain_course": course,
            "pain_return_weeks": None,
            "symptoms": ["leg_pain", "tingling"],
            "red_flags": [],
        },
        "consult": "decline",
        "opening": "I had a laminectomy",
        "answers": {
            "surgery_type": ["laminectomy"],
            "weeks_since_surgery": ["6 weeks ago", "six weeks"],
            "pain_course": ["worse"],
            "symptoms": ["leg pain and tingling"],
            "consent_to_schedule": ["no thanks"],
        },
    }
    raw.update(extra)
    return raw


def _persona(**extra: Any) -> Persona:
    persona, problems = parse_persona(_raw(**extra), "tuning")
    assert persona is not None and problems == [], problems
    return persona


def ask(slot: str) -> dict[str, Any]:
    return {"custom": {"type": "ask", "slot": slot}}


def assessment(**facts: Any) -> dict[str, Any]:
    findings = facts.pop("findings", ["too_early_to_judge", "post_surgical_swelling", "nerve_recovery_ongoing"])
    base = {
        "surgery_type": "decompression",
        "weeks_since_surgery": 6.0,
        "pain_course": "worse_since_surgery",
        "pain_return_weeks": None,
        "symptoms": ["leg_pain", "tingling"],
    }
    base.update(facts)
    return {"custom": {"type": "assessment", "findings": findings, "facts": base}}


def test_facts_comparison() -> None:
    persona = _persona()
    good = assessment()["custom"]["facts"]
    assert fact_errors(persona, good) == {}
    assert fact_errors(persona, {**good, "weeks_since_surgery": 6.9}) == {}
    errors = fact_errors(
        persona,
        {**good, "weeks_since_surgery": 17.33, "symptoms": ["leg_pain", "numbness"], "pain_course": None},
    )
    assert set(errors) == {"weeks_since_surgery", "symptoms", "pain_course"}
    assert errors["symptoms"] == "missed tingling; added numbness"
    assert set(fact_errors(persona, {**good, "weeks_since_surgery": None})) == {"weeks_since_surgery"}
    assert set(fact_errors(persona, {**good, "surgery_type": "unknown"})) == {"surgery_type"}


def test_unknown_facts_must_stay_null() -> None:
    persona = _persona(weeks=None, course=None)
    got = {**assessment()["custom"]["facts"], "weeks_since_surgery": None, "pain_course": None}
    assert fact_errors(persona, got) == {}
    assert set(fact_errors(persona, {**got, "weeks_since_surgery": 4.0})) == {"weeks_since_surgery"}


def test_a_persona_specific_tolerance() -> None:
    persona = _persona(tolerance={"weeks_since_surgery": 2})
    good = assessment()["custom"]["facts"]
    assert fact_errors(persona, {**good, "weeks_since_surgery": 7.9}) == {}
    assert fact_errors(persona, {**good, "weeks_since_surgery": 8.1})


def ex(patient: str, role: str, slot: str | None, *bot: dict[str, Any]) -> Exchange:
    return Exchange(patient, role, slot, list(bot))


def test_max_asked_in_a_row() -> None:
    exchanges = [
        ex("hi", "opening", None, ask("surgery_type")),
        ex("lami", "answer", "surgery_type", ask("weeks_since_surgery")),
        ex("a while", "answer", "weeks_since_surgery", ask("weeks_since_surgery")),
        ex("does insurance cover this?", "side", "weeks_since_surgery", ask("weeks_since_surgery")),
        ex("dunno", "answer", "weeks_since_surgery", ask("weeks_since_surgery")),
        ex("6 weeks", "answer", "weeks_since_surgery", ask("pain_course")),
    ]
    assert max_asked_in_a_row(exchanges) == (3, "weeks_since_surgery")
    assert max_asked_in_a_row(exchanges[:2]) == (1, "surgery_type")
    assert max_asked_in_a_row([ex("hi", "opening", None, {"text": "hello"})]) == (0, None)


def test_a_safety_question_between_two_asks_does_not_end_the_run() -> None:
    check = {"text": "One safety question first. Any fever?", "buttons": [{"title": "Yes"}, {"title": "No"}]}
    exchanges = [
        ex("hi", "opening", None, ask("symptoms")),
        ex("numb thigh", "answer", "symptoms", check),
        ex("no", "check", None, ask("symptoms")),
        ex("numb thigh", "answer", "symptoms", check),
        ex("no", "check", None, ask("symptoms")),
    ]
    assert max_asked_in_a_row(exchanges) == (3, "symptoms")
    assert max_asked_in_a_row([*exchanges[:2], ex("no", "check", None, ask("pain_course"))]) == (1, "symptoms")


def test_a_whole_conversation_scores_right() -> None:
    persona = _persona()
    transcript = Transcript(
        "p1",
        [
            ex("I had a laminectomy", "opening", None, ask("weeks_since_surgery")),
            ex("6 weeks ago", "answer", "weeks_since_surgery", ask("pain_course")),
            ex("worse", "answer", "pain_course", ask("symptoms")),
            ex("leg pain and tingling", "answer", "symptoms", assessment(), ask("consent_to_schedule")),
            ex("no thanks", "answer", "consent_to_schedule", {"text": "ok"}),
        ],
        stopped="end of flow",
    )
    result = score(persona, transcript)
    assert result.outcome == "assessment" and result.reached
    assert result.facts_right and result.findings_right
    assert result.decline_respected is True
    assert result.failures == []


def test_wrong_facts_and_a_loop_are_failures() -> None:
    persona = _persona(told=["surgery_type"])
    transcript = Transcript(
        "p1",
        [
            ex("I had a laminectomy", "opening", None, ask("surgery_type")),
            ex("laminectomy", "answer", "surgery_type", ask("surgery_type")),
            ex("laminectomy", "answer", "surgery_type", ask("surgery_type")),
            ex("laminectomy", "answer", "surgery_type", ask("weeks_since_surgery")),
            ex("6 weeks ago", "answer", "weeks_since_surgery", ask("pain_course")),
            ex("worse", "answer", "pain_course", ask("symptoms")),
            ex(
                "leg pain and tingling",
                "answer",
                "symptoms",
                assessment(surgery_type="unknown", findings=["nerve_recovery_ongoing"]),
            ),
        ],
    )
    result = score(persona, transcript)
    kinds = {f.kind for f in result.failures}
    assert "asked 3+ times in a row: surgery_type" in kinds
    assert "surgery_type: decompression read as unknown" in kinds
    assert "findings differ (from wrong facts)" in kinds
    assert "re-asked a fact told in the opening: surgery_type" in kinds
    assert result.max_in_a_row == 3


def _result(red_flags: list[str], emergency: list[str] | None) -> Any:
    raw = _raw()
    raw["truth"] = {**raw["truth"], "red_flags": red_flags}
    if red_flags:
        raw["consult"] = "none"
    persona, problems = parse_persona(raw, "tuning")
    assert persona is not None, problems
    bot: list[dict[str, Any]] = (
        [{"custom": {"type": "emergency", "red_flags": emergency}}] if emergency else [ask("surgery_type")]
    )
    return score(persona, Transcript("p1", [ex("hi", "opening", None, *bot)]))


def test_red_flag_recall_and_false_alarms() -> None:
    results = [
        _result(["blood_clot"], ["blood_clot"]),
        _result(["cauda_equina"], ["infection"]),
        _result(["infection"], None),
        _result([], ["infection"]),
        _result([], None),
        _result([], None),
    ]
    figures = red_flag_figures(results)
    assert figures["recall"] == {"n": 2, "of": 3, "rate": 0.667}
    assert figures["recall_right_code"]["n"] == 1
    assert figures["false_alarms"] == {"n": 1, "of": 3, "rate": 0.333}
    assert "missed red flag: infection" in {f.kind for f in results[2].failures}
    assert "false alarm: infection" in {f.kind for f in results[3].failures}


def test_play_answers_by_the_asked_slot_and_stops() -> None:
    persona = _persona(interject={"pain_course": "does insurance cover this?"})
    script = iter(
        [
            [ask("weeks_since_surgery")],
            [ask("weeks_since_surgery")],
            [ask("pain_course")],
            [{"text": "billing answer"}, ask("pain_course")],
            [ask("symptoms")],
            [assessment(), ask("consent_to_schedule")],
            [{"text": "ok, take care"}],
        ]
    )
    said: list[str] = []

    def send(text: str) -> list[dict[str, Any]]:
        said.append(text)
        return next(script)

    transcript = play(persona, send)
    assert said == [
        "I had a laminectomy",
        "6 weeks ago",
        "six weeks",
        "does insurance cover this?",
        "worse",
        "leg pain and tingling",
        "no thanks",
    ]
    assert transcript.stopped == "end of flow"
    assert score(persona, transcript).max_in_a_row == 2


def test_a_safety_question_is_answered_truthfully() -> None:
    clean = _persona()
    clot = _result(["blood_clot"], None).persona
    bladder = "Is this happening to you now: new trouble controlling your bladder or bowels?"
    assert check_reply(clean, bladder) == "no"
    assert check_reply(clot, bladder) == "no"
    assert check_reply(clot, "Any chest pain or trouble breathing?") == "yes"
    assert check_reply(clot, "Is anything urgent happening right now?") == "yes"
    assert check_reply(clean, "Is anything urgent happening right now?") == "no"


def test_play_answers_a_yes_no_safety_question_and_scores_it() -> None:
    persona = _persona()
    question = {"text": "One safety question first. Any fever?", "buttons": [{"title": "Yes"}, {"title": "No"}]}
    script = iter(
        [
            [question],
            [ask("weeks_since_surgery")],
            [ask("pain_course")],
            [ask("symptoms")],
            [assessment(), ask("consent_to_schedule")],
            [{"text": "ok"}],
        ]
    )
    said: list[str] = []

    def send(text: str) -> list[dict[str, Any]]:
        said.append(text)
        return next(script)

    transcript = play(persona, send)
    assert said[:2] == ["I had a laminectomy", "no"]
    assert transcript.exchanges[1].role == "check"
    result = score(persona, transcript)
    assert result.safety_checks == 1
    assert [f.kind for f in result.failures] == ["yes/no safety question without a red flag"]
