"""A floor for the held-out language corpus (``corpus/held_out_language.yml``, never tuned on).

Recorded when normalisation, time events and "I don't know" were added: 49 / 95 before,
93 / 95 after. ``python -m tests.language.held_out`` prints the score per class and the failures.
"""

from __future__ import annotations

from tests.language.held_out import score

FLOOR = 90  # of 95; a drop below it means a general rule broke: fix the rule, not the corpus


def test_held_out_score_stays_above_the_floor() -> None:
    results = score()
    passed = sum(r.passed for r in results)
    failures = [f"[{r.cls}] {r.text!r}: {'; '.join(r.problems)}" for r in results if not r.passed]
    assert len(results) == 95
    assert passed >= FLOOR, "\n".join(failures)


def test_guards_never_fail() -> None:
    """The guard items (no red flag invented, no denial flipped) must all hold."""
    failures = [r for r in score() if r.cls == "guard" and not r.passed]
    assert failures == []
