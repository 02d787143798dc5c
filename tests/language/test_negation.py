"""The generic negation / uncertainty scope detector."""

from __future__ import annotations

import pytest

from bot.language.negation import Polarity, assess, negated_spans


def spans_of(text: str, *words: str) -> list[tuple[int, int]]:
    """Character spans of the first occurrence of each word."""
    out = []
    for word in words:
        start = text.index(word)
        out.append((start, start + len(word)))
    return out


def polarities(text: str, *words: str) -> list[Polarity]:
    return [a.polarity for a in assess(text, spans_of(text, *words))]


N, A, U, H = Polarity.NEGATED, Polarity.AFFIRMED, Polarity.UNCERTAIN, Polarity.HYPOTHETICAL


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        ("no numbness", ["numbness"], [N]),
        ("no numbness, tingling or weakness", ["numbness", "tingling", "weakness"], [N, N, N]),
        ("I don't have burning or stinging", ["burning", "stinging"], [N, N]),
        ("I dont have numbness", ["numbness"], [N]),
        ("never had a fever", ["fever"], [N]),
        ("it isn't burning", ["burning"], [N]),
        ("denies fever and chills", ["fever", "chills"], [N, N]),
        ("neither numbness nor tingling", ["numbness", "tingling"], [N, N]),
        ("free of pain", ["pain"], [N]),
        ("no more tingling", ["tingling"], [N]),
        ("I'm not numb anymore", ["numb"], [N]),
        ("I wouldn't say it's burning", ["burning"], [N]),
        ("not really burning", ["burning"], [N]),
        ("no numbness but my foot tingles", ["numbness", "tingles"], [N, A]),
        ("no burning, though it tingles", ["burning", "tingles"], [N, A]),
        ("no burning; the leg is weak", ["burning", "weak"], [N, A]),
        ("no fever, my calf is swollen", ["fever", "swollen"], [N, A]),
        ("no fever and my calf is swollen", ["fever", "swollen"], [N, A]),
        ("no fever, calf swollen", ["fever", "swollen"], [N, A]),
        ("no fever, chills, or sweats", ["fever", "chills", "sweats"], [N, N, N]),
        ("the numbness is gone", ["numbness"], [N]),
        ("burning has gone away", ["burning"], [N]),
        ("tingling went away", ["tingling"], [N]),
        ("numbness? no", ["numbness"], [N]),
        ("numbness?no", ["numbness"], [N]),
        ("fever - none", ["fever"], [N]),
        ("leg pain no, numbness yes", ["leg pain", "numbness"], [N, A]),
        ("the numbness never went away", ["numbness"], [A]),
        ("the burning is not gone", ["burning"], [A]),
        ("the pain went away and then came back", ["pain"], [A]),
        ("the burning never stops", ["burning"], [A]),
        ("nothing helps the burning", ["burning"], [A]),
        ("I can't walk without my leg burning", ["burning"], [A]),
        ("I can't pee", ["pee"], [A]),
        ("No my foot is numb", ["numb"], [A]),
        ("no numbness except in my big toe", ["numbness"], [A]),
        ("before surgery I had numbness, now I don't", ["numbness"], [N]),
        ("I used to have tingling", ["tingling"], [N]),
        ("I'm getting used to the burning", ["burning"], [A]),
        ("I'm not sure if it's burning", ["burning"], [U]),
        ("maybe a little numbness", ["numbness"], [U]),
        ("was it a fusion or not?", ["fusion"], [U]),
        ("if I get a fever should I call", ["fever"], [H]),
        ("they talked about a fusion", ["fusion"], [H]),
        ("I think it's burning", ["burning"], [A]),
        ("I have numbness", ["numbness"], [A]),
    ],
)
def test_polarity(text: str, words: list[str], expected: list[Polarity]) -> None:
    assert polarities(text, *words) == expected


def test_negated_spans_treats_doubt_as_negation_by_default() -> None:
    text = "not sure if it's burning, no tingling, numb foot"
    spans = spans_of(text, "burning", "tingling", "numb")
    assert negated_spans(text, spans) == [True, True, False]
    assert negated_spans(text, spans, doubt_is_negation=False) == [False, True, False]


def test_unmappable_span_is_affirmed() -> None:
    assert assess("no fever", [(3, 3)]) == [assess("fever", [(0, 5)])[0]]


def test_assessment_reports_the_cue() -> None:
    text = "I don't have numbness"
    (result,) = assess(text, spans_of(text, "numbness"))
    assert result.cue is not None
    assert text[result.cue[0] : result.cue[1]] == "don't"
