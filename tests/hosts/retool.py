"""A Retool emulator: a REST API resource and its queries, with ``{{ }}`` evaluated where Retool's docs say.

Retool is closed source: this follows its documentation (2026), pages read:
https://docs.retool.com/queries/quickstart ("Retool performs string interpolation and evaluates {{ }} embedded
expressions as JavaScript"), https://docs.retool.com/reference/apps/global/objects/current_user (``current_user``
may be used "as URL parameters or Headers in API resource configuration settings"; ``groups`` is a list of
objects), https://docs.retool.com/permissions/guides/current-user (``current_user.groups.map(group =>
group.name)``; ``current_user`` referenced in a resource's configuration), and the "Prevent query variable
spoofing" setting (``current_user`` verified on Retool's server). Facts carried over:

- The resource's headers are set once, by the builder; ``{{ current_user.* }}`` in them is filled on Retool's
  server, so no browser value reaches them.
- A query's other ``{{ }}`` (component values, ``additionalScope``) come from the app in the browser. A value
  that is exactly one ``{{ }}`` keeps its type in a JSON body's key/value rows; inside other text it is
  interpolated as text.
- ``query.trigger({additionalScope: {resolution: 'Approve'}})`` makes ``resolution`` a name inside that run's
  ``{{ }}`` only: one query, two buttons, each passing its own resolution.
- A query whose answer is 4xx/5xx fails (its error shows the answer); its ``.data`` keeps the body.

The binding mechanics (typed single expression, text interpolation) are the same as ToolJet's, so the
evaluation helpers of :mod:`tests.hosts.tooljet` are reused.
The emulated page (``tests/hosts/host_page.py``, ``test_host_pages.py``) draws the recipe's components as plain
HTML in Chromium: that drawing is ours, not Retool's; what it shows and sends comes from this emulator.
"""

from __future__ import annotations

from typing import Any

import requests

from tests.hosts.tooljet import UNDEFINED, Answer, js_string, resolve

ON_SERVER = "current_user"


def run_query(resource: dict[str, Any], query: dict[str, Any], state: dict[str, Any], user: dict[str, Any],
              scope: dict[str, Any] | None = None) -> Answer:
    """Trigger a query: the browser evaluates its bindings (with ``additionalScope``), Retool's server fills
    ``current_user`` in the resource's and the query's headers and parameters, then sends the request."""
    browser = {**state, **(scope or {})}
    server = {"current_user": user}
    options = resolve(query, browser, on_server=ON_SERVER)
    options = resolve(options, server, server=True, on_server=ON_SERVER)
    headers = resolve(resource["headers"], server, server=True, on_server=ON_SERVER)
    headers = {**headers, **{k: v for k, v in options.get("headers", {}).items()}}
    params = {k: js_string(v) for k, v in options.get("url_params", {}).items() if v is not UNDEFINED}
    body = None
    if options["method"] != "GET":
        body = {k: (None if v is UNDEFINED else v) for k, v in options.get("body", {}).items()}
    url = resource["base_url"].rstrip("/") + "/" + js_string(options["path"]).lstrip("/")
    sent = {"method": options["method"], "url": url, "headers": headers, "params": params, "json": body}
    answer = requests.request(options["method"], url, headers={k: js_string(v) for k, v in headers.items()},
                              params=params, json=body, timeout=30)
    try:
        data = answer.json()
    except ValueError:
        data = answer.text
    return Answer(answer.status_code, data, sent)
