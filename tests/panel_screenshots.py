"""Take a screenshot of each panel, in its empty, loading, error and full states, into docs/screenshots/.

Run: ``.venv/bin/python -m tests.panel_screenshots`` (starts the embedded stack as ``up`` does, on free ports,
seeds a few runs as the sample apps' users, and drives Debian's Chromium headless).
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Page, expect, sync_playwright

from bench.stack import embedded_stack
from tests.panels_browser import CHROMIUM, CHROMIUM_ARGS

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ANN, BOB, CAROL = "ann@example.com", "bob@example.com", "carol@example.com"


class Seeder:
    """Calls the API as the sample apps' users."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key

    def call(self, method: str, path: str, user: str, body: dict | None = None, groups: str = "") -> dict:
        headers = {"Authorization": f"Bearer {self.key}", "X-Workflows-User": user, "Content-Type": "application/json"}
        if groups:
            headers["X-Workflows-Groups"] = groups
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def expense(self, amount: float, what: str) -> str:
        body = {"input": {"employee": ANN, "amount": amount, "description": what}}
        return self.call("POST", "/api/v1/queries/submit_expense/runs", ANN, body)["run_id"]

    def wait_status(self, run_id: str, wanted: str) -> dict:
        for _ in range(200):
            run = self.call("GET", f"/api/v1/runs/{run_id}", ANN)
            if run["status"] == wanted:
                return run
            time.sleep(0.1)
        raise RuntimeError(f"{run_id} never became {wanted}")


def shot(page: Page, name: str) -> None:
    page.wait_for_timeout(300)  # let transitions settle before the picture (not a test)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with embedded_stack() as settings, sync_playwright() as pw:
        base = f"http://127.0.0.1:{settings.port}"
        seed = Seeder(base, settings.app_key)
        done = seed.expense(42.5, "Taxi to the airport")
        seed.wait_status(done, "completed")
        decided = seed.expense(380, "Team lunch")
        request = seed.wait_status(decided, "waiting")["requests"][0]
        decision = {"resolution": "Approve", "comment": "Enjoy"}
        seed.call("POST", f"/api/v1/requests/{request['id']}/resolve", BOB, decision, "managers")
        seed.wait_status(decided, "completed")
        cancelled = seed.expense(1200, "Standing desk")
        seed.wait_status(cancelled, "waiting")
        seed.call("POST", f"/api/v1/runs/{cancelled}/cancel", ANN, {})
        seed.wait_status(seed.expense(640, "Conference ticket, Berlin"), "waiting")
        seed.wait_status(seed.expense(215.9, "Hotel, two nights"), "waiting")
        purchase = {"input": {"requester": ANN, "item": "Laptop", "amount": 1800, "currency": "USD"}}
        seed.call("POST", "/api/v1/queries/request_purchase/runs", ANN, purchase)

        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 720})

        def goto(path: str, **fragment: str) -> None:
            # a new fragment alone does not reload a page: load it, then reload so the panel starts afresh
            page.goto(f"{base}{path}#{urlencode({'key': settings.app_key, **fragment})}")
            page.reload()

        goto("/ui/inbox/", user=BOB, groups="managers")
        expect(page.locator("article.wf-card").first).to_be_visible(timeout=30_000)
        page.locator("article.wf-card", has_text="Hotel").get_by_label("Comment").fill("Within policy")
        shot(page, "inbox")
        goto("/ui/inbox/", user="nobody@example.com")
        expect(page.get_by_text("You are all caught up")).to_be_visible()
        shot(page, "inbox-empty")
        page.goto(f"{base}/ui/inbox/#{urlencode({'key': 'wfp_app_revoked', 'user': BOB})}")
        page.reload()
        expect(page.locator(".wf-alert-error")).to_be_visible()
        shot(page, "inbox-error")
        page.route("**/api/v1/requests*", lambda route: None)  # never answered: the loading state
        goto("/ui/inbox/", user=BOB, groups="managers")
        shot(page, "inbox-loading")
        page.unroute("**/api/v1/requests*")

        other = browser.new_page(viewport={"width": 1000, "height": 720})
        other.route("**/api/v1/events*", lambda route: route.abort())  # a page gone stale (its stream dropped)
        other.goto(f"{base}/ui/inbox/#{urlencode({'key': settings.app_key, 'user': CAROL, 'groups': 'managers'})}")
        theirs = other.locator("article.wf-card", has_text="Conference").get_by_role("button", name="Approve")
        expect(theirs).to_be_enabled()
        conference = next(r for r in seed.call("GET", "/api/v1/requests", BOB, groups="managers")["requests"]
                          if "Conference" in r["message"])
        seed.call("POST", f"/api/v1/requests/{conference['id']}/resolve", BOB, {"resolution": "Approve"}, "managers")
        theirs.click()
        refusal = other.locator("article.wf-card", has_text="Conference").locator(".wf-alert-error")
        expect(refusal).to_be_visible()
        other.locator("article.wf-card", has_text="Conference").scroll_into_view_if_needed()
        other.screenshot(path=str(OUT / "inbox-refused.png"))

        goto("/ui/history/", user=ANN)
        page.locator(f'tr[data-run="{decided}"]').click()
        expect(page.locator(f'[data-detail="{decided}"]')).to_be_visible()
        shot(page, "history")
        goto("/ui/history/", user="new@example.com")
        expect(page.get_by_text("No runs yet")).to_be_visible()
        shot(page, "history-empty")

        goto("/ui/trigger/", user=ANN, query="submit_expense")
        page.get_by_label("Employee").fill("ann@example")  # the server's stricter check answers 422 on the field
        page.get_by_label("Amount").fill("1200000")
        page.get_by_label("Description").fill("Train to Lyon")
        page.get_by_role("button", name="Submit").click()  # first the client's checks (amount over the maximum)
        page.get_by_label("Amount").fill("186.4")
        page.get_by_role("button", name="Submit").click()
        expect(page.locator('[data-field="employee"] .wf-field-error')).to_be_visible()
        shot(page, "trigger-errors")
        page.get_by_label("Employee").fill(ANN)
        page.get_by_role("button", name="Submit").click()
        expect(page.locator(".wf-progress-area .wf-chip")).to_have_text("waiting", timeout=30_000)
        shot(page, "trigger")

        goto("/ui/binding/", user=ANN, query="request_purchase")
        expect(page.locator(".wf-graph").first).to_be_visible()
        shot(page, "binding")

        page.set_viewport_size({"width": 1280, "height": 1000})
        goto("/", user=BOB, groups="managers")
        widget = page.frame_locator('section[data-widget="inbox"] iframe')
        expect(widget.locator("article.wf-card").first).to_be_visible(timeout=30_000)
        page.frame_locator('section[data-widget="history"] iframe').get_by_text("No runs yet").wait_for()
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / "devhost.png"))  # the viewport: iframes scroll inside themselves
        browser.close()
    for png in sorted(OUT.glob("*.png")):
        print(f"{png.relative_to(OUT.parents[1])}: {png.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
