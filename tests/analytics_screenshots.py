"""Screenshots of the Analytics views with a realistic read model, into docs/screenshots/.

Run: ``.venv/bin/python -m tests.analytics_screenshots`` (starts the embedded stack as ``up`` does, on free ports,
seeds 600 decided and 60 pending requests through ``Inbox.put`` as bench/bench_analytics.py does, and drives
Debian's Chromium headless). The empty, loading and error states are taken by tests/test_analytics_browser.py
(ANALYTICS_SCREENSHOTS=docs/screenshots).
"""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import expect, sync_playwright

from bench.bench_analytics import PEOPLE, seed
from bench.stack import embedded_stack
from plugin.store.connection import connect as connect_redis
from plugin.store.inbox import Inbox
from tests.panel_screenshots import OUT
from tests.panels_browser import CHROMIUM, CHROMIUM_ARGS


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with embedded_stack() as stack, sync_playwright() as pw:
        settings = stack.settings
        base = f"http://127.0.0.1:{settings.port}"
        seed(Inbox(connect_redis(settings)), 600, 60)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/settings")
        page.get_by_label("Admin key").fill(settings.admin_key)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Request analytics").click()
        section = page.locator("#analytics")
        expect(section.get_by_role("img", name="Overdue requests per query")).to_be_visible(timeout=30_000)
        section.screenshot(path=str(OUT / "settings-analytics.png"))
        section.get_by_label("Group by", exact=True).select_option("group")
        expect(section.get_by_role("img", name="Overdue requests per group")).to_be_visible(timeout=30_000)
        section.screenshot(path=str(OUT / "settings-analytics-groups.png"))
        panel = browser.new_page(viewport={"width": 1100, "height": 900})
        panel.goto(f"{base}/ui/history/#{urlencode({'key': settings.app_key, 'user': PEOPLE[0], 'groups': 'team0'})}")
        panel.get_by_role("tab", name="Analytics").click()
        expect(panel.locator('[data-figure="Opened"] .wfa-tile-value')).not_to_have_text("0", timeout=30_000)
        panel.wait_for_timeout(250)
        panel.screenshot(path=str(OUT / "history-analytics.png"), full_page=True)
        browser.close()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
