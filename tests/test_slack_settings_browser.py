# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""The settings page's Slack section in a real browser against the real API and the Slack stand-in: not
connected, connected through the form (the secrets never shown back), a test message Slack refuses (said in
words) and one it takes. With WORKFLOWS_SCREENSHOTS=1 its pictures go to docs/screenshots/settings-slack*.png
(else to a temporary folder, so a test run leaves the checkout as it was)."""

from __future__ import annotations

import os
import re

import requests
from playwright.sync_api import expect

from tests.conftest import ADMIN_KEY
from tests.panels_browser import base_url, browser  # noqa: F401  fixtures
from tests.slack_helpers import BOT_TOKEN, SIGNING_SECRET, app, stub  # noqa: F401  fixtures
from tests.slack_render import OUT
from tests.test_settings_browser import settings_page, sign_in


def test_connect_slack_send_a_refused_then_a_good_test_message(browser, base_url, stub, tmp_path):
    out = OUT if os.environ.get("WORKFLOWS_SCREENSHOTS") == "1" else tmp_path
    requests.delete(f"{base_url}/api/v1/slack", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30)
    page = settings_page(browser, base_url)
    sign_in(page, ADMIN_KEY)
    section = page.locator("#slack")
    expect(section).to_contain_text("Not connected")
    expect(section.locator("[data-slack-url]")).to_have_text(re.compile(r"^https?://\S+/hooks/slack/interactions$"))
    section.screenshot(path=str(out / "settings-slack-empty.png"))

    section.get_by_label("Bot token").fill("not-a-token")
    section.get_by_role("button", name="Save").click()
    expect(section).to_contain_text("A bot token starts with xoxb-.")

    section.get_by_label("Bot token").fill(BOT_TOKEN)
    section.get_by_label("Signing secret").fill(SIGNING_SECRET)
    section.get_by_label("Web API URL").fill(stub.url)
    section.get_by_role("button", name="Save").click()
    expect(section).to_contain_text("Connected")
    expect(section).to_contain_text("Bot token · set")
    assert BOT_TOKEN not in page.content() and SIGNING_SECRET not in page.content()

    section.get_by_placeholder("you@example.com or #channel").fill("#no-such-channel")
    section.get_by_role("button", name="Send a test message").click()
    expect(section.get_by_role("alert")).to_contain_text("channel_not_found (the channel does not exist")
    section.screenshot(path=str(out / "settings-slack-refused.png"))

    section.get_by_placeholder("you@example.com or #channel").fill("#general")
    section.get_by_role("button", name="Send a test message").click()
    expect(section.locator(".wf-alert-success")).to_contain_text("Sent")
    assert any("Test message from Workflows" in m["text"] for m in stub.messages.values())
    section.screenshot(path=str(out / "settings-slack.png"))
    assert not page.errors  # type: ignore[attr-defined]
