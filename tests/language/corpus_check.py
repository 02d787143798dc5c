"""Labelled corpora for the lexicon finders, and the exact-set check applied to each item."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.language.types import Mention

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
Finder = Callable[[str], list[Mention]]


@dataclass(frozen=True)
class CorpusItem:
    """One labelled sentence: the codes it affirms, and (if given) the codes it only denies."""

    id: str
    text: str
    codes: frozenset[str]
    denied: frozenset[str] | None


def load_corpus(name: str) -> list[CorpusItem]:
    """Read ``corpus/<name>.yml`` (a list of ``text`` / ``codes`` / optional ``denied``)."""
    raw = yaml.safe_load((CORPUS_DIR / f"{name}.yml").read_text(encoding="utf-8"))
    items: list[CorpusItem] = []
    for index, entry in enumerate(raw, start=1):
        denied = entry.get("denied")
        items.append(
            CorpusItem(
                id=f"{name}-{index:03d}",
                text=str(entry["text"]),
                codes=frozenset(entry.get("codes") or []),
                denied=None if denied is None else frozenset(denied),
            )
        )
    return items


def affirmed_and_denied(mentions: list[Mention]) -> tuple[frozenset[str], frozenset[str]]:
    """Codes with an affirmed mention; codes mentioned only negated."""
    affirmed = frozenset(m.code for m in mentions if not m.negated)
    denied = frozenset(m.code for m in mentions if m.negated) - affirmed
    return affirmed, denied


def check_item(item: CorpusItem, finder: Finder) -> None:
    """Assert the finder returns exactly the item's codes (and denied codes, when labelled)."""
    mentions = finder(item.text)
    for m in mentions:
        assert item.text[m.start : m.end] == m.text, f"offsets of {m} do not match the text"
    affirmed, denied = affirmed_and_denied(mentions)
    found = [(m.code, m.text, m.negated) for m in mentions]
    assert affirmed == item.codes, f"{item.text!r}: expected {sorted(item.codes)}, got {found}"
    if item.denied is not None:
        assert denied == item.denied, f"{item.text!r}: expected denied {sorted(item.denied)}, got {found}"
