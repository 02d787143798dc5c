"""A patient uses the website chat in a real browser, at desktop and phone sizes.

The widget talks to Rasa's socket.io channel directly, with a token from the web app.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import screenshot_path
from tests.conversations.harness import PROJECT_ROOT, BotServer, _wait_until_up, free_port

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TURN_DONE = """n => document.getElementById('chat').getAttribute('aria-busy') === 'false'
    && document.querySelectorAll('.chat-log > *').length > n"""


# The WCAG contrast ratio of each text element's colour against the background it sits on.
CONTRASTS = """selectors => {
  const rgb = value => (value.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = node => {
    for (; node; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      if (colour.length === 3 || colour[3] > 0) { return colour; }
    }
    return [255, 255, 255];
  };
  const found = {};
  selectors.forEach(selector => {
    const node = document.querySelector(selector);
    if (!node) { return; }
    const a = luminance(rgb(getComputedStyle(node).color)), b = luminance(background(node));
    found[selector] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
  return found;
}"""
READABLE = [
    ".chat-intro",
    ".bubble-bot",
    ".bubble-patient",
    ".card-assessment h3",
    ".card-assessment dd",
    ".chip",
    ".chat-hint",
    "#chat-send",
    "#chat-new",
    ".card-confirm h3",
    ".card-alert h3",
    ".card-alert p",
]


def _assert_readable(page: Any, present: set[str]) -> None:
    """Every text shown has a contrast of at least 4.5:1 (WCAG AA); ``present`` must be shown."""
    contrasts = page.evaluate(CONTRASTS, READABLE)
    assert present <= set(contrasts)
    assert {selector: ratio for selector, ratio in contrasts.items() if not ratio >= 4.5} == {}


def _wait_for_turn(page: Any, before: int) -> None:
    """Wait until the assistant has finished answering (the widget is no longer busy)."""
    page.wait_for_function(TURN_DONE, arg=before + 1, timeout=30_000)


def _send(page: Any, text: str) -> None:
    before = page.locator(".chat-log > *").count()
    page.get_by_label("Your message").fill(text)
    page.keyboard.press("Enter")
    _wait_for_turn(page, before)


def _open_chat(browser: Any, url: str, size: str = "desktop") -> Any:
    page = browser.new_page(viewport=SIZES[size])
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.sockets = sockets
    page.goto(url)
    return page


def _bot_text(page: Any) -> str:
    return str(page.locator(".chat-log").inner_text())


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_whole_conversation_to_a_booking(web_stack: tuple[BotServer, str], browser: Any, size: str) -> None:
    server, url = web_stack
    page = _open_chat(browser, url, size)
    empty_height = page.evaluate("document.documentElement.scrollHeight")
    _send(page, "hi")
    _send(page, "I had a microdiscectomy 10 weeks ago, it felt great then suddenly it came back a week ago")
    _send(page, "pins and needles and pain down my leg")
    card = page.locator(".card-assessment")
    assert card.count() == 1
    assert "A disc herniation that came back" in card.inner_text()
    assert "Decompression" in card.inner_text()
    _assert_readable(page, {".bubble-bot", ".bubble-patient", ".card-assessment dd", ".chip", "#chat-send"})
    page.screenshot(path=screenshot_path(f"chat-assessment-{size}"), full_page=True)
    # The offer's quick reply, used from the keyboard.
    before = page.locator(".chat-log > *").count()
    page.get_by_role("button", name="Yes, please").focus()
    page.keyboard.press("Enter")
    _wait_for_turn(page, before)
    assert page.get_by_label("Your message").get_attribute("autocomplete") == "name"
    _send(page, "Maria Lopez")
    assert page.get_by_label("Your message").get_attribute("inputmode") == "tel"
    _send(page, "415-555-2671")
    _send(page, "weekday mornings")
    _assert_readable(page, {".card-confirm h3"})
    request_id = page.locator(".card-confirm .request-id").inner_text()
    assert request_id.startswith("CR-")
    saved = server.saved_request(request_id)
    assert saved["channel"] == "socketio"
    assert saved["patient_name"] == "Maria Lopez"
    rasa_socket = server.rasa_url.replace("http://", "ws://") + "/socket.io/"
    assert any(socket.startswith(rasa_socket) for socket in page.sockets)
    # The log scrolls; the page neither scrolls sideways nor grows past the log's own limit.
    layout = page.evaluate(
        "({width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,"
        " viewport: window.innerWidth, viewportHeight: window.innerHeight})"
    )
    assert layout["width"] <= layout["viewport"]
    assert layout["height"] - empty_height <= 0.6 * layout["viewportHeight"] + 50, layout
    page.screenshot(path=screenshot_path(f"chat-booked-{size}"), full_page=True)
    page.close()


def test_the_surgery_date_question_offers_a_date_picker(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = _open_chat(browser, url)
    _send(page, "I had a lumbar fusion")
    picker = page.get_by_label("Or pick the date of your surgery:")
    assert picker.is_visible()
    picker.fill("2026-03-02")
    before = page.locator(".chat-log > *").count()
    page.get_by_role("button", name="Use this date").click()
    _wait_for_turn(page, before)
    assert "My surgery was on March 2, 2026" in _bot_text(page)
    assert "pain" in _bot_text(page).splitlines()[-1].lower()
    page.close()


def _click(page: Any, name: str) -> None:
    before = page.locator(".chat-log > *").count()
    page.get_by_role("button", name=name, exact=True).click()
    _wait_for_turn(page, before)


def test_a_patient_can_answer_with_taps_alone(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = _open_chat(browser, url, "phone")
    _send(page, "hi")
    _click(page, "Discectomy or laminectomy")
    page.get_by_label("Or pick the date of your surgery:").fill("2026-04-06")  # 10 weeks before CLINIC_TODAY
    _click(page, "Use this date")
    _click(page, "Better, then back suddenly")
    _send(page, "a week ago")
    page.get_by_label("Leg pain").check()
    page.get_by_label("Tingling (pins and needles)").check()
    page.screenshot(path=screenshot_path("chat-symptom-picker-phone"), full_page=True)
    _click(page, "Send these")
    card = page.locator(".card-assessment")
    assert card.count() == 1
    text = card.inner_text()
    assert "Decompression" in text and "about 10 weeks ago" in text
    assert "Better at first, then it came back suddenly" in text
    assert "leg pain, tingling" in text
    assert "A disc herniation that came back" in text
    page.close()


def test_each_question_offers_its_quick_replies(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = _open_chat(browser, url)
    _send(page, "hi")
    _click(page, "Not sure")
    assert "When was your surgery" in _bot_text(page)
    _send(page, "about 5 months ago")
    _click(page, "No better at all")
    _click(page, "None of these")
    card = page.locator(".card-assessment").inner_text()
    assert "Not sure" in card and "No improvement" in card and "None mentioned" in card
    page.close()


def test_a_red_flag_is_unmissable(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = _open_chat(browser, url, "phone")
    _send(page, "I can't control my bladder and my groin is numb")
    alert = page.get_by_role("alert").first
    assert alert.is_visible()
    assert "Urgent" in alert.inner_text()
    _assert_readable(page, {".card-alert h3", ".card-alert p"})
    assert "911" in _bot_text(page)
    page.screenshot(path=screenshot_path("chat-emergency-phone"), full_page=True)
    page.close()


def test_a_reload_keeps_the_conversation(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = _open_chat(browser, url)
    _send(page, "I had a laminectomy 4 months ago")
    page.reload()
    page.get_by_text("Welcome back").wait_for(timeout=10_000)
    assert "I had a laminectomy 4 months ago" in _bot_text(page)
    _send(page, "it never got better")
    _send(page, "just back pain")
    assert page.locator(".card-assessment").count() == 1
    page.close()


def test_a_new_conversation_starts_afresh(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = _open_chat(browser, url)
    _send(page, "I had a laminectomy 4 months ago")
    page.get_by_role("button", name="Start a new conversation").click()
    page.get_by_text("A new conversation has started.").wait_for(timeout=10_000)
    assert "laminectomy" not in _bot_text(page)
    _send(page, "it never got better")
    # The new conversation knows nothing of the laminectomy: it asks about the surgery.
    assert page.locator(".card-assessment").count() == 0
    page.close()


def test_a_second_tab_takes_the_conversation_over(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    context = browser.new_context()
    first = context.new_page()
    first.goto(url)
    _send(first, "hello")
    second = context.new_page()
    second.goto(url)
    first.get_by_text("open in another window or tab").wait_for(timeout=10_000)
    _send(second, "I had a fusion 2 years ago")
    assert "fusion" not in _bot_text(first).split("open in another window")[1]
    # The first tab can go on with a conversation of its own.
    first.get_by_role("button", name="Start a new conversation").click()
    first.get_by_text("A new conversation has started.").wait_for(timeout=10_000)
    _send(first, "hello")
    assert "What kind of back surgery" in _bot_text(first)
    context.close()


def test_patient_markup_is_shown_as_text(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = _open_chat(browser, url)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _send(page, "<img src=x onerror=alert(1)>")
    assert "<img src=x onerror=alert(1)>" in _bot_text(page)
    assert dialogs == []
    page.close()


@pytest.fixture(scope="module")
def web_app_without_rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Only the web app, pointing the widget at a port where nothing listens."""
    log = tmp_path_factory.mktemp("lonely-web") / "web.log"
    web_port = free_port()
    env = dict(os.environ, WEB_PORT=str(web_port), RASA_PORT=str(free_port()), SECRET_KEY="k" * 32)
    with log.open("wb") as out:
        web = subprocess.Popen(
            [sys.executable, "-m", "bot.web"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{web_port}/", web, 60)
        yield f"http://127.0.0.1:{web_port}"
    finally:
        web.terminate()
        web.wait(timeout=20)


def test_when_the_assistant_is_down_the_patient_is_told_whom_to_call(web_app_without_rasa: str, browser: Any) -> None:
    page = _open_chat(browser, web_app_without_rasa, "phone")
    page.get_by_text("Trying to reach the assistant").wait_for(timeout=10_000)
    page.get_by_label("Your message").fill("my back hurts")
    page.keyboard.press("Enter")
    page.get_by_text("The assistant is not available right now; please call").wait_for(timeout=20_000)
    assert "(555) 010-0123" in _bot_text(page)
    assert page.get_by_label("Your message").is_enabled()
    page.close()
