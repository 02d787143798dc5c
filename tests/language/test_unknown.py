"""``bot.language.unknown``: "I don't know" in any wording, and what is not it."""

from __future__ import annotations

import pytest

from bot.language.unknown import dont_know, find_dont_know, says_dont_know

SAYS_DONT_KNOW = [
    # the wordings of the brief
    "I don't know",
    "no clue what they did",
    "can't remember the date, a while back",
    "not sure when it came back",
    "dunno",
    "idk",
    "no idea",
    "beats me",
    "I forget",
    "can't recall",
    "hard to say",
    "not certain",
    "who knows",
    "haven't a clue",
    "no clue",
    "unsure",
    "don't remember",
    "I'm not sure",
    "?",
    "not a clue",
    "couldn't tell you",
    # more
    "i dont know",
    "I do not know what it was called",
    "Honestly I have no idea",
    "not really sure to be honest",
    "not 100% sure",
    "I can't be certain",
    "search me",
    "god knows",
    "your guess is as good as mine",
    "i've forgotten when exactly",
    "forgot the name of it",
    "it slipped my mind",
    "my mind went blank",
    "lost track of the weeks",
    "my memory is hazy",
    "I couldn't say",
    "hard to tell",
    "difficult to remember",
    "clueless",
    "I haven't got the foggiest",
    "not the slightest idea",
    "I wish I knew",
    "dno",
    "IDK!!",
    "I DONT REMEMBER",
    "cant remeber",  # a typo of a lexicon word, corrected before matching
    "??",
    " ? ",
]

NOT_DONT_KNOW = [
    "I know it was a fusion",
    "no numbness",
    "not better",
    "I'm sure it was in March",
    "pretty sure it was a laminectomy",
    "for sure the leg is worse",
    "I forgot my meds yesterday",
    "forgot to say, my foot is numb",
    "it's not that I don't know, it was a fusion",
    "the pain is not clear cut",
    "yes",
    "no",
    "not at all",
    "never had tingling",
    "6 weeks ago",
    "what do you mean?",
    "",
    "   ",
]


@pytest.mark.parametrize("text", SAYS_DONT_KNOW)
def test_says_dont_know(text: str) -> None:
    assert says_dont_know(text)
    assert dont_know(text)


@pytest.mark.parametrize("text", NOT_DONT_KNOW)
def test_does_not_say_dont_know(text: str) -> None:
    assert not says_dont_know(text)
    assert not dont_know(text)


def test_a_doubt_on_one_fact_next_to_a_plain_fact_is_not_a_dont_know_answer() -> None:
    text = "I don't know if it's burning but my leg is numb"
    assert says_dont_know(text)
    assert not dont_know(text)
    assert not dont_know("not sure whether it's tingling, though my foot is definitely weak")


def test_a_doubt_with_a_fact_still_counts() -> None:
    assert dont_know("not sure, maybe 6 weeks ago")
    assert dont_know("not sure if it was a fusion")  # no other fact: the doubt is the answer
    assert dont_know("I can't remember what they called it, they said they'd clean things up")


def test_cue_offsets_are_in_the_message_as_typed() -> None:
    text = "hmm idk tbh"
    [cue] = find_dont_know(text)
    assert text[cue.start : cue.end] == cue.text == "idk"
    [cue] = find_dont_know("well I cant remeber")
    assert cue.text == "cant remeber"
