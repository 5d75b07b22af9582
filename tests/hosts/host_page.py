"""The app page a Budibase, ToolJet or Retool recipe builds, rendered in Chromium and clicked there.

What is the host's and what is ours: the bindings (a table's rows, a text, an iframe's URL, each button's query
and what it passes) are evaluated by the host's emulator (:mod:`tests.hosts.budibase`, :mod:`tests.hosts.tooljet`,
:mod:`tests.hosts.retool`, each written from that host's source or docs), and every click runs the recipe's query
through that emulator against the real stack. The page itself (plain HTML inputs, tables, buttons, a result line
after each action, the iframes of section 4 of the guides) is **our rendering**, not the host's components: it
shows what the recipe's components hold, not how the host draws them. The recipe's ``page`` section lists the
components, where each input's value lands in the host's binding context (``path``), and where each query's
answer is kept (``results``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from playwright.sync_api import Browser, Locator, Page

from tests.hosts.scenarios import Outcome

HERE = Path(__file__).parent


class HostApp(Protocol):
    """What a host's emulator gives the page: run one of the recipe's actions, evaluate a display binding."""

    def act(self, action: str, user: dict[str, Any], state: dict[str, Any]) -> Outcome: ...

    def show(self, template: str, user: dict[str, Any], state: dict[str, Any]) -> Any: ...


def put(state: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted path of the binding context (``ExpenseForm.Fields.amount``)."""
    *parents, last = path.split(".")
    for part in parents:
        state = state.setdefault(part, {})
    state[last] = value


def with_ids(spec: dict[str, Any]) -> dict[str, Any]:
    """The page spec with an element id on each component (``c<screen>-<n>``)."""
    copy = json.loads(json.dumps(spec))
    for s, screen in enumerate(copy["screens"]):
        for n, comp in enumerate(screen["components"]):
            comp["id"] = f"c{s}-{n}"
    return copy


class HostPage:
    """One signed-in user's page of a recipe's app, in its own browser context."""

    def __init__(self, browser: Browser, recipe: dict[str, Any], app: HostApp, user: dict[str, Any],
                 name: str) -> None:
        self.spec, self.app, self.user = with_ids(recipe["page"]), app, user
        self.query_of = {a["id"]: a["query"] for a in recipe["actions"]}
        host, label = recipe["host"], recipe["label"]
        self.state: dict[str, Any] = {}
        for path, value in self.spec.get("initial", {}).items():
            put(self.state, path, value)
        self.outcomes: list[tuple[str, Outcome]] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", lambda dialog: dialog.accept())  # "confirm before running": the user confirms
        self.page.expose_function("hostAct", self._act)
        setup = json.dumps({"host": host, "label": label, "user": name, "screens": self.spec["screens"],
                            "onLoad": self.spec.get("on_load", [])}).replace("</", "<\\/")
        # Served from 127.0.0.1 (not intercepted): Chromium lets a page frame the local plugin only from a local
        # address, as a host's page on the same network would be.
        self.server = _serve({
            "/app": ("text/html", f"<!doctype html><html><head><meta charset='utf-8'><title>{label} app (emulated)"
                                  f"</title></head><body><script>window.__HOST__ = {setup};</script>"
                                  "<script src='/host_page.js'></script></body></html>"),
            "/host_page.js": ("text/javascript", (HERE / "host_page.js").read_text())})
        self.page.goto(f"http://127.0.0.1:{self.server.server_port}/app")
        self.page.wait_for_function("document.body.dataset.done === '1'")

    def _act(self, request: dict[str, Any]) -> dict[str, Any]:
        """A click in the page: inputs land at their paths, the clicked row at the table's ``select`` path, then
        the action (and its ``then`` actions) runs through the host's emulator; the page gets its new values."""
        answer: dict[str, Any] | None = None
        try:
            for path, value in request.get("inputs", {}).items():
                put(self.state, path, value)
            if request.get("select"):
                put(self.state, request["select"], request.get("row") or {})
            for path, template in request.get("set", {}).items():
                put(self.state, path, self.app.show(template, self.user, self.state))
            for action in request.get("actions", []):
                outcome = self.app.act(action, self.user, self.state)
                self.outcomes.append((action, outcome))
                self._keep(action, outcome)
                if answer is None:
                    answer = {"action": action, "code": outcome.code, "body": outcome.body}
        except Exception as exc:  # shown in the page (a host's own failure, e.g. invalid JSON), and kept
            answer = {"action": request.get("actions", ["?"])[0], "code": 0, "failed": str(exc)}
            self.outcomes.append((answer["action"], Outcome(0, {"failed": str(exc)}, [])))
        return {"answer": answer, "view": self.view()}

    def _keep(self, action: str, outcome: Outcome) -> None:
        query = self.query_of[action]
        results = self.spec["results"]
        where = results.get(query) or results.get("*", "").replace("{query}", query)
        if where:
            put(self.state, where, outcome.body)

    def view(self) -> dict[str, Any]:
        """Each bound component's value, evaluated by the host's emulator over the page's state."""
        values: dict[str, Any] = {}
        for screen in self.spec["screens"]:
            for comp in screen["components"]:
                for key in ("rows", "value", "src", "default"):
                    if key in comp:
                        values[f"{comp['id']}.{key}"] = self.app.show(comp[key], self.user, self.state)
        return json.loads(json.dumps(values, default=str))

    # What a test does in the page -------------------------------------------------------------------------

    def screen(self, name: str) -> Locator:
        """The section of one screen (Expenses, Inbox, Runs)."""
        return self.page.locator(f'section[data-screen="{name}"]')

    def field(self, screen: str, label: str) -> Locator:
        """An input of a screen, by the component name shown beside it."""
        return self.screen(screen).get_by_label(label, exact=True)

    def acting(self, click: Callable[[], None]) -> Outcome:
        """Do ``click`` and wait until the page has shown the action's result: the first action's outcome."""
        before = len(self.outcomes)
        done = int(self.page.evaluate("document.body.dataset.done"))
        click()
        self.page.wait_for_function(f"Number(document.body.dataset.done) > {done}")
        assert len(self.outcomes) > before, "the click ran no query"
        return self.outcomes[before][1]

    def row(self, screen: str, row_id: str) -> Locator:
        """The table row of a screen showing the item ``row_id`` (a request or a run)."""
        return self.screen(screen).locator(f'tr[data-id="{row_id}"]')

    def shot(self, screen: str, path: Path | None) -> None:
        """Save one screen as a PNG (when ``path`` is given), after its iframes have drawn."""
        if path is None:
            return
        section = self.screen(screen)
        for frame in section.locator("iframe").all():
            frame.content_frame.locator("body").wait_for()
        section.screenshot(path=str(path))

    def close(self) -> None:
        self.context.close()
        self.server.shutdown()
        self.server.server_close()


def _serve(files: dict[str, tuple[str, str]]) -> ThreadingHTTPServer:
    """A local HTTP server for the page's two files, in a thread."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            kind, body = files.get(self.path.split("?")[0], ("text/plain", ""))
            data = body.encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, name="host-page", daemon=True).start()
    return server
