r"""How Budibase fills ``{{ }}`` bindings: Handlebars on its server (the ``all`` helper's printing, the later
JSON body rendering) and its client's bindings for a button's parameters and a component's settings.

The facts (files, commits) are in :mod:`tests.hosts.budibase`'s docstring; this module holds the template side
of that emulator so each file stays readable.
"""

from __future__ import annotations

import json
import re
from typing import Any

_HBS = re.compile(r"\{\{\s*(.+?)\s*\}\}")
_READABLE = {"Current User.OAuthToken": "[user].[oauth2].[accessToken]"}


def runtime_binding(text: str) -> str:
    """A builder's readable binding text in Budibase's runtime form (``Current User.x`` -> ``[user].[x]``)."""
    def convert(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr in _READABLE:
            return "{{ " + _READABLE[expr] + " }}"
        if expr.startswith("Current User."):
            return "{{ [user].[" + expr.removeprefix("Current User.") + "] }}"
        return match.group(0)
    return _HBS.sub(convert, text)


def _lookup(context: dict[str, Any], expr: str) -> Any:
    parts = [p.strip("[]") for p in re.findall(r"\[[^\]]*\]|[^.\[\]]+", expr)]
    value: Any = context
    for part in parts:
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def hbs_text(value: Any, escape_newlines: bool = False) -> str:
    """How the ``all`` helper prints a value inside text (``escape_newlines``: the server's option)."""
    if value is None:
        return ""
    if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(hbs_text(v) for v in value)
    text = str(value)
    if isinstance(value, str):
        text = text.replace("\n", "\\n") if escape_newlines else text
        text = text.replace("&amp;", "&")
    return text


def handlebars(template: str, context: dict[str, Any]) -> str:
    """Budibase's server-side rendering of one field (no HTML escaping, no helpers, newlines escaped)."""
    return _HBS.sub(lambda m: hbs_text(_lookup(context, m.group(1)), escape_newlines=True), template)


def json_template(template: str, context: dict[str, Any]) -> Any:
    """The later Budibase's JSON body rendering (``processJsonStringSync``): bare bindings swapped for tokens,
    the JSON parsed, then each string rendered (a token's text parsed as JSON when it can be); a template that
    is not JSON that way is rendered as text."""
    out, blocks, i, in_string, escaped = [], [], 0, False, False
    while i < len(template):
        char = template[i]
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif template.startswith("{{", i) and (end := template.find("}}", i + 2)) >= 0:
            out.append(json.dumps(f"__budibaseRawJsonBinding{len(blocks)}__"))
            blocks.append(template[i:end + 2])
            i = end + 2
            continue
        out.append(char)
        i += 1
    try:
        tree = json.loads("".join(out))
    except ValueError:
        return handlebars(template, context)

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            found = re.fullmatch(r"__budibaseRawJsonBinding(\d+)__", node)
            if not found:
                return handlebars(node, context)
            text = handlebars(blocks[int(found.group(1))], context)
            try:
                return json.loads(text)
            except ValueError:
                return text
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        return node
    return fill(tree)


_JS = re.compile(r'return (JSON\.stringify\()?\$\("([^"]+)"\)(?: \|\| "")?\)?')


def run_js(code: str, page: dict[str, Any]) -> Any:
    """A JavaScript binding, in the forms the recipes use: ``return $("<path>")`` and
    ``return JSON.stringify($("<path>") || "")``."""
    found = _JS.fullmatch(code.strip())
    if not found:
        raise AssertionError(f"the emulator runs only the recipe's forms of JS bindings, not {code!r}")
    value = _lookup(page, found.group(2))
    if found.group(1):
        return json.dumps(value or "", ensure_ascii=False, separators=(",", ":"))
    return value


def browser_value(template: str | dict[str, str], page: dict[str, Any]) -> str:
    """A button action's parameter as Budibase's client evaluates it: readable bindings over the page's
    context (``Current User``, forms' ``Fields``, ``Clicked row``, ``State``), printed as text; a JavaScript
    binding (``{"js": code}`` in the recipe) run by :func:`run_js`."""
    if isinstance(template, dict):
        return hbs_text(run_js(template["js"], page))
    return _HBS.sub(lambda m: hbs_text(_lookup(page, m.group(1))), template)


def page_value(template: str, page: dict[str, Any]) -> Any:
    """A component setting as the client evaluates it: one binding keeps its value (a table's rows), text
    mixes are printed. ``Current User.OAuthToken`` reads the user's ``oauth2.accessToken`` (whether the
    browser's user object holds it was not checked in Budibase's source)."""
    template = template.replace("Current User.OAuthToken", "Current User.oauth2.accessToken")
    single = _HBS.fullmatch(template.strip())
    return _lookup(page, single.group(1)) if single else browser_value(template, page)
