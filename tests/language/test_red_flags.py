"""find_red_flags against the labelled red-flag corpus, plus the safety rules."""

from __future__ import annotations

import pytest

from bot.language.red_flags import fever_temperatures, find_red_flags
from bot.vocabulary import RED_FLAG_CODES
from tests.language.corpus_check import CorpusItem, check_item, load_corpus

CORPUS = load_corpus("red_flags")


@pytest.mark.parametrize("item", CORPUS, ids=[i.id for i in CORPUS])
def test_red_flag_corpus(item: CorpusItem) -> None:
    check_item(item, find_red_flags)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 150
    must_not_fire = [item for item in CORPUS if not item.codes]
    assert len(must_not_fire) >= 50


def test_corpus_codes_are_known() -> None:
    for item in CORPUS:
        assert item.codes | (item.denied or frozenset()) <= set(RED_FLAG_CODES), item.text


@pytest.mark.parametrize(
    ("text", "fever"),
    [
        ("temp 101", True),
        ("38.5C", True),
        ("38 °C", True),
        ("temperature 100.4", True),
        ("101.2 F", True),
        ("102 degrees", True),
        ("temp is 98.6", False),
        ("99 degrees", False),
        ("temperature 100", False),
        ("37.9 C", False),
        ("surgery was 101 days ago", False),
        ("I'm 38", False),
    ],
)
def test_fever_threshold(text: str, fever: bool) -> None:
    assert bool(fever_temperatures(text)) is fever


def test_doubt_does_not_clear_a_flag() -> None:
    mentions = find_red_flags("not sure if I have a fever")
    assert [(m.code, m.negated) for m in mentions] == [("infection", False)]


def test_list_after_comma_needs_evidence() -> None:
    affirmed = {m.code for m in find_red_flags("no fever, calf swollen") if not m.negated}
    assert affirmed == {"blood_clot"}


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        # a distant past in the sign's own sentence, with a past verb, is over
        ("I had a blood clot in my leg years ago, before any of this.", set()),
        ("as a kid I had bladder trouble", set()),
        # ... unless the sign is current in its own clause, or the past comes back
        ("I had a clot years ago and now my calf is swollen and red", {"blood_clot"}),
        ("my calf is swollen, I had a clot years ago", {"blood_clot"}),
        ("years ago I had a blood clot, and it's happening again, my calf is swollen", {"blood_clot"}),
        # an inability to pass urine is the sign itself, not its denial
        ("haven't been able to pass urine since last night", {"cauda_equina"}),
        ("I can't pass water", {"cauda_equina"}),
    ],
)
def test_distant_past_and_inability(text: str, codes: set[str]) -> None:
    assert {m.code for m in find_red_flags(text) if not m.negated} == codes
