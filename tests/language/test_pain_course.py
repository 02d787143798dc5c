"""find_pain_courses against the labelled pain-course corpus, plus a few contract checks."""

from __future__ import annotations

import pytest

from bot.language.pain_course import PAIN_COURSE_CODES, find_pain_courses, find_return_hints
from tests.language.corpus_check import CorpusItem, check_item, load_corpus

CORPUS = load_corpus("pain_course")


@pytest.mark.parametrize("item", CORPUS, ids=[i.id for i in CORPUS])
def test_pain_course_corpus(item: CorpusItem) -> None:
    check_item(item, find_pain_courses)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 100


def test_corpus_codes_are_known() -> None:
    for item in CORPUS:
        assert item.codes | (item.denied or frozenset()) <= set(PAIN_COURSE_CODES), item.text


def test_not_really_getting_better_is_no_improvement() -> None:
    assert [(m.code, m.negated) for m in find_pain_courses("it's not really getting better")] == [
        ("no_improvement", False)
    ]


def test_denied_course_is_negated() -> None:
    assert [(m.code, m.negated) for m in find_pain_courses("I don't think it's worse")] == [
        ("worse_since_surgery", True)
    ]


@pytest.mark.parametrize(
    "text, hints",
    [
        ("it was fine at first", ["returned"]),
        ("felt great for a while", ["returned"]),
        ("it got better at first then came back", ["returned"]),
        ("the pain came back", ["returned"]),
        ("it got better, then the pain came back", ["returned"]),
        ("suddenly", ["sudden"]),
        ("pretty fast actually", ["sudden"]),
        ("little by little", ["gradual"]),
        ("slowly, over a few weeks", ["gradual"]),
        # a whole course says more, and other things coming back are not the pain
        ("it was fine at first, then it suddenly came back", []),
        ("it came back slowly", []),
        ("my numbness came back", []),
        ("my leg is fine", []),
        ("I had a fusion", []),
    ],
)
def test_return_hints(text: str, hints: list[str]) -> None:
    assert list(dict.fromkeys(m.code for m in find_return_hints(text) if not m.negated)) == hints
