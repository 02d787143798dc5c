"""The one-line read-back of what the bot understood, said before the explanation.

A time is shown as the date it stands for ("around mid-April 2026, about 9 weeks ago"), so a
vague or misread time is easy to spot and correct in one message.
"""

from __future__ import annotations

import datetime as dt

from bot.clinical.engine import Facts
from bot.vocabulary import SYMPTOMS

SURGERY_WORDS = {
    "decompression": "a decompression surgery (like a discectomy or laminectomy)",
    "fusion": "a fusion",
}
COURSE_WORDS = {
    "improving": "the pain is slowly getting better",
    "no_improvement": "the pain is no better",
    "worse_since_surgery": "the pain is worse than before the surgery",
    "relief_then_sudden_return": "the pain went away, then came back suddenly",
    "relief_then_gradual_return": "the pain went away, then came back little by little",
}
SYMPTOM_WORDS = {
    "leg_pain": "leg pain",
    "back_pain": "back pain",
    "burning": "burning",
    "gnawing": "a constant gnawing ache",
    "stinging": "stinging",
    "numbness": "numbness",
    "tingling": "tingling",
    "weakness": "weakness",
}
assert set(SYMPTOM_WORDS) == set(SYMPTOMS), "every symptom needs its read-back words"


def _and_list(items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _part_of_month(day: dt.date) -> str:
    if day.day <= 10:
        return "early "
    return "mid-" if day.day <= 20 else "late "


def _how_long(weeks: float) -> str:
    if weeks < 1.5:
        days = round(weeks * 7)
        return "today" if days == 0 else f"about {days} day{'s' if days != 1 else ''} ago"
    if weeks < 13:
        return f"about {round(weeks)} weeks ago"
    if weeks < 52 * 1.5:
        return f"about {round(weeks / (13 / 3))} months ago"
    years = weeks / 52
    return f"about {round(years)} years ago" if years >= 1.75 else "about a year and a half ago"


def when(weeks_ago: float, today: dt.date) -> str:
    """ "around mid-April 2026, about 9 weeks ago" for a time ``weeks_ago`` weeks before ``today``."""
    day = today - dt.timedelta(days=round(weeks_ago * 7))
    if weeks_ago < 1.5:
        return f"on {day.strftime('%B')} {day.day}, {_how_long(weeks_ago)}"
    return f"around {_part_of_month(day)}{day.strftime('%B %Y')}, {_how_long(weeks_ago)}"


def _after(weeks: float) -> str:
    if weeks < 1.5:
        return "within days of the surgery"
    if weeks < 13:
        return f"about {round(weeks)} weeks after the surgery"
    return f"about {round(weeks / (13 / 3))} months after the surgery"


def summary(facts: Facts, today: dt.date, symptoms_known: bool = True) -> str:
    """What was understood, in one sentence's worth of clauses separated by semicolons."""
    surgery = SURGERY_WORDS.get(facts.surgery_type or "", "a surgery of a kind we don't know")
    weeks = facts.weeks_since_surgery
    parts = [f"{surgery} {when(weeks, today)}" if weeks is not None else f"{surgery}, date not known"]
    course = COURSE_WORDS.get(facts.pain_course or "")
    if course and facts.pain_return_weeks is not None:
        course += f", {_after(facts.pain_return_weeks)}"
    parts.append(course or "how the pain has gone not known")
    symptoms = [SYMPTOM_WORDS[s] for s in SYMPTOMS if s in facts.symptoms]
    if symptoms:
        parts.append(_and_list(symptoms))
    else:
        parts.append("none of the listed symptoms" if symptoms_known else "symptoms not known")
    return "; ".join(parts)
