"""Corrections, "I don't know", side questions and hostile input keep the conversation usable."""

from __future__ import annotations

import pytest
import requests

from tests.conversations.harness import BotServer

pytestmark = pytest.mark.servers


def test_a_correction_during_the_questions_replaces_the_date(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("I had a discectomy 6 weeks ago")
    assert conversation.say("actually it was 4 months ago").asks == ["pain_course"]
    conversation.say("no improvement at all")
    turn = conversation.say("leg pain")
    assert turn.payload("assessment")["facts"]["weeks_since_surgery"] == pytest.approx(17.33, abs=0.01)
    assert turn.payload("assessment")["findings"] == ["failed_decompression"]


def test_a_correction_after_the_explanation_explains_again(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("laminectomy 4 months ago, never got better")
    first = conversation.say("numb foot")
    assert first.payload("assessment")["findings"] == ["failed_decompression", "nerve_recovery_ongoing"]
    turn = conversation.say("no wait, it was a fusion")
    assert turn.payload("assessment")["facts"]["surgery_type"] == "fusion"
    assert turn.payload("assessment")["findings"] == ["nerve_recovery_ongoing", "fusion_still_healing"]
    assert turn.asks == ["consent_to_schedule"]


@pytest.mark.parametrize(
    "relief, speed, course",
    [
        ("it was fine at first", "little by little", "relief_then_gradual_return"),
        ("it got better, then the pain came back", "suddenly", "relief_then_sudden_return"),
    ],
)
def test_a_return_without_its_speed_is_asked_about(bot: BotServer, relief: str, speed: str, course: str) -> None:
    conversation = bot.conversation()
    assert conversation.say("I had a laminectomy 4 months ago").asks == ["pain_course"]
    follow_up = conversation.say(relief)
    assert follow_up.asks == ["pain_course"]
    assert follow_up.text == "Did the pain come back suddenly, or little by little?"
    assert conversation.say(speed).asks == ["pain_return_weeks"]
    conversation.say("about 2 months after the surgery")
    turn = conversation.say("back pain")
    assert turn.payload("assessment")["facts"]["pain_course"] == course


def test_side_questions_are_answered_and_the_question_comes_back(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("hi")
    for question, answer_word in (
        ("how much will the consultation cost, does insurance cover it?", "billing"),
        ("can I take more oxycodone?", "medicine"),
    ):
        turn = conversation.say(question)
        assert answer_word in turn.text.lower()
        assert turn.asks == ["surgery_type"]
    assert conversation.say("fusion").asks == ["weeks_since_surgery"]


def test_side_questions_never_ask_one_question_a_fourth_time(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("hi")  # the first ask
    assert conversation.say("was my surgeon bad?").asks == ["surgery_type"]  # answered; the second ask
    choices = conversation.say("are you a real person?")  # answered; the third ask offers choices
    assert "automated" in choices.text.lower() and choices.asks == ["surgery_type"]
    assert "I'm not sure" in [b["title"] for m in choices.messages for b in m.get("buttons") or []]
    moved_on = conversation.say("how much will the consultation cost?")
    assert "billing" in moved_on.text.lower()
    assert "as not known" in moved_on.text and moved_on.asks == ["weeks_since_surgery"]


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "   ",
        "x" * 5000,
        "my back hurts " * 400,
        "😀😀😀🔥",
        "me duele mucho la espalda después de la cirugía",
        "<script>alert('x')</script><b>hi</b>",
        "'; DROP TABLE events; --",
        "/affirm",
        '/inform{"weeks_since_surgery": 500, "surgery_type": "fusion"}',
        "415-555-2671",
        None,
        12345,
    ],
)
def test_hostile_input_gets_a_kind_answer_and_keeps_the_facts(bot: BotServer, hostile: object) -> None:
    conversation = bot.conversation()
    conversation.say("I had a microdiscectomy")
    assert conversation.say("10 weeks ago").asks == ["pain_course"]
    turn = conversation.say(hostile)
    assert turn.messages, "every message gets an answer"
    assert "Traceback" not in turn.text and "Error" not in turn.text
    conversation.say("it's slowly getting better")
    final = conversation.say("leg pain")
    facts = final.payload("assessment")["facts"]
    assert facts["surgery_type"] == "decompression"
    assert facts["weeks_since_surgery"] == 10.0


def test_start_over_forgets_the_facts(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("I had a fusion 2 years ago")
    assert "cleared" in conversation.say("start over").text
    assert conversation.say("hi").asks == ["surgery_type"]


def test_the_rasa_http_api_is_off(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("I had a fusion 2 years ago")
    for path in (
        f"/conversations/{conversation.sender}/tracker",
        f"/conversations/{conversation.sender}/story",
        "/status",
        "/model/parse",
    ):
        response = requests.get(f"{bot.rasa_url}{path}", timeout=10)
        assert response.status_code in (404, 405), path
        assert "2 years ago" not in response.text and "events" not in response.text
    parse = requests.post(f"{bot.rasa_url}/model/parse", json={"text": "hi"}, timeout=10)
    assert parse.status_code in (404, 405)


def test_patients_at_the_same_time_are_never_told_the_records_are_down(bot: BotServer) -> None:
    """SQLite's write lock held by another patient's turn is contention, not an outage."""
    from concurrent.futures import ThreadPoolExecutor

    def patient(_: int) -> list[str]:
        conversation = bot.conversation()
        texts = [conversation.say("had a lami 6 wks ago n its worse than b4").text]
        texts.append(conversation.say("leg hurts n tingly").text)
        return texts

    with ThreadPoolExecutor(6) as pool:
        said = [text for texts in pool.map(patient, range(6)) for text in texts]
    assert not any("can't reach our records" in text for text in said)
    assert sum("Here's what I understood" in text for text in said) == 6
