"""The dev host is a demo, but its custom widgets are hosted as Appsmith hosts them: the srcDoc composed in
Appsmith's order with its reset and its host script (the one the Appsmith emulator uses), READY answered only
after the widget loaded, every message acknowledged by key, heights applied."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.panels_browser import base_url, browser, open_page  # noqa: F401  fixtures
from tests.requests_helpers import pending_requests, person, start_probe


def test_custom_widgets_are_composed_and_spoken_to_as_appsmith_does(open_page):  # noqa: F811  the fixture
    page = open_page("/", user=person("ann"))
    expect(page.get_by_text("A demo, not Appsmith")).to_be_visible()
    iframe = page.locator('section[data-widget="inbox"] iframe')
    expect(iframe).to_have_attribute("sandbox", re.compile("allow-scripts"))
    assert "allow-same-origin" not in iframe.get_attribute("sandbox")
    doc = iframe.get_attribute("srcdoc")
    order = [doc.index("<head><style>"), doc.index("border-collapse"), doc.index("</head>"),
             doc.index('<script type="text/javascript"></script>'), doc.index("function main()"),
             doc.index("main();</script>"), doc.index('data-panel="inbox"'), doc.index("WF.host"),
             doc.rindex("<style>"), doc.index(".wf {")]
    assert order == sorted(order), order  # reset, console slot, host module, HTML, panel module, panel CSS last
    frame = iframe.element_handle().content_frame()
    expect(page.frame_locator('section[data-widget="inbox"] iframe').locator(".wf-live")).to_have_text(
        "Bound to the app")
    assert frame.evaluate("Object.getOwnPropertyDescriptor(window, 'appsmith').writable") is False
    expect(iframe).to_have_attribute("style", re.compile(r"height: \d+px"))  # UPDATE_HEIGHT applied


def test_the_dev_host_inbox_decides_selected_requests_at_once(client, open_page):  # noqa: F811  the fixture
    ann = person("ann")
    for i in range(2):
        run_id = start_probe(client, person("req"), [{"name": f"Devhost bulk {i}", "users": [ann]}])
        pending_requests(client, run_id)
    page = open_page("/", user=ann)
    inbox = page.frame_locator('section[data-widget="inbox"] iframe')
    expect(inbox.locator("article.wf-card")).to_have_count(2)
    inbox.get_by_label("Select all").check()
    inbox.locator(".wf-bulk-bar").get_by_role("button", name="Approve selected").click()
    inbox.get_by_role("dialog").get_by_role("button", name="Approve 2").click()
    expect(inbox.locator(".wf-bulk-report")).to_have_text("2 approved")
