"""Each finding of the clinical rules fires exactly when its condition holds, at exact boundaries."""

from __future__ import annotations

import itertools

import pytest

from bot.clinical.engine import (
    FINDING_CODES,
    PAIN_COURSES,
    Facts,
    assess,
)

DECOMP = "decompression"
FUSION = "fusion"
NO_IMPR = "no_improvement"
WORSE = "worse_since_surgery"
SUDDEN = "relief_then_sudden_return"
GRADUAL = "relief_then_gradual_return"
IMPROVING = "improving"


def facts(
    surgery: str | None = None,
    w: float | None = None,
    course: str | None = None,
    r: float | None = None,
    *symptoms: str,
) -> Facts:
    """Shorthand for a Facts record."""
    return Facts(surgery, w, course, r, frozenset(symptoms))


def codes(f: Facts) -> list[str]:
    """The finding codes for ``f`` with the shipped table."""
    return assess(f).codes()


# (facts, code, expected to fire)
CASES: list[tuple[str, Facts, str, bool]] = [
    # too_early_to_judge: decompression, W < 12, no_improvement | worse_since_surgery
    ("W 11.9 no improvement", facts(DECOMP, 11.9, NO_IMPR), "too_early_to_judge", True),
    ("W 0 worse", facts(DECOMP, 0, WORSE), "too_early_to_judge", True),
    ("W 12 is not < 12", facts(DECOMP, 12, NO_IMPR), "too_early_to_judge", False),
    ("W 13", facts(DECOMP, 13, WORSE), "too_early_to_judge", False),
    ("improving", facts(DECOMP, 6, IMPROVING), "too_early_to_judge", False),
    ("sudden return", facts(DECOMP, 6, SUDDEN), "too_early_to_judge", False),
    ("fusion", facts(FUSION, 6, NO_IMPR), "too_early_to_judge", False),
    ("surgery unknown", facts("unknown", 6, NO_IMPR), "too_early_to_judge", False),
    ("surgery None", facts(None, 6, NO_IMPR), "too_early_to_judge", False),
    ("W None", facts(DECOMP, None, NO_IMPR), "too_early_to_judge", False),
    ("course None", facts(DECOMP, 6, None), "too_early_to_judge", False),
    # post_surgical_swelling: decompression, W < 12, worse_since_surgery
    ("W 11.9 worse", facts(DECOMP, 11.9, WORSE), "post_surgical_swelling", True),
    (
        "no improvement is not worse",
        facts(DECOMP, 11.9, NO_IMPR),
        "post_surgical_swelling",
        False,
    ),
    ("W 12", facts(DECOMP, 12, WORSE), "post_surgical_swelling", False),
    ("fusion", facts(FUSION, 4, WORSE), "post_surgical_swelling", False),
    ("surgery unknown", facts("unknown", 4, WORSE), "post_surgical_swelling", False),
    ("W None", facts(DECOMP, None, WORSE), "post_surgical_swelling", False),
    # on_track: improving
    ("improving, nothing else known", facts(None, None, IMPROVING), "on_track", True),
    (
        "improving after fusion, 2 years",
        facts(FUSION, 104, IMPROVING),
        "on_track",
        True,
    ),
    ("no improvement", facts(DECOMP, 6, NO_IMPR), "on_track", False),
    ("course None", facts(DECOMP, 6, None), "on_track", False),
    # failed_decompression: decompression, W >= 12, no_improvement | worse_since_surgery
    ("W 12 no improvement", facts(DECOMP, 12, NO_IMPR), "failed_decompression", True),
    ("W 13 worse", facts(DECOMP, 13, WORSE), "failed_decompression", True),
    ("W 11.9", facts(DECOMP, 11.9, NO_IMPR), "failed_decompression", False),
    ("improving", facts(DECOMP, 13, IMPROVING), "failed_decompression", False),
    ("gradual return", facts(DECOMP, 13, GRADUAL), "failed_decompression", False),
    ("fusion", facts(FUSION, 13, NO_IMPR), "failed_decompression", False),
    ("surgery unknown", facts("unknown", 13, NO_IMPR), "failed_decompression", False),
    ("W None", facts(DECOMP, None, NO_IMPR), "failed_decompression", False),
    # recurrent_disc_herniation: decompression | unknown, relief_then_sudden_return
    ("decompression", facts(DECOMP, 10, SUDDEN, 9), "recurrent_disc_herniation", True),
    (
        "surgery 'unknown'",
        facts("unknown", 10, SUDDEN),
        "recurrent_disc_herniation",
        True,
    ),
    (
        "surgery None counts as unknown",
        facts(None, None, SUDDEN),
        "recurrent_disc_herniation",
        True,
    ),
    (
        "no time condition",
        facts(DECOMP, 200, SUDDEN),
        "recurrent_disc_herniation",
        True,
    ),
    ("fusion", facts(FUSION, 10, SUDDEN), "recurrent_disc_herniation", False),
    (
        "gradual return",
        facts(DECOMP, 10, GRADUAL, 8),
        "recurrent_disc_herniation",
        False,
    ),
    ("course None", facts(DECOMP, 10, None), "recurrent_disc_herniation", False),
    # epidural_fibrosis: gradual return and (6 <= R <= 12, or R unknown and burning | gnawing)
    ("R 5.9", facts(DECOMP, 20, GRADUAL, 5.9), "epidural_fibrosis", False),
    ("R 6", facts(DECOMP, 20, GRADUAL, 6), "epidural_fibrosis", True),
    ("R 12", facts(DECOMP, 20, GRADUAL, 12), "epidural_fibrosis", True),
    ("R 12.1", facts(DECOMP, 20, GRADUAL, 12.1), "epidural_fibrosis", False),
    ("R 8 after fusion", facts(FUSION, 20, GRADUAL, 8), "epidural_fibrosis", True),
    (
        "R 8, surgery unknown",
        facts("unknown", 20, GRADUAL, 8),
        "epidural_fibrosis",
        True,
    ),
    (
        "R 8, surgery None, W None",
        facts(None, None, GRADUAL, 8),
        "epidural_fibrosis",
        True,
    ),
    (
        "R None + burning",
        facts(DECOMP, 20, GRADUAL, None, "burning"),
        "epidural_fibrosis",
        True,
    ),
    (
        "R None + gnawing",
        facts(FUSION, 20, GRADUAL, None, "gnawing", "leg_pain"),
        "epidural_fibrosis",
        True,
    ),
    (
        "R None, no burning/gnawing",
        facts(DECOMP, 20, GRADUAL, None, "numbness", "stinging"),
        "epidural_fibrosis",
        False,
    ),
    (
        "R None, no symptoms",
        facts(DECOMP, 20, GRADUAL, None),
        "epidural_fibrosis",
        False,
    ),
    (
        "R 13 + burning: R known, out of range",
        facts(DECOMP, 20, GRADUAL, 13, "burning"),
        "epidural_fibrosis",
        False,
    ),
    (
        "R 4 + gnawing: R known, out of range",
        facts(DECOMP, 20, GRADUAL, 4, "gnawing"),
        "epidural_fibrosis",
        False,
    ),
    ("sudden return, R 8", facts(DECOMP, 20, SUDDEN, 8), "epidural_fibrosis", False),
    (
        "no course, R 8, burning",
        facts(DECOMP, 20, None, 8, "burning"),
        "epidural_fibrosis",
        False,
    ),
    # recurrent_stenosis: decompression, gradual return, W >= 12
    ("W 12", facts(DECOMP, 12, GRADUAL, 3), "recurrent_stenosis", True),
    ("W 11.9", facts(DECOMP, 11.9, GRADUAL, 3), "recurrent_stenosis", False),
    ("W None", facts(DECOMP, None, GRADUAL, 3), "recurrent_stenosis", False),
    ("fusion", facts(FUSION, 30, GRADUAL, 3), "recurrent_stenosis", False),
    ("surgery unknown", facts("unknown", 30, GRADUAL, 3), "recurrent_stenosis", False),
    ("sudden return", facts(DECOMP, 30, SUDDEN, 3), "recurrent_stenosis", False),
    # nerve_recovery_ongoing: numbness | tingling | weakness, W < 52
    (
        "numbness, W 51.9",
        facts(None, 51.9, None, None, "numbness"),
        "nerve_recovery_ongoing",
        True,
    ),
    (
        "tingling, W 0",
        facts(FUSION, 0, None, None, "tingling"),
        "nerve_recovery_ongoing",
        True,
    ),
    (
        "weakness, W 13",
        facts(DECOMP, 13, None, None, "weakness"),
        "nerve_recovery_ongoing",
        True,
    ),
    (
        "numbness, W 52",
        facts(None, 52, None, None, "numbness"),
        "nerve_recovery_ongoing",
        False,
    ),
    (
        "numbness, W None",
        facts(None, None, None, None, "numbness"),
        "nerve_recovery_ongoing",
        False,
    ),
    (
        "pain only",
        facts(None, 13, None, None, "leg_pain", "burning", "stinging"),
        "nerve_recovery_ongoing",
        False,
    ),
    # permanent_nerve_damage_possible: numbness | tingling | weakness, W >= 52
    (
        "weakness, W 52",
        facts(None, 52, None, None, "weakness"),
        "permanent_nerve_damage_possible",
        True,
    ),
    (
        "tingling, W 104",
        facts(DECOMP, 104, IMPROVING, None, "tingling"),
        "permanent_nerve_damage_possible",
        True,
    ),
    (
        "numbness, W 51.9",
        facts(None, 51.9, None, None, "numbness"),
        "permanent_nerve_damage_possible",
        False,
    ),
    (
        "numbness, W None",
        facts(None, None, None, None, "numbness"),
        "permanent_nerve_damage_possible",
        False,
    ),
    (
        "no nerve symptom",
        facts(None, 60, None, None, "back_pain"),
        "permanent_nerve_damage_possible",
        False,
    ),
    # fusion_still_healing: fusion, W < 52
    ("fusion W 51.9", facts(FUSION, 51.9), "fusion_still_healing", True),
    (
        "fusion W 0, improving",
        facts(FUSION, 0, IMPROVING),
        "fusion_still_healing",
        True,
    ),
    ("fusion W 52", facts(FUSION, 52), "fusion_still_healing", False),
    ("fusion W None", facts(FUSION, None, NO_IMPR), "fusion_still_healing", False),
    ("decompression", facts(DECOMP, 20), "fusion_still_healing", False),
    ("surgery unknown", facts("unknown", 20), "fusion_still_healing", False),
    # failed_fusion: fusion, W >= 52, no_improvement | worse_since_surgery
    ("W 52 no improvement", facts(FUSION, 52, NO_IMPR), "failed_fusion", True),
    ("W 80 worse", facts(FUSION, 80, WORSE), "failed_fusion", True),
    ("W 51.9", facts(FUSION, 51.9, NO_IMPR), "failed_fusion", False),
    ("improving", facts(FUSION, 60, IMPROVING), "failed_fusion", False),
    ("gradual return", facts(FUSION, 60, GRADUAL), "failed_fusion", False),
    ("decompression", facts(DECOMP, 60, NO_IMPR), "failed_fusion", False),
    ("surgery unknown", facts("unknown", 60, NO_IMPR), "failed_fusion", False),
    ("W None", facts(FUSION, None, NO_IMPR), "failed_fusion", False),
    # adjacent_segment_disease: fusion, W >= 52, relief_then_gradual_return | relief_then_sudden_return
    ("W 52 gradual", facts(FUSION, 52, GRADUAL, 40), "adjacent_segment_disease", True),
    ("W 60 sudden", facts(FUSION, 60, SUDDEN, 58), "adjacent_segment_disease", True),
    ("W 51.9", facts(FUSION, 51.9, GRADUAL, 40), "adjacent_segment_disease", False),
    ("no improvement", facts(FUSION, 60, NO_IMPR), "adjacent_segment_disease", False),
    (
        "decompression",
        facts(DECOMP, 60, GRADUAL, 40),
        "adjacent_segment_disease",
        False,
    ),
    (
        "surgery unknown",
        facts("unknown", 60, SUDDEN),
        "adjacent_segment_disease",
        False,
    ),
    ("W None", facts(FUSION, None, GRADUAL), "adjacent_segment_disease", False),
    # arachnoiditis: >= 3 of numbness tingling weakness stinging burning, one being stinging | burning
    (
        "3 with burning",
        facts(None, None, None, None, "numbness", "tingling", "burning"),
        "arachnoiditis",
        True,
    ),
    (
        "3 with stinging",
        facts(None, None, None, None, "weakness", "tingling", "stinging"),
        "arachnoiditis",
        True,
    ),
    (
        "stinging and burning + 1",
        facts(None, None, None, None, "stinging", "burning", "numbness"),
        "arachnoiditis",
        True,
    ),
    (
        "all five",
        facts(
            None,
            None,
            None,
            None,
            "numbness",
            "tingling",
            "weakness",
            "stinging",
            "burning",
        ),
        "arachnoiditis",
        True,
    ),
    (
        "3 without stinging/burning",
        facts(None, None, None, None, "numbness", "tingling", "weakness"),
        "arachnoiditis",
        False,
    ),
    (
        "2 with burning",
        facts(None, None, None, None, "numbness", "burning"),
        "arachnoiditis",
        False,
    ),
    (
        "stinging + burning only",
        facts(None, None, None, None, "stinging", "burning"),
        "arachnoiditis",
        False,
    ),
    (
        "gnawing, leg and back pain do not count",
        facts(None, None, None, None, "burning", "gnawing", "leg_pain", "back_pain"),
        "arachnoiditis",
        False,
    ),
    ("no symptoms", facts(DECOMP, 20, NO_IMPR), "arachnoiditis", False),
]


@pytest.mark.parametrize(
    ("facts_", "code", "fires"),
    [
        pytest.param(f, code, fires, id=f"{code}: {label}")
        for label, f, code, fires in CASES
    ],
)
def test_rule_fires_exactly_when_its_condition_holds(
    facts_: Facts, code: str, fires: bool
) -> None:
    assert (code in codes(facts_)) is fires


def test_every_code_has_firing_and_non_firing_cases() -> None:
    fired = {code for _, _, code, fires in CASES if fires}
    missed = {code for _, _, code, fires in CASES if not fires}
    specific = set(FINDING_CODES) - {"no_specific_pattern"}
    assert specific <= fired
    assert specific <= missed


@pytest.mark.parametrize(
    ("facts_", "expected"),
    [
        pytest.param(
            facts(DECOMP, 10, SUDDEN, 9, "leg_pain", "tingling"),
            ["recurrent_disc_herniation", "nerve_recovery_ongoing"],
            id="contract example",
        ),
        pytest.param(
            facts(DECOMP, 8, WORSE, None, "numbness", "leg_pain"),
            ["too_early_to_judge", "post_surgical_swelling", "nerve_recovery_ongoing"],
            id="early decompression, worse, numb",
        ),
        pytest.param(
            facts(DECOMP, 20, GRADUAL, 9, "burning", "numbness", "tingling"),
            [
                "epidural_fibrosis",
                "recurrent_stenosis",
                "nerve_recovery_ongoing",
                "arachnoiditis",
            ],
            id="gradual return after decompression",
        ),
        pytest.param(
            facts(FUSION, 60, GRADUAL, None, "burning", "numbness", "tingling"),
            [
                "epidural_fibrosis",
                "permanent_nerve_damage_possible",
                "adjacent_segment_disease",
                "arachnoiditis",
            ],
            id="fusion, over a year, gradual return",
        ),
        pytest.param(
            facts(FUSION, 20, IMPROVING, None, "weakness"),
            ["on_track", "nerve_recovery_ongoing", "fusion_still_healing"],
            id="improving fusion",
        ),
        pytest.param(
            facts(FUSION, 70, WORSE, None, "stinging", "weakness", "numbness"),
            ["permanent_nerve_damage_possible", "failed_fusion", "arachnoiditis"],
            id="failed fusion",
        ),
        pytest.param(facts(), ["no_specific_pattern"], id="nothing known"),
        pytest.param(
            facts(FUSION, 60, None),
            ["no_specific_pattern"],
            id="fusion over a year, course unknown",
        ),
        pytest.param(
            facts("unknown", 13, NO_IMPR),
            ["no_specific_pattern"],
            id="unknown surgery, not improving",
        ),
        pytest.param(
            facts(DECOMP, None, NO_IMPR, None, "leg_pain"),
            ["no_specific_pattern"],
            id="W unknown",
        ),
        pytest.param(
            facts(DECOMP, 20, GRADUAL, None, "leg_pain", "back_pain"),
            ["recurrent_stenosis"],
            id="R unknown without burning/gnawing",
        ),
    ],
)
def test_assessment_lists_every_finding_in_table_order(
    facts_: Facts, expected: list[str]
) -> None:
    assert codes(facts_) == expected


# ---------------------------------------------------------------------------------------------
# An independent transcription of the clinical-rules table, checked against the engine on a grid.


def _lt(x: float | None, bound: float) -> bool:
    return x is not None and x < bound


def _ge(x: float | None, bound: float) -> bool:
    return x is not None and x >= bound


def oracle(f: Facts) -> list[str]:
    """The clinical-rules table, written out by hand."""
    st = f.surgery_type or "unknown"
    w, c, r, s = f.weeks_since_surgery, f.pain_course, f.pain_return_weeks, f.symptoms
    not_better = c in (NO_IMPR, WORSE)
    nerve = bool(s & {"numbness", "tingling", "weakness"})
    out = []
    if st == DECOMP and _lt(w, 12) and not_better:
        out.append("too_early_to_judge")
    if st == DECOMP and _lt(w, 12) and c == WORSE:
        out.append("post_surgical_swelling")
    if c == IMPROVING:
        out.append("on_track")
    if st == DECOMP and _ge(w, 12) and not_better:
        out.append("failed_decompression")
    if st in (DECOMP, "unknown") and c == SUDDEN:
        out.append("recurrent_disc_herniation")
    if c == GRADUAL and (
        (r is not None and 6 <= r <= 12)
        or (r is None and bool(s & {"burning", "gnawing"}))
    ):
        out.append("epidural_fibrosis")
    if st == DECOMP and c == GRADUAL and _ge(w, 12):
        out.append("recurrent_stenosis")
    if nerve and _lt(w, 52):
        out.append("nerve_recovery_ongoing")
    if nerve and _ge(w, 52):
        out.append("permanent_nerve_damage_possible")
    if st == FUSION and _lt(w, 52):
        out.append("fusion_still_healing")
    if st == FUSION and _ge(w, 52) and not_better:
        out.append("failed_fusion")
    if st == FUSION and _ge(w, 52) and c in (GRADUAL, SUDDEN):
        out.append("adjacent_segment_disease")
    arach = s & {"numbness", "tingling", "weakness", "stinging", "burning"}
    if len(arach) >= 3 and arach & {"stinging", "burning"}:
        out.append("arachnoiditis")
    return out or ["no_specific_pattern"]


SYMPTOM_SETS: list[frozenset[str]] = [
    frozenset(),
    frozenset({"burning"}),
    frozenset({"gnawing", "leg_pain"}),
    frozenset({"numbness"}),
    frozenset({"numbness", "tingling", "burning"}),
    frozenset({"numbness", "tingling", "weakness"}),
    frozenset({"stinging", "weakness", "tingling"}),
    frozenset({"stinging", "burning"}),
    frozenset({"leg_pain", "back_pain"}),
    frozenset(
        {
            "leg_pain",
            "back_pain",
            "burning",
            "gnawing",
            "stinging",
            "numbness",
            "tingling",
            "weakness",
        }
    ),
]


def test_engine_agrees_with_the_table_on_a_grid_of_facts() -> None:
    grid = itertools.product(
        [None, "unknown", DECOMP, FUSION],
        [None, 0.0, 5.0, 11.9, 12.0, 13.0, 51.9, 52.0, 60.0],
        [None, *PAIN_COURSES],
        [None, 5.9, 6.0, 12.0, 12.1],
        SYMPTOM_SETS,
    )
    checked = 0
    for surgery, w, course, r, symptoms in grid:
        f = Facts(surgery, w, course, r, symptoms)
        assert codes(f) == oracle(f), f
        checked += 1
    assert checked == 4 * 9 * 6 * 5 * len(SYMPTOM_SETS)


def test_findings_are_always_in_table_order_and_fallback_is_exclusive() -> None:
    for surgery, w, course, symptoms in itertools.product(
        [None, DECOMP, FUSION],
        [None, 11.9, 12.0, 52.0],
        [None, *PAIN_COURSES],
        SYMPTOM_SETS,
    ):
        found = codes(Facts(surgery, w, course, 8.0, symptoms))
        assert found, "an assessment always has at least one finding"
        assert found == sorted(found, key=FINDING_CODES.index)
        assert len(set(found)) == len(found)
        if "no_specific_pattern" in found:
            assert found == ["no_specific_pattern"]


# ---------------------------------------------------------------------------------------------
# Reasons


def reasons(f: Facts, code: str) -> tuple[str, ...]:
    """The trace of ``code`` for ``f`` (which must fire)."""
    (result,) = [r for r in assess(f).findings if r.code == code]
    return result.reasons


def test_reasons_trace_each_condition_that_held() -> None:
    assert reasons(facts(DECOMP, 13, NO_IMPR), "failed_decompression") == (
        "surgery_type is decompression",
        "weeks_since_surgery 13.0 ≥ 12",
        "pain_course is no_improvement",
    )
    assert (
        reasons(facts(DECOMP, 11.9, WORSE), "too_early_to_judge")[1]
        == "weeks_since_surgery 11.9 < 12"
    )


def test_reasons_of_an_alternative_name_the_one_that_held() -> None:
    assert reasons(facts(FUSION, 20, GRADUAL, 8.6667), "epidural_fibrosis") == (
        "pain_course is relief_then_gradual_return",
        "pain_return_weeks 8.67 ≥ 6 and ≤ 12",
    )
    assert reasons(
        facts(FUSION, 20, GRADUAL, None, "gnawing"), "epidural_fibrosis"
    ) == (
        "pain_course is relief_then_gradual_return",
        "pain_return_weeks unknown",
        "symptoms include gnawing (any of burning, gnawing)",
    )


def test_reasons_show_an_unknown_surgery_type_as_unknown() -> None:
    assert reasons(facts(None, None, SUDDEN), "recurrent_disc_herniation") == (
        "surgery_type is unknown",
        "pain_course is relief_then_sudden_return",
    )


def test_reasons_of_the_symptom_count() -> None:
    assert reasons(
        facts(None, None, None, None, "tingling", "stinging", "weakness", "leg_pain"),
        "arachnoiditis",
    ) == (
        (
            "symptoms include 3 of numbness, tingling, weakness, stinging, burning (at least 3 needed): "
            "tingling, weakness, stinging"
        ),
        "symptoms include stinging (one of stinging, burning needed)",
    )


def test_fallback_reason() -> None:
    assert reasons(facts(), "no_specific_pattern") == ("no other finding holds",)
