"""``bot.language.normalise``: SMS shorthand, spelling, capitals, and the way back to the
original offsets; the guards (no red flag invented, no negation flipped, real words kept)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.language import normalise as normalise_module
from bot.language.entities import extract_entities
from bot.language.normalise import Edit, Normalised, correct_word, find_normalised, normalise
from bot.language.pain_course import find_pain_courses
from bot.language.procedures import find_procedures
from bot.language.red_flags import find_red_flags
from bot.language.symptoms import find_symptoms
from tests.language.corpus_check import Finder, check_item, load_corpus

TODAY = date(2026, 6, 15)


def rewritten(text: str) -> str:
    return normalise(text).text


# --- shorthand ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("had surg 3 wks ago", "had surgery 3 weeks ago"),
        ("2 mos ago", "2 months ago"),
        ("about 4 mths", "about 4 months"),
        ("1 yr ago", "1 year ago"),
        ("2 yrs ago", "2 years ago"),
        ("a wk ago", "a week ago"),
        ("3 wk ago", "3 weeks ago"),
        ("2 mo post op", "2 months post op"),
        ("last yr", "last year"),
        ("b4 the op", "before the op"),
        ("numb n tingly", "numb and tingly"),
        ("1 yr n 2 mos ago", "1 year and 2 months ago"),
        ("my feet r numb", "my feet are numb"),
        ("my r leg hurts", "my right leg hurts"),
        ("l foot is numb", "left foot is numb"),
        ("did u get my msg", "did you get my msg"),
        ("ur nurse called", "your nurse called"),
        ("it hurts bc of the screws", "it hurts because of the screws"),
        ("it hurts cuz of the screws", "it hurts because of the screws"),
        ("numb w/ tingling", "numb with tingling"),
        ("numb w/tingling", "numb with tingling"),
        ("w/o any fever", "without any fever"),
        ("idk", "I don't know"),
        ("dunno what they did", "I don't know what they did"),
        ("prob 6 weeks", "probably 6 weeks"),
        ("rly bad", "really bad"),
        ("better tho", "better though"),
        ("worse 2day", "worse today"),
        ("smth is wrong", "something is wrong"),
        ("thx", "thanks"),
        ("pls call", "please call"),
        ("ppl say", "people say"),
        ("lft leg", "left leg"),
        ("rt leg", "right leg"),
        ("Surg was in may", "Surgery was in may"),
        ("ngl it burns", "honestly it burns"),
        ("came back l8r", "came back later"),
        ("54 yo", "54 years old"),
    ],
)
def test_shorthand_is_written_out(text: str, expected: str) -> None:
    assert rewritten(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "my problem is the pain",  # "prob" only as a whole word
        "no prob",  # "prob" here is "problem"
        "my mom drove me",  # "mo" inside a word
        "numbness? n",  # "n" answering the question, not "and"
        "n",
        "6wks ago",  # glued forms are read by time_expressions.py itself
        "the op was fine",  # "op" stays
        "PT twice a week",
        "a bout of sciatica",  # "bout" as a noun
        "L4-5 u/s",  # never inside a token with a slash
    ],
)
def test_shorthand_leaves_other_words_alone(text: str) -> None:
    assert normalise(text).edits == () or all(e.kind != "shorthand" for e in normalise(text).edits)


def test_shorthand_never_writes_a_negation_that_was_not_there() -> None:
    assert "not" not in rewritten("ngl my leg is numb").split()
    [mention] = find_normalised(find_symptoms, "ngl my leg is numb")
    assert mention.code == "numbness" and not mention.negated


# --- spelling ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("febuary", "february"),
        ("feburary", "february"),
        ("septembre", "september"),
        ("surgry", "surgery"),
        ("surgey", "surgery"),
        ("munths", "months"),
        ("nubmness", "numbness"),
        ("numbnness", "numbness"),
        ("tingiling", "tingling"),
        ("wekness", "weakness"),
        ("weaknesss", "weakness"),
        ("stingng", "stinging"),
        ("sciatca", "sciatica"),
        ("operatoin", "operation"),
        ("laminectomyy", "laminectomy"),
        ("discectomyy", "discectomy"),
    ],
)
def test_misspelt_lexicon_words_are_corrected(typed: str, meant: str) -> None:
    assert correct_word(typed) == meant


def test_lexicon_spellings_and_short_words_are_left_alone() -> None:
    # these misspellings are in the lexicons already: they are known words
    for word in ("siatica", "numbess", "tingeling", "laminectomey", "fussion"):
        assert correct_word(word) is None
    # shorter than five letters: too risky to guess
    assert correct_word("numb") is None
    assert correct_word("nmb") is None


@pytest.mark.parametrize(
    "word",
    [
        # ordinary English words next to a vocabulary word
        "acting",  # aching
        "mouths",  # months
        "singing",  # stinging
        "tangled",  # tingled
        "numbers",  # numbness
        "weariness",  # weakness
        "hunting",  # hurting
        "match",  # march
        "marsh",
        "yearn",
        # words next to a red flag: fever, chest, chills, bowel, breath, calf, groin, saddle, pus
        "fewer",
        "never",
        "chess",
        "chess",
        "chilly",
        "chilli",
        "bowls",
        "breathe",
        "calm",
        "grown",
        "groan",
        "saddled",
        "puss",
    ],
)
def test_real_words_are_never_corrected(word: str) -> None:
    assert correct_word(word) is None


@pytest.mark.parametrize(
    "word",
    ["fevr", "feaver", "feverr", "chils", "chillls", "bladdr", "bowl", "bowell", "groan", "grion",
     "sadle", "saddel", "chets", "chestt", "breth", "breaht", "caff", "calff", "swolen", "swellling",
     "incission", "drainig", "clotts"],
)  # fmt: skip
def test_fuzzy_matching_never_writes_a_red_flag_word(word: str) -> None:
    red_flag_words = normalise_module.lexicon_words("red_flags") - set(
        normalise_module.load_yaml("spelling")["red_flag_words_allowed"]
    )
    assert correct_word(word) not in red_flag_words


@pytest.mark.parametrize(
    "text",
    [
        "I've had fewer good days since surgery",
        "played chess all afternoon and my back aches",
        "the chilly weather makes my back ache",
        "had a bowl of cereal, back is sore",
        "I can breathe fine, it's the leg",
        "saddled with this back pain for months",
        "grown used to the numbness",
        "feverish dreams lol, but no actual fever",
    ],
)
def test_no_red_flag_is_invented(text: str) -> None:
    typed = {m.code for m in find_red_flags(text) if not m.negated}
    normalised = {m.code for m in find_normalised(find_red_flags, text) if not m.negated}
    assert normalised <= typed
    assert {e["value"] for e in extract_entities(text, TODAY) if e["entity"] == "red_flag"} <= typed


@pytest.mark.parametrize(
    "word",
    ["no", "not", "never", "none", "nothing", "without", "denies", "cannot", "dont", "doesnt", "didnt", "isnt",
     "wasnt", "couldnt", "wouldnt", "shouldnt", "havent", "hasnt", "dosent", "doesn't", "nowhere", "neither",
     "nope", "knot", "note", "nothin", "witout", "withou", "denys", "nevr"],
)  # fmt: skip
def test_a_negation_is_never_corrected_into_or_out_of(word: str) -> None:
    negations = normalise_module._spelling().negations
    target = correct_word(word)
    assert target is None or (target not in negations and word not in negations)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("no numbnness", "numbness"),
        ("not any tingiling", "tingling"),
        ("never had wekness", "weakness"),
        ("without stingng", "stinging"),
        ("denies nubmness", "numbness"),
        ("I don't have tingiling", "tingling"),
        ("NO NUMBNNESS AT ALL", "numbness"),
    ],
)
def test_a_corrected_symptom_keeps_its_denial(text: str, code: str) -> None:
    mentions = find_normalised(find_symptoms, text)
    assert [m.code for m in mentions] == [code]
    assert mentions[0].negated
    assert ("symptom", code, "denied") in [
        (e["entity"], e["value"], e.get("role")) for e in extract_entities(text, TODAY)
    ]


def test_all_caps_words_are_folded_so_negations_are_read() -> None:
    assert rewritten("I DON'T HAVE NUMBNESS") == "I don't have numbness"
    [mention] = find_normalised(find_symptoms, "I DON'T HAVE NUMBNESS")
    assert mention.negated and mention.text == "NUMBNESS"


# --- offsets -------------------------------------------------------------------------------


def test_entity_offsets_point_at_what_the_patient_typed() -> None:
    text = "had a laminectomy 10 weks ago, now numbnness n tingiling in my rt leg"
    entities = extract_entities(text, TODAY)
    by_value = {e["value"]: text[e["start"] : e["end"]] for e in entities}
    assert by_value["decompression"] == "laminectomy"
    assert by_value[10.0] == "10 weks ago"
    assert by_value["numbness"] == "numbnness"
    assert by_value["tingling"] == "tingiling"
    assert [e["role"] for e in entities if e["entity"] == "time"] == ["surgery"]


def test_offsets_of_shorthand_cover_the_short_form() -> None:
    text = "surg was 3 mos ago"
    [time] = [e for e in extract_entities(text, TODAY) if e["entity"] == "time"]
    assert text[time["start"] : time["end"]] == "3 mos ago"
    assert time["value"] == 13.0 and time["role"] == "surgery"


def test_find_normalised_maps_mention_text_back() -> None:
    text = "my rt leg has wekness & stingng"
    mentions = find_normalised(find_symptoms, text)
    assert {(m.code, m.text) for m in mentions} >= {("weakness", "wekness"), ("stinging", "stingng")}
    for m in mentions:
        assert text[m.start : m.end] == m.text


def test_to_original_inside_around_and_between_edits() -> None:
    n = normalise("a wk n 2 mos")
    assert n.text == "a week and 2 months"
    assert n.to_original(0, 1) == (0, 1)  # "a", before any edit
    assert n.to_original(2, 6) == (2, 4)  # "week" -> "wk"
    assert n.to_original(3, 5) == (2, 4)  # inside a replacement: the whole short form
    assert n.to_original(7, 10) == (5, 6)  # "and" -> "n"
    assert n.to_original(11, 12) == (7, 8)  # "2", between edits
    assert n.to_original(0, len(n.text)) == (0, len(n.original))
    assert n.to_original(6, 6) == (4, 4)
    assert n.original_text(2, 19) == "wk n 2 mos"


def test_build_checks_and_orders_edits() -> None:
    n = Normalised.build("b c a", [Edit(4, 5, "a", "A!", "shorthand"), Edit(0, 1, "b", "B", "shorthand")])
    assert n.text == "B c A!"
    assert n.to_original(4, 6) == (4, 5)
    with pytest.raises(ValueError):
        Normalised.build("abc", [], base="ab")


def test_unchanged_text_is_returned_as_is() -> None:
    n = normalise("my leg is numb")
    assert not n.changed and n.text == n.original and n.to_original(3, 6) == (3, 6)


# --- cost ----------------------------------------------------------------------------------


def test_normalise_is_cached_and_idempotent() -> None:
    text = "had surg 3 wks ago, numbnness in my rt foot"
    assert normalise(text) is normalise(text)
    once = normalise(text).text
    assert normalise(once).text == once
    assert normalise_module._spelling() is normalise_module._spelling()  # the vocabulary is built once


# --- every labelled corpus still reads the same through normalisation -----------------------


FINDERS: dict[str, Finder] = {
    "symptoms": find_symptoms,
    "procedures": find_procedures,
    "pain_course": find_pain_courses,
    "red_flags": find_red_flags,
}


@pytest.mark.parametrize("name", list(FINDERS))
def test_normalisation_keeps_every_corpus_item(name: str) -> None:
    finder = FINDERS[name]
    for item in load_corpus(name):
        check_item(item, lambda text: find_normalised(finder, text))


# --- whole messages in patient styles (tuning sentences; the held-out ones live elsewhere) ----


def facts(text: str) -> set[tuple[str, object, object]]:
    return {(e["entity"], e["value"], e.get("role")) for e in extract_entities(text, TODAY)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "lami was 7 wks ago n my lft foot is numb",
            {("surgery_type", "decompression", None), ("time", 7.0, "surgery"), ("symptom", "numbness", None)},
        ),
        (
            "fusion l4 l5 abt 5 mos ago, rt leg burns w/ tingling",
            {("surgery_type", "fusion", None), ("time", 21.67, "surgery"), ("symptom", "burning", None),
             ("symptom", "leg_pain", None), ("symptom", "tingling", None)},
        ),
        (
            "MY BACK SURGERY WAS 3 WEEKS AGO AND I DON'T HAVE ANY TINGLING",
            {("time", 3.0, "surgery"), ("symptom", "tingling", "denied")},
        ),
        ("PAIN IS WORSE SINCE THE SURGERY, NO FEVER", {("pain_course", "worse_since_surgery", None)}),
        (
            "had a microdiscetomy in decemeber",
            {("surgery_type", "decompression", None), ("time", 25.86, "surgery")},
        ),
        ("the weekness in my leg started last wendsday", {("time", 0.71, "onset"), ("symptom", "weakness", None)}),
        (
            "I have been getting burning for about 2 mnths, surg was 10 months ago",
            {("time", 8.67, "onset"), ("time", 43.33, "surgery"), ("symptom", "burning", None)},
        ),
        (
            "no numbnes no weaknes no tingiling",
            {("symptom", "numbness", "denied"), ("symptom", "weakness", "denied"), ("symptom", "tingling", "denied")},
        ),
        ("my toes have been tingly for a cpl weeks", {("time", 2.0, "onset"), ("symptom", "tingling", None)}),
        ("had an epidural 3 wks ago but surgery was in jan", {("time", 3.0, "other"), ("time", 21.43, "surgery")}),
    ],
)  # fmt: skip
def test_whole_messages(text: str, expected: set[tuple[str, object, object]]) -> None:
    assert facts(text) == expected
