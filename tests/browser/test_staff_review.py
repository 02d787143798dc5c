"""A patient talks to the bot, then a nurse reviews it in the staff app, in a real browser."""

from __future__ import annotations

import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

from tests.browser.conftest import screenshot_path
from tests.conversations.harness import PROJECT_ROOT, BotServer

PASSWORD = "correct horse battery staple"


def _create_staff_user(server: BotServer, username: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "--database-url",
            server.database_url,
            "create-staff-user",
            "--username",
            username,
            "--role",
            "staff",
            "--password-stdin",
        ],
        cwd=PROJECT_ROOT,
        env=server.env,
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )


def test_staff_find_the_patient_by_phone_and_act_on_the_request(web_stack: tuple[BotServer, str], browser: Any) -> None:
    server, url = web_stack
    conversation = server.conversation()
    conversation.say("<i>hello</i>")
    conversation.say("I had a laminectomy 4 months ago and it never got better")
    conversation.say("back pain")
    conversation.say("yes please")
    conversation.say("Rosa O'Diaz")
    conversation.say("(415) 555-0187")
    booked = conversation.say("Monday morning")
    request_id = booked.payload("appointment_requested")["request_id"]
    assert conversation.say("now I also have a fever and chills").payloads("emergency")
    _create_staff_user(server, "nurse")

    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(f"{url}/staff/conversations")
    assert "/staff/login" in page.url
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/conversations**")

    page.get_by_label("Name or phone").fill("415 555 0187")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    address = urlsplit(page.url)  # the search is not in the URL (its port may hold any digits)
    assert "555" not in address.path + address.query and "0187" not in address.path + address.query
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 1
    page.screenshot(path=screenshot_path("staff-conversations"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    csv_text = open(download_info.value.path(), encoding="utf-8").read()
    assert "failed_decompression" in csv_text

    page.get_by_role("link", name="Transcript").first.click()
    page.wait_for_load_state()
    assert page.locator(".banner-red").is_visible()
    content = page.content()
    assert "failed_decompression" in content or "decompression" in content.lower()
    assert "&lt;i&gt;hello&lt;/i&gt;" in content  # patient text is escaped
    page.screenshot(path=screenshot_path("staff-transcript"), full_page=True)

    page.goto(f"{url}/staff/queues/requests")
    row = page.locator("table.list tbody tr", has_text=request_id)
    row.get_by_label("New status").select_option("contacted")
    row.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    row = page.locator("table.list tbody tr", has_text=request_id)
    assert "contacted" in row.inner_text()
    assert "new → contacted by nurse" in row.inner_text()
    page.screenshot(path=screenshot_path("staff-requests"), full_page=True)
    page.close()
