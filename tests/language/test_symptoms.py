"""find_symptoms against the labelled symptom corpus, plus a few contract checks."""

from __future__ import annotations

import pytest

from bot.language.symptoms import SYMPTOM_CODES, body_part_pains, find_symptoms
from tests.language.corpus_check import CorpusItem, check_item, load_corpus

CORPUS = load_corpus("symptoms")


@pytest.mark.parametrize("item", CORPUS, ids=[i.id for i in CORPUS])
def test_symptom_corpus(item: CorpusItem) -> None:
    check_item(item, find_symptoms)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 300


def test_corpus_codes_are_known() -> None:
    for item in CORPUS:
        assert item.codes <= set(SYMPTOM_CODES), item.text
        assert (item.denied or frozenset()) <= set(SYMPTOM_CODES), item.text


def test_mentions_carry_offsets_and_text() -> None:
    text = "Since March: burning down my LEFT leg, no tingling."
    mentions = find_symptoms(text)
    assert [(m.code, m.negated) for m in mentions] == [
        ("burning", False),
        ("leg_pain", False),
        ("tingling", True),
    ]
    for m in mentions:
        assert text[m.start : m.end] == m.text


def test_empty_and_unrelated_text() -> None:
    assert find_symptoms("") == []
    assert find_symptoms("Can I move my appointment to Friday?") == []


def test_curly_apostrophes_and_glued_punctuation() -> None:
    assert [(m.code, m.negated) for m in find_symptoms("I can’t feel my toes")] == [("numbness", False)]
    assert [(m.code, m.negated) for m in find_symptoms("numbness?no")] == [("numbness", True)]


def test_finders_are_silent_and_compile_once(capsys: pytest.CaptureFixture[str]) -> None:
    """No output and no warnings from any finder; each lexicon is compiled once per process."""
    import warnings

    from bot.language import pain_course, procedures, red_flags, symptoms

    text = "Laminectomy in May, felt great then one morning the burning came back; no fever, temp 98.6"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for finder in (
            symptoms.find_symptoms,
            procedures.find_procedures,
            pain_course.find_pain_courses,
            red_flags.find_red_flags,
        ):
            finder(text)
    assert capsys.readouterr() == ("", "")
    assert symptoms._lexicon() is symptoms._lexicon()
    assert red_flags._lexicon() is red_flags._lexicon()


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("just my lower back", ["back_pain"]),
        ("mostly my lower back I'd say", ["back_pain"]),
        ("down my leg", ["leg_pain"]),
        ("back and legs", ["back_pain", "leg_pain"]),
        ("back", ["back_pain"]),
        ("BACK N LEGS", ["back_pain", "leg_pain"]),
        ("bam its back", []),
        ("my pain is back", []),
        ("it came right back", []),
        ("a while back", []),
        ("my back and my feet", ["back_pain", "leg_pain"]),
        ("it came back a while back", []),
        ("none", []),
    ],
)
def test_body_parts_named_in_answer_to_the_symptom_question(text: str, codes: list[str]) -> None:
    assert body_part_pains(text) == codes
