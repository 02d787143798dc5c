"""Phone numbers as patients type them, by web and SMS."""

from __future__ import annotations

import pytest

from bot.scheduling.phone import normalize_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(415) 555-2671", "+14155552671"),
        ("415-555-2671", "+14155552671"),
        ("415.555.2671", "+14155552671"),
        ("415 555 2671", "+14155552671"),
        ("4155552671", "+14155552671"),
        ("(415)5552671", "+14155552671"),
        ("1-415-555-2671", "+14155552671"),
        ("+1 415 555 2671", "+14155552671"),
        ("+14155552671", "+14155552671"),
        ("  415 555 2671.  ", "+14155552671"),
        ("415 555 2671 ext 22", "+14155552671"),
        ("(212) 555-0100", "+12125550100"),
        ("(650) 253-0000", "+16502530000"),
        ("you can reach me at 415-555-2671 after 5", "+14155552671"),
        ("my cell is (415) 555-2671, thanks!", "+14155552671"),
        ("Call me: 415 555 2671 or 650-253-0000", "+14155552671"),
        ("my dob is 3/4/1970 and my phone is 415 555 2671", "+14155552671"),
        ("212 555 0100 😀", "+12125550100"),
        ("٤١٥٥٥٥٢٦٧١", "+14155552671"),  # Arabic-Indic digits
        (
            "\uff14\uff11\uff15\uff0d\uff15\uff15\uff15\uff0d\uff12\uff16\uff17\uff11",
            "+14155552671",
        ),
        ("+44 20 7946 0958", "+442079460958"),
        ("011 44 20 7946 0958", "+442079460958"),
        ("+33 1 42 68 53 00", "+33142685300"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+49 30 901820", "+4930901820"),
    ],
)
def test_numbers_people_type(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "123",
        "911",
        "call 911",
        "555-2671",  # no area code: cannot be called back reliably
        "415 555 267",  # a digit short
        "555 123 4567",  # fictional: area code 555, exchange starts with 1
        "(555) 010-0123",
        "(415) 155-2671",  # exchange cannot start with 1
        "(911) 555-2671",  # N11 is not an area code
        "1" * 25,
        "4155552671" * 500,
        "my number is in my file",
        "12/1/2026",
        "'; DROP TABLE clinic_appointment_requests; --",
        "<script>alert(415)</script>",
        "😀📞",
        "我的电话号码在档案里",
    ],
)
def test_not_phone_numbers(text: str) -> None:
    assert normalize_phone(text) is None


def test_number_in_a_very_long_message() -> None:
    assert normalize_phone("hi " + "x" * 5000) is None
    assert normalize_phone("415-555-2671 " + "x" * 5000) == "+14155552671"


def test_region_decides_numbers_without_country_code() -> None:
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="US") is None
    assert normalize_phone("+1 415 555 2671", region="GB") == "+14155552671"


def test_new_north_american_area_code_is_not_refused() -> None:
    # shaped like a NANP number even if the metadata has not caught up with the area code
    assert normalize_phone("(987) 654-3210") == "+19876543210"
