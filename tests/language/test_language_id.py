"""The English / not-English guess that routes other languages to a kind fallback."""

from __future__ import annotations

import pytest

from bot.language.language_id import looks_non_english


@pytest.mark.parametrize(
    "text",
    [
        "me duele mucho la espalda después de la cirugía",
        "j'ai encore mal au dos depuis mon opération",
        "ich habe seit der Operation immer noch Schmerzen im Rücken",
        "ho ancora dolore alla schiena dopo l'intervento",
        "ainda tenho dor nas costas depois da cirurgia",
        "手术后我的背还是很痛",
        "после операции болит спина",
        "بعد العملية ظهري يؤلمني",
    ],
)
def test_other_languages_are_recognised(text: str) -> None:
    assert looks_non_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "I had a microdiscectomy 6 weeks ago",
        "no",
        "my name is José Núñez",
        "it burns down my leg, no numbness",
        "TLIF at L4-5 in March",
        "ok",
        "😀😀😀",
        "I had surgery con Dr. Garcia in San Diego",
    ],
)
def test_english_is_not_flagged(text: str) -> None:
    assert not looks_non_english(text)
