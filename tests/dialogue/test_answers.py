"""Yes/no in the patient's words; for a safety question, anything but a clear no is a yes."""

from __future__ import annotations

import pytest

from bot.dialogue.answers import safety_yes, yes_or_no


@pytest.mark.parametrize("text", ["y", "Yes", "yeah!", "yep", "sure", "Yes, please", "ok", "YES PLEASE"])
def test_yes(text: str) -> None:
    assert yes_or_no(text) is True


@pytest.mark.parametrize("text", ["n", "no", "Nope", "nah", "No, thanks", "not really", "it's not"])
def test_no(text: str) -> None:
    assert yes_or_no(text) is False


@pytest.mark.parametrize("text", ["I'm not sure", "my name is Maria", "2 weeks ago", ""])
def test_neither(text: str) -> None:
    assert yes_or_no(text) is None


def test_the_classifier_decides_longer_answers() -> None:
    assert yes_or_no("sounds great, let's do it", "affirm") is True
    assert yes_or_no("I'd rather not", "deny") is False


@pytest.mark.parametrize(
    ("text", "yes"),
    [("no", False), ("yes", True), ("maybe a little", True), ("I don't know", True), ("kind of", True)],
)
def test_a_safety_question_takes_doubt_as_yes(text: str, yes: bool) -> None:
    assert safety_yes(text) is yes


def test_a_yes_or_no_that_opens_a_longer_answer() -> None:
    from bot.dialogue.answers import leading_yes_or_no

    assert leading_yes_or_no("no, he'll call his surgeon") is False
    assert leading_yes_or_no("yes please - mornings are best") is True
    assert leading_yes_or_no("not sure, what does it cost?") is None
    assert leading_yes_or_no("no") is None  # a whole answer: yes_or_no reads it
    assert leading_yes_or_no("nothing helps, it's worse") is None
