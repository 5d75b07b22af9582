"""An Appsmith emulator for the tests: an Appsmith page with custom widgets in Chromium, and Appsmith's server side
of a REST query, so a recipe (tests/hosts/recipes/appsmith.json) runs literally against the real stack.

Written for these tests from Appsmith's own source (appsmithorg/appsmith; facts carried over, no code):
- client, custom widget: ``app/client/src/widgets/CustomWidget/component/index.tsx`` (iframe srcDoc composition,
  sandbox, message handling; iframe version at commit 02480d8a9bb428f9ca760002d7875f6315731360, UPDATE_HEIGHT
  applied only when the widget's height is not fixed as in 18b89db42d8f2e34a4228c34fbfaf5bfeed1b3be),
  ``component/customWidgetscript.js`` (commit 7e9b98eb92bdc4da9363526744088ca394b548ed: the host script, its
  ACKed message queue, READY on load, ResizeObserver heights, theme), ``component/reset.css``,
  ``widget/index.tsx`` (the Default Model: a bindable text validated as an OBJECT);
- client, queries: ``app/client/src/sagas/ActionExecution/PluginActionSaga.ts`` (evaluateActionParams: bindings
  evaluated in the browser with ``this.params``, values cleaned by a JSON round trip, objects sent as JSON,
  the rest as text; commit 93dc24fa03cc0b06168df24d93c0f1974324060a) and the evaluation worker's
  ``evaluateActionBindings`` / ``removeFunctions``;
- server: ``app/server/appsmith-interfaces/.../restApiUtils/helpers/URIUtils.java`` (every query parameter with
  a non-empty key is added, its value URL-encoded, empty or not; the action's parameters before the
  datasource's), smart JSON substitution of the body (a string value is inserted as a JSON string, other types
  as their JSON), ``<<APPSMITH_USER_OAUTH2_ACCESS_TOKEN>>`` filled on the server (Business edition, OIDC SSO),
  and ``X-APPSMITH-SIGNATURE`` on an Authenticated API datasource (tests/identity_helpers.appsmith_signature).

The browser side lives in ``appsmith_client.js`` (the page) and ``ui_panels/devhost/widget-host.js`` (the script
inside each widget, shared with the dev host so both speak the protocol the same way), with
``ui_panels/devhost/reset.css``. Version emulated: Appsmith v1.x (2024-2025) with iframe custom widgets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Browser, Frame, Page

from plugin import assets
from plugin.api.pages.panels import export_panel
from tests.identity_helpers import appsmith_signature

HERE = Path(__file__).parent
RECIPE = HERE / "recipes" / "appsmith.json"
OAUTH2_TOKEN = "<<APPSMITH_USER_OAUTH2_ACCESS_TOKEN>>"
PAGE_URL = "http://appsmith.emulator/app/expenses/page1"


def load_recipe() -> dict[str, Any]:
    """The Appsmith recipe as the file has it."""
    return json.loads(RECIPE.read_text())


@dataclass
class AppsmithUser:
    """A signed-in Appsmith user: what the browser knows (email, decoded ID token claims) and the access token
    Appsmith's server fills into ``<<APPSMITH_USER_OAUTH2_ACCESS_TOKEN>>``."""

    email: str
    access_token: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class AppsmithServer:
    """Appsmith's server running one REST query of the recipe for a user: substitute the values the browser
    sent, fill server-side placeholders, add the datasource's headers (and signature), send the request."""

    recipe: dict[str, Any]
    plugin_url: str
    app_key: str
    signature_secret: str | None
    sent: list[dict[str, Any]] = field(default_factory=list)

    def execute(self, user: AppsmithUser, name: str, bindings: list[str], values: list[dict[str, str]]) -> dict:
        """Run query ``name`` with the browser's evaluated ``bindings`` -> ``values``; answer as the client sees it."""
        query = next(q for q in self.recipe["queries"] if q["name"] == name)
        found = dict(zip(bindings, values, strict=True))

        def plain(text: str) -> str:
            return _substitute(text, lambda js: found[js]["text"])

        def smart(text: str) -> str:
            return _substitute(text, lambda js: json.dumps(found[js]["text"]) if found[js]["type"] == "string"
                               else found[js]["text"])

        headers = {k: plain(v) for k, v in {**self.recipe["identity_header"], **query.get("headers", {})}.items()}
        headers = {k: v.replace(OAUTH2_TOKEN, user.access_token) for k, v in headers.items() if k}
        datasource = self.recipe["datasource"]
        for key, value in datasource["headers"].items():
            headers.setdefault(key, value.replace("{app_key}", self.app_key))
        if datasource.get("send_appsmith_signature") and self.signature_secret:
            headers["X-APPSMITH-SIGNATURE"] = appsmith_signature(self.signature_secret)
        params = [(k, plain(v)) for k, v in query.get("params", {}).items() if k]
        body = smart(query["body"]) if query.get("body") is not None else None
        url = self.plugin_url + plain(query["path"])
        self.sent.append({"query": name, "user": user.email, "url": url, "params": params, "headers": headers,
                          "body": body})
        response = requests.request(query["method"], url, params=params, headers=headers,
                                    data=body.encode() if body is not None else None, timeout=30)
        try:
            data: Any = response.json()
        except ValueError:
            data = response.text
        return {"status": response.status_code, "ok": response.ok, "body": data, "headers": dict(response.headers)}


def _substitute(text: str, value_of: Callable[[str], str]) -> str:
    out, i = [], 0
    for start, end, js in _segments(text):
        out += [text[i:start], value_of(js)]
        i = end
    return "".join(out + [text[i:]])


def _segments(text: str) -> list[tuple[int, int, str]]:
    """(start, end, js) of each ``{{ }}`` binding, braces counted as Appsmith's segmenter does."""
    found, i = [], 0
    while (start := text.find("{{", i)) >= 0:
        depth, j = 0, start
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        found.append((start, j + 1, text[start + 2:j - 1]))
        i = j + 1
    return found


def bindings_in(text: str) -> list[str]:
    """The JavaScript of each binding in a property's text."""
    return [js for _, _, js in _segments(text)]


class AppsmithPage:
    """The recipe's page, deployed, opened by one user in its own browser context."""

    def __init__(self, browser: Browser, server: AppsmithServer, user: AppsmithUser,
                 viewport: tuple[int, int] = (1200, 1000)) -> None:
        self.server, self.user = server, user
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.expose_function("appsmithServerExecute",
                                  lambda name, bindings, values: server.execute(user, name, bindings, values))
        self.page.route(re.compile(r"^http://appsmith\.emulator/"), self._serve)
        self.page.goto(PAGE_URL)
        try:
            self.page.wait_for_function("window.__appsmithLoaded === true", timeout=30_000)
        except Exception as exc:
            raise AssertionError(f"the emulated Appsmith page did not load: {self.errors}") from exc

    def _serve(self, route: Any) -> None:
        if route.request.url.endswith("/appsmith_client.js"):
            route.fulfill(status=200, content_type="text/javascript", body=(HERE / "appsmith_client.js").read_text())
            return
        recipe = self.server.recipe
        setup = {"queries": recipe["queries"], "widgets": recipe["widgets"], "theme": recipe["theme"],
                 "user": {"email": self.user.email, "name": self.user.email.split("@")[0], "idToken": self.user.claims},
                 "parts": {w["panel"]: export_panel(w["panel"]) for w in recipe["widgets"]},
                 "reset": (assets.ui_panels() / "devhost" / "reset.css").read_text(),
                 "widgetScript": (assets.ui_panels() / "devhost" / "widget-host.js").read_text()}
        data = json.dumps(setup).replace("</", "<\\/")
        page = ("<!doctype html><html><head><meta charset='utf-8'><title>Expenses · Appsmith (emulated)</title>"
                "<style>body{margin:0;font:14px system-ui;background:#F8FAFC}header{background:#fff;padding:10px 16px;"
                "border-bottom:1px solid #e5e7eb;font-weight:600}#canvas{padding:8px 16px;max-width:1100px}"
                "h2{font-size:12px;color:#667085;margin:14px 0 4px}.widget{background:#fff;border:1px solid #e5e7eb;"
                "border-radius:6px;overflow:hidden}iframe{border:0;display:block;margin:4px}</style></head>"
                f"<body><header>Expenses (Appsmith, emulated) · {self.user.email}</header><div id='canvas'></div>"
                f"<script>window.__APPSMITH__ = {data};</script>"
                "<script src='/appsmith_client.js'></script></body></html>")
        route.fulfill(status=200, content_type="text/html", body=page)

    def widget(self, name: str) -> Frame:
        """The frame of the custom widget ``name`` (its iframe's document)."""
        return self.page.frame_locator(f'section[data-widget="{name}"] iframe')

    def log(self) -> list[dict[str, Any]]:
        """What the page logged: query runs, widget messages, event errors."""
        return self.page.evaluate("window.__appsmithLog")

    def widget_errors(self) -> dict[str, list[str]]:
        """Evaluation errors of each widget's Default Model."""
        return self.page.evaluate("Object.fromEntries(window.__appsmith.widgets.map(w => [w.config.name, w.errors]))")

    def close(self) -> None:
        self.context.close()
