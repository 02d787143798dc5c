"""The generic negation / uncertainty scope detector."""

from __future__ import annotations

import pytest

from bot.language.negation import Polarity, assess, negated_spans, patient_parse


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


HI = Polarity.HISTORICAL


def historical_polarities(text: str, *words: str) -> list[Polarity]:
    return [a.polarity for a in assess(text, spans_of(text, *words), historical=True)]


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        # a past that is over
        ("I had a fever before the surgery but none since", ["fever"], [HI]),
        ("before surgery I had numbness, now it's just back pain", ["numbness", "back pain"], [HI, A]),
        ("years ago I had bladder trouble, nothing now", ["bladder trouble"], [HI]),
        ("had chills the first night after surgery in hospital, fine now", ["chills"], [HI]),
        ("I had a fever yesterday but it went away", ["fever"], [N]),  # "it went away" denies it already
        ("I had a fever 2 years ago. None since.", ["fever"], [HI]),
        # current or recent: stays affirmed
        ("I had a fever last night", ["fever"], [A]),
        ("I had a fever last night, fine now", ["fever"], [A]),
        ("I've had a fever since yesterday", ["fever"], [A]),
        ("fever started after the surgery", ["fever"], [A]),
        ("numbness since before the surgery", ["numbness"], [A]),
        ("worse numbness than before the surgery", ["numbness"], [A]),
        ("before the surgery I had numbness and I still do", ["numbness"], [A]),
        ("I had chills years ago, none since, but they came back today", ["chills"], [A]),
        ("I had a fever and chills, the chills are gone now", ["fever", "the chills"], [A, N]),
        ("my calf is swollen, I had a clot years ago, it's gone", ["calf is swollen", "clot"], [A, HI]),
        # denial and doubt keep their own polarity
        ("not sure if I had a fever before the surgery", ["fever"], [U]),
        ("no fever before the surgery", ["fever"], [N]),
    ],
)
def test_historical(text: str, words: list[str], expected: list[Polarity]) -> None:
    assert historical_polarities(text, *words) == expected


def test_historical_only_when_asked() -> None:
    text = "I had a fusion before the surgery I had in May"
    assert polarities(text, "fusion") == [A]
    assert polarities("before surgery I had numbness", "numbness") == [A]


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        ("what if I get a fever?", ["fever"], [H]),
        ("should I worry if my calf swells?", ["calf swells"], [H]),
        ("they told me to watch for chills", ["chills"], [H]),
        ("call 911 if you get chest pain", ["chest pain"], [H]),
        ("keep an eye out for foot drop", ["foot drop"], [H]),
        ("what are the chances of a blood clot", ["blood clot"], [H]),
        # a current marker makes the condition real
        ("what should I do if I already can't pee?", ["can't pee"], [A]),
        ("what do I do if my calf is swollen right now", ["calf is swollen"], [A]),
        # a question about something present is no condition
        ("What if this is a blood clot? my calf is red and swollen", ["blood clot", "calf is red"], [H, A]),
    ],
)
def test_conditions_questions_and_instructions(text: str, words: list[str], expected: list[Polarity]) -> None:
    assert polarities(text, *words) == expected


def test_a_starter_inside_a_concept_still_opens_a_clause() -> None:
    """ "a fever, the chills are gone": "gone" denies the chills only."""
    text = "I have a fever, the chills are gone"
    assert polarities(text, "fever", "the chills") == [A, N]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("she says her leg burns", ["i", "says", "my", "leg", "burns"]),
        ("he wet himself", ["i", "wet", "myself"]),
        ("she's burning up", ["i", "'m", "burning", "up"]),
        ("not sure what they did", ["not", "sure", "what", "they", "did"]),
    ],
)
def test_patient_parse_reads_a_caregiver_as_the_patient(text: str, expected: list[str]) -> None:
    parsed = patient_parse(text)
    assert [t.lower_ for t in parsed.doc] == expected
    assert parsed.text == text
    assert parsed.char_span(0, len(parsed.doc)) == (0, len(text))


def test_an_answer_after_the_place_of_a_sign_denies_it() -> None:
    import datetime as dt

    from bot.language.entities import extract_entities

    found = extract_entities("Numbness in my feet? no", dt.date(2026, 6, 15))
    assert [(e["value"], e.get("role")) for e in found if e["entity"] == "symptom"] == [("numbness", "denied")]
