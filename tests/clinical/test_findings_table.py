"""The shipped findings table: complete, valid, readable, hedged, and traceable to the documents."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from bot.clinical.engine import (
    DEFAULT_FINDINGS_PATH,
    FINDING_CODES,
    Facts,
    FindingRule,
    FindingsError,
    assess,
    load_findings,
    parse_findings,
)

#: The codes of the clinical-rules table, in order (copied here on purpose: the spec is outside the repo).
CLINICAL_RULE_CODES = [
    "too_early_to_judge",
    "post_surgical_swelling",
    "on_track",
    "failed_decompression",
    "recurrent_disc_herniation",
    "epidural_fibrosis",
    "recurrent_stenosis",
    "nerve_recovery_ongoing",
    "permanent_nerve_damage_possible",
    "fusion_still_healing",
    "failed_fusion",
    "adjacent_segment_disease",
    "arachnoiditis",
    "no_specific_pattern",
]

RULES = load_findings()
RULE_IDS = [rule.code for rule in RULES]


def test_every_clinical_rule_code_is_in_the_table_in_order() -> None:
    assert [rule.code for rule in RULES] == CLINICAL_RULE_CODES
    assert list(FINDING_CODES) == CLINICAL_RULE_CODES


def test_loading_is_cached() -> None:
    assert load_findings() is load_findings()
    assert load_findings(DEFAULT_FINDINGS_PATH) is RULES


def test_only_no_specific_pattern_is_a_fallback() -> None:
    assert [rule.code for rule in RULES if rule.is_fallback] == ["no_specific_pattern"]


# ---------------------------------------------------------------------------------------------
# Patient-facing text

BANNED_JARGON = [
    "etiology",
    "aetiology",
    "pathology",
    "pathological",
    "iatrogenic",
    "idiopathic",
    "radiculopathy",
    "neuropathy",
    "sequela",
    "prognosis",
    "syndrome",
    "lumbar",
    "vertebra",
    "post-operative",
    "postoperative",
    "dissection",
    "pseudarthrosis",
    "foraminal",
    "subside",
    "indicator",
    "fbss",
]
DIAGNOSIS_PHRASES = [
    "you have",
    "you've got",
    "you suffer",
    "you are suffering",
    "your diagnosis",
    "diagnos",
    "definitely",
    "certainly",
    "for sure",
    "this is what",
    "you need surgery",
]
HEDGES = [
    "can",
    "may",
    "might",
    "often",
    "usually",
    "possible",
    "in general",
    "sometimes",
    "probably",
]


def sentences(text: str) -> list[str]:
    """Split text into sentences at ., ! or ? followed by a space."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def words(text: str) -> list[str]:
    """The words of a text (numbers and hyphenated words count as one)."""
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9'’-]*", text)


def syllables(word: str) -> int:
    """A rough English syllable count (vowel groups, silent final e)."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", w)
    w = re.sub(r"^y", "", w)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", w)))


def grade_level(text: str) -> float:
    """The Flesch-Kincaid grade level of a text."""
    ws = words(text)
    return (
        0.39 * len(ws) / len(sentences(text))
        + 11.8 * sum(map(syllables, ws)) / len(ws)
        - 15.59
    )


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_says_is_one_to_three_short_sentences(rule: FindingRule) -> None:
    parts = sentences(rule.says)
    assert 1 <= len(parts) <= 3
    assert len(words(rule.says)) / len(parts) <= 20
    assert all(len(words(s)) <= 25 for s in parts)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_says_reads_at_about_grade_8(rule: FindingRule) -> None:
    assert grade_level(rule.says) <= 9.0


def test_findings_read_at_grade_8_on_average() -> None:
    assert sum(grade_level(rule.says) for rule in RULES) / len(RULES) <= 8.0


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_no_jargon(rule: FindingRule) -> None:
    for text in (rule.says, rule.sms):
        lowered = {w.lower() for w in words(text)}
        assert not [
            j for j in BANNED_JARGON if j in lowered or (" " in j and j in text.lower())
        ]


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_no_diagnosis(rule: FindingRule) -> None:
    for text in (rule.says, rule.sms):
        lowered = text.lower().replace("’", "'")
        assert not [p for p in DIAGNOSIS_PHRASES if p in lowered]


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_says_is_hedged(rule: FindingRule) -> None:
    lowered = {w.lower() for w in words(rule.says)}
    assert any(h in lowered or (" " in h and h in rule.says.lower()) for h in HEDGES)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_texts_offer_no_booking(rule: FindingRule) -> None:
    for text in (rule.says, rule.sms):
        assert not re.search(
            r"\b(schedul\w*|book\w*|appointment|call us)\b", text, re.IGNORECASE
        )


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_sms_is_short(rule: FindingRule) -> None:
    assert len(rule.sms) <= 160
    assert len(rule.sms) < len(rule.says) or len(rule.says) <= 160


# ---------------------------------------------------------------------------------------------
# Sources

# The clinic's two source documents, kept in the repository (docs/sources).
SEEDS_DIR = Path(__file__).resolve().parents[2] / "docs" / "sources"
SEED_FILES = {"000": "000_7d58e133892a900c.txt", "004": "004_3d75cdbbc85e98f5.txt"}


def normalized(text: str) -> str:
    """Text with bullets and typographic quotes removed and whitespace collapsed, for quote matching."""
    text = (
        text.replace("’", "'")
        .replace("‘", "'")
        .replace("“", '"')
        .replace("”", '"')
        .replace("•", " ")
    )
    return " ".join(text.split())


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_every_finding_cites_a_document(rule: FindingRule) -> None:
    assert rule.source
    assert all(q.doc in ("000", "004") and len(q.quote) > 20 for q in rule.source)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_quotes_are_verbatim_from_the_source_documents(rule: FindingRule) -> None:
    for quote in rule.source:
        document = normalized(
            (SEEDS_DIR / SEED_FILES[quote.doc]).read_text(encoding="utf-8")
        )
        assert normalized(quote.quote) in document, quote


# ---------------------------------------------------------------------------------------------
# Validation of an edited table


def shipped() -> dict[str, Any]:
    """A fresh copy of the shipped YAML data."""
    data: dict[str, Any] = yaml.safe_load(
        DEFAULT_FINDINGS_PATH.read_text(encoding="utf-8")
    )
    return copy.deepcopy(data)


def entry(data: dict[str, Any], code: str) -> dict[str, Any]:
    """The entry for ``code`` in ``data``."""
    found: list[dict[str, Any]] = [e for e in data["findings"] if e["code"] == code]
    assert len(found) == 1
    return found[0]


def test_the_shipped_data_parses() -> None:
    assert parse_findings(shipped()) == RULES


def _set_when(code: str, when: object) -> dict[str, Any]:
    data = shipped()
    entry(data, code)["when"] = when
    return data


def _mutated(change: str) -> dict[str, Any]:
    data = shipped()
    first = data["findings"][0]
    if change == "unknown entry key":
        first["sayz"] = first.pop("says")
    elif change == "missing title":
        del first["title"]
    elif change == "unknown code":
        first["code"] = "too_early"
    elif change == "duplicate code":
        data["findings"][1]["code"] = "too_early_to_judge"
    elif change == "missing code":
        data["findings"].pop(3)
    elif change == "out of order":
        data["findings"][0], data["findings"][1] = (
            data["findings"][1],
            data["findings"][0],
        )
    elif change == "empty says":
        first["says"] = "  "
    elif change == "sms too long":
        first["sms"] = "word " * 40
    elif change == "doc not quoted":
        first["source"][0]["doc"] = 4
    elif change == "unknown doc":
        first["source"][0]["doc"] = "001"
    elif change == "no source":
        first["source"] = []
    elif change == "top-level key":
        data["extra"] = 1
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unknown entry key", "unknown key 'sayz'"),
        ("missing title", "missing key 'title'"),
        ("unknown code", "unknown code 'too_early'"),
        ("duplicate code", "appears twice"),
        ("missing code", "missing finding code(s): failed_decompression"),
        ("out of order", "position 0 should be 'too_early_to_judge'"),
        ("empty says", "says: expected non-empty text"),
        ("sms too long", "at most 160"),
        ("doc not quoted", "is not a source document"),
        ("unknown doc", "'001' is not a source document"),
        ("no source", "source: expected a non-empty list"),
        ("top-level key", "unknown key 'extra'"),
    ],
)
def test_table_errors_are_clear(change: str, message: str) -> None:
    with pytest.raises(FindingsError) as raised:
        parse_findings(_mutated(change))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({}, "empty condition"),
        ("decompression", "expected a mapping"),
        ({"surgery": ["decompression"]}, "unknown key 'surgery'"),
        ({"surgery_type": ["laminectomy"]}, "unknown value 'laminectomy'"),
        ({"surgery_type": []}, "expected a non-empty list"),
        ({"surgery_type": ["fusion", "fusion"]}, "listed twice"),
        ({"pain_course": ["worse"]}, "unknown value 'worse'"),
        ({"pain_course": ["unknown"]}, "unknown value 'unknown'"),
        ({"weeks_since_surgery": {"bellow": 12}}, "unknown operator 'bellow'"),
        ({"weeks_since_surgery": {"below": "twelve"}}, "expected a number of weeks"),
        ({"weeks_since_surgery": {"below": True}}, "expected a number of weeks"),
        ({"weeks_since_surgery": 12}, "expected 'unknown' or a mapping"),
        ({"weeks_since_surgery": "not known"}, "expected 'unknown' or a mapping"),
        ({"weeks_since_surgery": {}}, "empty comparison"),
        ({"pain_return_weeks": {"from": 6}}, "'from' and 'to' go together"),
        (
            {"pain_return_weeks": {"from": 12, "to": 6}},
            "'from' must not be greater than 'to'",
        ),
        ({"symptoms": ["burning"]}, "expected a mapping"),
        ({"symptoms": {"some_of": ["burning"]}}, "unknown operator 'some_of'"),
        ({"symptoms": {"any_of": ["itching"]}}, "unknown value 'itching'"),
        ({"symptoms": {"at_least": 3}}, "'at_least' and 'of' go together"),
        ({"symptoms": {"at_least": 4, "of": ["burning", "numbness"]}}, "from 1 to 2"),
        ({"symptoms": {"at_least": 0, "of": ["burning"]}}, "from 1 to 1"),
        (
            {
                "symptoms": {
                    "at_least": 1,
                    "of": ["numbness"],
                    "including_one_of": ["burning"],
                }
            },
            "burning not in 'of'",
        ),
        ({"any_of": []}, "expected a non-empty list"),
        (
            {"any_of": [{"surgery_type": ["fusion"]}, {"weeks": {"below": 3}}]},
            "any_of[1]: unknown key 'weeks'",
        ),
        ({"otherwise": False}, "must be true"),
        (
            {"otherwise": True, "surgery_type": ["fusion"]},
            "'otherwise' must stand alone",
        ),
        ({"any_of": [{"otherwise": True}]}, "only allowed alone"),
    ],
)
def test_condition_errors_are_clear(when: object, message: str) -> None:
    with pytest.raises(FindingsError) as raised:
        parse_findings(_set_when("on_track", when))
    assert message in str(raised.value)
    assert "(on_track).when" in str(raised.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text("findings: [\n", encoding="utf-8")
    with pytest.raises(FindingsError, match="bad.yml: not valid YAML"):
        load_findings(bad_yaml)
    with pytest.raises(FindingsError, match="cannot read"):
        load_findings(tmp_path / "missing.yml")


def test_a_repeated_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = DEFAULT_FINDINGS_PATH.read_text(encoding="utf-8").replace(
        "      weeks_since_surgery: {below: 12}\n",
        "      weeks_since_surgery: {below: 12}\n      weeks_since_surgery: {below: 99}\n",
        1,
    )
    path = tmp_path / "findings.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FindingsError, match="'weeks_since_surgery' appears twice"):
        load_findings(path)


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "findings.yml"
    text = DEFAULT_FINDINGS_PATH.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    before = load_findings(path)
    path.write_text(
        text.replace("It's good to hear", "It is good to hear"), encoding="utf-8"
    )
    os.utime(
        path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000)
    )
    after = load_findings(path)
    assert after is not before
    assert after[2].says.startswith("It is good to hear")


# ---------------------------------------------------------------------------------------------
# The condition language, beyond what the shipped table uses


@pytest.mark.parametrize(
    ("when", "facts", "fires"),
    [
        ({"weeks_since_surgery": {"above": 12}}, Facts(weeks_since_surgery=12), False),
        ({"weeks_since_surgery": {"above": 12}}, Facts(weeks_since_surgery=12.1), True),
        ({"weeks_since_surgery": {"at_most": 12}}, Facts(weeks_since_surgery=12), True),
        (
            {"weeks_since_surgery": {"at_most": 12}},
            Facts(weeks_since_surgery=12.1),
            False,
        ),
        (
            {"weeks_since_surgery": {"at_least": 6, "below": 12}},
            Facts(weeks_since_surgery=6),
            True,
        ),
        (
            {"weeks_since_surgery": {"at_least": 6, "below": 12}},
            Facts(weeks_since_surgery=12),
            False,
        ),
        ({"weeks_since_surgery": {"at_most": 12}}, Facts(), False),
        ({"weeks_since_surgery": "unknown"}, Facts(), True),
        ({"weeks_since_surgery": "unknown"}, Facts(weeks_since_surgery=0), False),
        ({"surgery_type": "fusion"}, Facts("fusion"), True),
        ({"surgery_type": ["fusion"]}, Facts(), False),
        ({"surgery_type": ["unknown"]}, Facts(), True),
        ({"surgery_type": ["unknown"]}, Facts("unknown"), True),
        ({"surgery_type": ["unknown"]}, Facts("fusion"), False),
        (
            {"symptoms": {"all_of": ["numbness", "tingling"]}},
            Facts(symptoms=frozenset({"numbness"})),
            False,
        ),
        (
            {"symptoms": {"all_of": ["numbness", "tingling"]}},
            Facts(symptoms=frozenset({"numbness", "tingling"})),
            True,
        ),
        ({"symptoms": {"none_of": ["numbness"]}}, Facts(), True),
        (
            {"symptoms": {"none_of": ["numbness"]}},
            Facts(symptoms=frozenset({"numbness"})),
            False,
        ),
        (
            {"symptoms": {"any_of": ["burning"], "none_of": ["numbness"]}},
            Facts(symptoms=frozenset({"burning", "numbness"})),
            False,
        ),
        (
            {"symptoms": {"at_least": 2, "of": ["burning", "numbness", "tingling"]}},
            Facts(),
            False,
        ),
        (
            {"any_of": [{"surgery_type": ["fusion"]}, {"pain_course": ["improving"]}]},
            Facts(pain_course="improving"),
            True,
        ),
        (
            {"any_of": [{"surgery_type": ["fusion"]}, {"pain_course": ["improving"]}]},
            Facts("decompression", pain_course="worse_since_surgery"),
            False,
        ),
    ],
)
def test_condition_language(when: object, facts: Facts, fires: bool) -> None:
    rules = parse_findings(_set_when("on_track", when))
    assert ("on_track" in assess(facts, rules).codes()) is fires


def test_an_otherwise_rule_yields_to_any_other_finding() -> None:
    rules = parse_findings(_set_when("on_track", {"surgery_type": ["fusion"]}))
    assert assess(Facts("fusion", 60), rules).codes() == ["on_track"]
    assert assess(Facts("decompression", 60), rules).codes() == ["no_specific_pattern"]
