"""find_procedures against the labelled procedure corpus, plus a few contract checks."""

from __future__ import annotations

import pytest

from bot.language.procedures import PROCEDURE_CODES, find_procedures
from tests.language.corpus_check import CorpusItem, check_item, load_corpus

CORPUS = load_corpus("procedures")


@pytest.mark.parametrize("item", CORPUS, ids=[i.id for i in CORPUS])
def test_procedure_corpus(item: CorpusItem) -> None:
    check_item(item, find_procedures)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 100


def test_corpus_codes_are_known() -> None:
    for item in CORPUS:
        assert item.codes | (item.denied or frozenset()) <= set(PROCEDURE_CODES), item.text


def test_laminectomy_with_fusion_gives_both_in_text_order() -> None:
    text = "Laminectomy with fusion at L4-5"
    assert [(m.code, m.text, m.negated) for m in find_procedures(text)] == [
        ("decompression", "Laminectomy", False),
        ("fusion", "fusion", False),
    ]


def test_doubted_procedure_adds_unknown() -> None:
    mentions = find_procedures("not sure if it was a fusion")
    assert {(m.code, m.negated) for m in mentions} == {("fusion", True), ("unknown", False)}
