"""The patient-facing explanation of an assessment."""

from __future__ import annotations

import re

from bot.clinical.engine import Facts, assess
from bot.clinical.explain import explain

MANY = assess(
    Facts("decompression", 8, "worse_since_surgery", None, frozenset({"numbness"}))
)
ONE = assess(Facts("fusion", 20))
NONE = assess(Facts())


def test_lead_in_then_each_finding_in_order() -> None:
    text = explain(MANY)
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith("Thank you.")
    assert "can't diagnose" in paragraphs[0]
    assert "which of these applies" in paragraphs[0]
    assert paragraphs[1:] == ["• " + f.says for f in MANY.findings]
    assert [f.code for f in MANY.findings] == [
        "too_early_to_judge",
        "post_surgical_swelling",
        "nerve_recovery_ongoing",
    ]


def test_a_single_finding_reads_naturally() -> None:
    text = explain(ONE)
    assert "whether this applies to you" in text
    assert text.endswith("• " + ONE.findings[0].says)


def test_no_specific_pattern_has_its_own_lead_in() -> None:
    text = explain(NONE)
    assert "which of these" not in text and "whether this applies" not in text
    assert "can't diagnose" in text
    assert NONE.findings[0].says in text


def test_sms_is_shorter_and_uses_the_short_texts() -> None:
    for assessment in (MANY, ONE, NONE):
        long, short = explain(assessment), explain(assessment, sms=True)
        assert len(short) < len(long)
        assert "can't diagnose" in short
        # One message per paragraph: each finding is its own (short) text message.
        assert short.split("\n\n")[1:] == ["• " + f.sms for f in assessment.findings]


def test_no_booking_offer_and_no_diagnosis() -> None:
    for assessment in (MANY, ONE, NONE):
        for text in (explain(assessment), explain(assessment, sms=True)):
            assert not re.search(
                r"\b(schedul\w*|book\w*|appointment)\b", text, re.IGNORECASE
            )
            assert "you have" not in text.lower()
