"""Browser fixtures for the panel tests: the API app (the same app and static serving ``up`` uses) on a real
HTTP server in a thread, and Debian's Chromium driven headless by Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import APP_KEY

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# The machine is shared and loaded: auto-waiting expectations get time, assertions stay as strict.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def base_url(app) -> Iterator[str]:
    """The app on a real threaded HTTP server (SSE streams each hold a thread, as under gunicorn)."""
    app.config["WORKFLOWS_SSE_HEARTBEAT"] = 5
    app.config["WORKFLOWS_SSE_MAX_STREAMS"] = 200  # a thread per connection here, not gunicorn's fixed pool
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: install it (apt-get install chromium; .ci/run does)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Browser, base_url: str) -> Iterator:
    """open_page(path, **fragment) -> a new page (own context) at base_url + path + #fragment."""
    contexts = []
    errors: list[str] = []

    def open_it(path: str, **fragment: str) -> Page:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        query = urlencode({"key": APP_KEY, **fragment})
        page.goto(f"{base_url}{path}#{query}")
        return page

    yield open_it
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the panels: {errors}"


def submit_expense_after_field_errors(form, employee: str, amount: str, what: str) -> None:
    """Fill the trigger form for submit_expense as a newcomer would: submit it empty (the panel's own checks),
    then with an email the server refuses (its 422 on the field), then right."""
    expect(form.get_by_role("heading", name="Submit expense")).to_be_visible()
    form.get_by_role("button", name="Submit").click()  # nothing filled in: the client's own checks
    expect(form.locator('[data-field="amount"] .wf-field-error')).to_have_text("Missing data for required field.")
    form.get_by_label("Employee").fill("ann@example")  # passes the loose client check, not the server's
    form.get_by_label("Amount").fill(amount)
    form.get_by_label("Description").fill(what)
    form.get_by_role("button", name="Submit").click()
    expect(form.locator('[data-field="employee"] .wf-field-error')).to_have_text("Not a valid email address.")
    expect(form.get_by_label("Employee")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".wf-alert-success")).to_have_count(0)  # no "Submitted" for a refused start
    form.get_by_label("Employee").fill(employee)
    form.get_by_role("button", name="Submit").click()
