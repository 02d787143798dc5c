"""Answers to "what is your name?"."""

from __future__ import annotations

import pytest

from bot.scheduling.names import clean_patient_name, looks_like_a_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ana García", "Ana García"),
        ("my name is José O'Neil-Smith.", "José O'Neil-Smith"),
        ("My name is Maria", "Maria"),
        ("my full name is Maria Lopez", "Maria Lopez"),
        ("my name's Tom", "Tom"),
        ("It's Maria", "Maria"),
        ("it is Maria!", "Maria"),
        ("I'm Ana García!", "Ana García"),
        ("I\u2019m Ana", "Ana"),  # typographic apostrophe
        ("i am Bob", "Bob"),
        ("Hi, I'm Maria", "Maria"),
        ("hello! my name is Li Wei", "Li Wei"),
        ("yes, it's John Smith", "John Smith"),
        ("this is Tom", "Tom"),
        ("call me Sam", "Sam"),
        ("name: Bob", "Bob"),
        ("John Smith, thanks", "John Smith"),
        ("John Smith. Thank you!", "John Smith"),
        ('"Jane Doe"', "Jane Doe"),
        ("  jane   doe  ", "jane doe"),  # case kept as typed
        ("Chris\tEvans", "Chris Evans"),
        ("Mary-Kate O\u2019Hara", "Mary-Kate O'Hara"),
        ("Dr. Jane Doe", "Dr. Jane Doe"),
        ("Jean-Luc van der Berg", "Jean-Luc van der Berg"),
        ("李雷", "李雷"),
        (
            "我是 李雷",
            "我是 李雷",
        ),  # kept whole: only English introductions are removed
        ("Ольга Петрова", "Ольга Петрова"),
        ("محمد علي", "محمد علي"),
        ("प्रिया शर्मा", "प्रिया शर्मा"),
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("山田 太郎", "山田 太郎"),
        ("Im Yoon-ah", "Im Yoon-ah"),  # Im is a surname, not "I'm"
        ("Isaac", "Isaac"),
        ("Itsuki", "Itsuki"),
        ("Callum", "Callum"),
        ("Thiswell Jones", "Thiswell Jones"),
        ("A" * 120, "A" * 120),
    ],
)
def test_names(text: str, expected: str) -> None:
    assert clean_patient_name(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "...",
        "my name is",
        "I'm",
        "Hi",
        "12345",
        "John 3rd",
        "(415) 555-2671",
        "+14155552671",
        "<script>alert(1)</script>",
        "<b>Ana</b>",
        "Robert'); DROP TABLE clinic_appointment_requests; --",
        "'; DROP TABLE clinic_appointment_requests; --",
        "ana@example.com",
        "😀",
        "Jane 😀",
        "A" * 121,
        "my name is " + "A" * 121,
        "x" * 5000,
        "Jane\x00Doe",
        "no",
        "idk",
        "none",
        "-",
        "'",
    ],
)
def test_not_names(text: str) -> None:
    assert clean_patient_name(text) is None


@pytest.mark.parametrize("text", ["GARY PETERSON", "Victor Huang", "Maria O'Neil", "José", "Dr. Smith"])
def test_a_bare_name_looks_like_a_name(text: str) -> None:
    assert looks_like_a_name(text)


@pytest.mark.parametrize("text", ["have someone call me", "talk to a person", "agent", "human please", "dunno", "yes"])
def test_a_request_or_a_non_answer_does_not(text: str) -> None:
    assert not looks_like_a_name(text)
