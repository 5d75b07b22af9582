"""A ToolJet emulator: its browser resolving ``{{ }}`` in a query's options, and its REST API plugin sending them.

Written from ToolJet's source (ToolJet/ToolJet, the 3.x line; files read):
``frontend/src/_helpers/utils.js`` (@853d62c5: ``resolveReferences``, ``resolveCode``),
``plugins/packages/restapi/lib/index.ts`` (@f0ddb357) and ``plugins/packages/common/lib/utils.helper.ts``
(@e4bd3812: ``sanitizeHeaders``, ``sanitizeSearchParams``, ``isEmpty``), and its docs
(``docs/versioned_docs/version-3.16.0-LTS``: ``app-builder/custom-code/access-users-groups.md``,
``app-builder/dynamic-access-rule/row-level-security.md``, ``user-management/sso/oidc/ssouserinfo.md`` and
``oidc/setup.md``). Facts carried over (no code):

- A text that is exactly one ``{{ }}`` becomes the expression's value, typed (an object stays an object). A text
  that mixes anything else with ``{{ }}`` gets each expression's value by JavaScript's string conversion:
  a string is inserted unquoted, ``undefined`` as ``undefined``, an object as ``[object Object]``. So a JSON
  body needs ``{{JSON.stringify(x)}}`` for every string it inserts.
- Expressions see ``components``, ``queries``, ``globals``, ``variables``, ``page`` and, for a query run with
  parameters, ``parameters`` (the values an event's "Run query" action passes, each resolved the same way).
  Community resolves all of this in the browser; Enterprise resolves ``{{globals.server.currentUser.*}}``
  (``email``, ``groups``...) on ToolJet's server, from the session.
- The REST API plugin (on the server): a header or URL-parameter row is kept when its key or value is not
  empty; the datasource's rows are added after the query's (same key: the datasource's wins); a header with an
  empty value is dropped, an empty URL parameter is sent (``status=``). With "JSON body" on, the body text is
  parsed with JSON5 before anything is sent: invalid JSON fails the query. Otherwise the body rows become an
  object.
- ``globals.currentUser.ssoUserInfo`` (``id_token``...) exists with ToolJet's OIDC SSO, a paid feature ("Paid
  feature" in ``oidc/setup.md``; "only for Enterprise edition" in the older ``openid/setup.md``); nothing in the
  Community source read fills it.
The emulated page (``tests/hosts/host_page.py``, ``test_host_pages.py``) draws the recipe's components as plain
HTML in Chromium: that drawing is ours, not ToolJet's; what it shows and sends comes from this emulator.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import requests


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()
_CODE = re.compile(r"\{\{(.*?)\}\}")
_SERVER = "globals.server."


class QueryFailed(Exception):
    """ToolJet failed the query before sending it (the message its toast shows)."""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def js_string(value: Any) -> str:
    """JavaScript's String(value)."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list):
        return ",".join("" if v is None or v is UNDEFINED else js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def json_stringify(value: Any) -> Any:
    """JavaScript's JSON.stringify(value) (undefined for undefined)."""
    if value is UNDEFINED:
        return UNDEFINED
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _path(state: dict[str, Any], code: str) -> Any:
    value: Any = state
    for part in re.findall(r"[A-Za-z_$][\w$]*|\[\d+\]|\[\"[^\"]*\"\]|\['[^']*'\]", code):
        key: Any = part.strip("[]\"'")
        if part.startswith("[") and key.isdigit():
            key = int(key)
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return UNDEFINED
    return value


def evaluate(code: str, state: dict[str, Any]) -> Any:
    """The expressions the recipes use: a property path, a quoted string, ``JSON.stringify(<path>)``,
    ``<path>.map(x => x.<key>).join('<sep>')``."""
    code = code.strip()
    if re.fullmatch(r"'[^']*'|\"[^\"]*\"", code):
        return code[1:-1]
    found = re.fullmatch(r"JSON\.stringify\((.+)\)", code)
    if found:
        return json_stringify(evaluate(found.group(1), state))
    found = re.fullmatch(r"(.+)\.map\(\(?(\w+)\)? => \2\.(\w+)\)\.join\('([^']*)'\)", code)
    if found:  # list.map(g => g.name).join(',')
        items = evaluate(found.group(1), state)
        return found.group(4).join(js_string(i.get(found.group(3), UNDEFINED)) for i in items)
    if not re.fullmatch(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\]|\[\"[^\"]*\"\]|\['[^']*'\])*", code):
        raise AssertionError(f"the emulator does not evaluate {code!r}")
    return _path(state, code)


def resolve(value: Any, state: dict[str, Any], server: bool = False, on_server: str = _SERVER) -> Any:
    """``resolveReferences``: in the browser (``server=False``) expressions starting with ``on_server``
    (``globals.server.``) are left for the server, which resolves only those."""
    if isinstance(value, dict):
        return {k: resolve(v, state, server, on_server) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, state, server, on_server) for v in value]
    if not isinstance(value, str):
        return value

    def skip(code: str) -> bool:
        return code.strip().startswith(on_server) != server

    if value.startswith("{{") and value.endswith("}}") and value.count("{{") == 1:
        return value if skip(value[2:-2]) else evaluate(value[2:-2], state)
    text = value
    for match in _CODE.finditer(value):
        if not skip(match.group(1)):
            text = text.replace(match.group(0), js_string(evaluate(match.group(1), state)), 1)
    return text


def _blank(value: Any) -> bool:
    """The plugins' isEmpty: undefined, null, a number (sic), {} or a blank string."""
    if value is None or value is UNDEFINED or isinstance(value, int | float):
        return True
    if isinstance(value, str):
        if not value.strip():
            return True
        try:
            float(value)
            return True
        except ValueError:
            return False
    return isinstance(value, dict) and not value


@dataclass
class Answer:
    """A query run's outcome: the status the API answered and its parsed body."""

    code: int
    data: Any
    sent: dict[str, Any]


def run_rest(source: dict[str, Any], options: dict[str, Any]) -> Answer:
    """The REST API plugin on ToolJet's server, with the query's options as resolved for it."""
    def rows(name: str) -> list[list[Any]]:
        return [r for r in options.get(name, []) if any(not _blank(c) for c in r)] + source.get(name, [])

    headers = {str(k): (",".join(map(js_string, v)) if isinstance(v, list) else js_string(v))
               for k, v in dict(rows("headers")).items()}
    headers = {k: v for k, v in headers.items() if v != ""}
    params = {str(k): js_string(v) for k, v in dict(rows("url_params")).items() if v is not UNDEFINED}
    method = options["method"]
    body = None
    if method != "get":
        if options.get("body_toggle"):
            text = options.get("json_body")
            try:
                body = json.loads(text) if isinstance(text, str) else text
            except ValueError as exc:
                raise QueryFailed(f"JSON5: invalid body: {exc}") from None
        else:
            body = dict(rows("body"))
    url = source["url"] + js_string(options.get("url", ""))
    sent = {"method": method, "url": url, "headers": headers, "params": params, "json": body}
    answer = requests.request(method.upper(), url, headers=headers, params=params, json=body, timeout=30)
    try:
        data = answer.json()
    except ValueError:
        data = answer.text
    return Answer(answer.status_code, data, sent)


def run_query(source: dict[str, Any], query: dict[str, Any], state: dict[str, Any], user: dict[str, Any],
              parameters: dict[str, Any] | None = None, edition: str = "enterprise") -> Answer:
    """A "Run query" action: the browser resolves the options (with the event's parameters), Enterprise's server
    resolves ``globals.server.*`` from the session user, then the REST API plugin runs."""
    passed = resolve(parameters or {}, state)
    defaults = {p["name"]: p.get("defaultValue", "") for p in query.get("parameters", [])}
    scope = {**state, "parameters": {**defaults, **{k: v for k, v in passed.items() if v is not UNDEFINED}}}
    options = resolve({k: v for k, v in query.items() if k not in ("parameters", "name")}, scope)
    if edition == "enterprise":
        options = resolve(options, {"globals": {"server": {"currentUser": user}}}, server=True)
    return run_rest(source, options)
