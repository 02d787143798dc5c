"""A patient uses the website chat in a real browser, at desktop and phone sizes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot_path
from tests.conversations.harness import BotServer

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _send(page: Any, text: str) -> None:
    before = page.locator(".chat-log > *").count()
    page.get_by_label("Your message").fill(text)
    page.keyboard.press("Enter")
    page.wait_for_function("n => document.querySelectorAll('.chat-log > *').length > n + 1", arg=before, timeout=30_000)
    page.wait_for_timeout(300)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_whole_conversation_to_a_booking(web_stack: tuple[BotServer, str], browser: Any, size: str) -> None:
    _, url = web_stack
    page = browser.new_page(viewport=SIZES[size])
    page.goto(url)
    _send(page, "hi")
    _send(page, "I had a microdiscectomy 10 weeks ago, it felt great then suddenly it came back a week ago")
    _send(page, "pins and needles and pain down my leg")
    card = page.locator(".card-assessment").first
    card.wait_for(timeout=10_000)
    assert "disc" in page.content().lower()
    page.screenshot(path=screenshot_path(f"chat-assessment-{size}"), full_page=True)
    page.get_by_role("button", name="Yes, please").click()
    page.wait_for_timeout(1500)
    _send(page, "Maria Lopez")
    _send(page, "415-555-2671")
    _send(page, "weekday mornings")
    confirmation = page.get_by_text("CR-", exact=False).first
    confirmation.wait_for(timeout=10_000)
    page.screenshot(path=screenshot_path(f"chat-booked-{size}"), full_page=True)
    page.close()


def test_a_red_flag_is_unmissable(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = browser.new_page(viewport=SIZES["phone"])
    page.goto(url)
    _send(page, "I can't control my bladder and my groin is numb")
    alert = page.get_by_role("alert").first
    alert.wait_for(timeout=10_000)
    assert alert.is_visible()
    assert "911" in page.locator(".chat-log").inner_text()
    page.screenshot(path=screenshot_path("chat-emergency-phone"), full_page=True)
    page.close()


def test_patient_markup_is_shown_as_text(web_stack: tuple[BotServer, str], browser: Any) -> None:
    _, url = web_stack
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    _send(page, "<img src=x onerror=alert(1)>")
    assert "<img src=x onerror=alert(1)>" in page.locator(".chat-log").inner_text()
    assert dialogs == []
    page.close()
