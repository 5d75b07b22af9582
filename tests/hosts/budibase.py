r"""A Budibase emulator: its OpenAPI 3 import, and its server running the imported REST queries.

Written from Budibase's source (master as indexed, 3.x: the ``sdk/workspace`` layout), files read:
``packages/server/src/api/controllers/query/import/sources/openapi3.ts`` (@0b8d5b50),
``.../import/sources/utils/requestBody.ts`` (@4620f728), ``.../import/sources/base/index.ts`` (@0b3f0451),
``.../import/index.ts`` (@025ce35d), ``packages/server/src/api/controllers/query/index.ts`` (@01947a24),
``packages/server/src/threads/query.ts`` (@01947a24), ``packages/server/src/sdk/workspace/queries/queries.ts``
(@23ecddfd), ``packages/server/src/integrations/rest.ts`` (@84d9f681), ``packages/builder/src/dataBinding.ts``
(``getRestBindings``, ``getAuthBindings``).
Facts carried over (no code):

- Import: one query per operation, named by its ``operationId``. A query parameter becomes ``name={{name}}`` in
  the query string, a header parameter a ``{{name}}`` header, a path parameter ``{{name}}`` in the path; each
  gets a binding whose default is the schema's ``default`` or ``""``. A header named by an ``apiKey`` security
  scheme is not bound: it goes to the datasource's headers (value ``""``) instead. The body comes from the media
  type's ``example``, else the schema's ``example``, else the schema (required properties, then optional ones up
  to 12 in all); each leaf is a binding named by its path without the root (``input_employee``), defaulting to
  the example's value, else the schema's example, default or first enum value, else ``""``/``0``/``false``.
  String leaves are quoted in the body text (``"{{ input_employee }}"``), others not.
- Run: the browser sends the parameters; one holding ``{{`` is refused; an unset one (``""``/missing) takes its
  default and then, for queries made since null-default support, ``null``. On Budibase's server the query's
  fields and the datasource's headers are rendered with Handlebars over the parameters plus ``user`` (the
  signed-in user; set last, so no parameter can replace it): text substitution, no JSON quoting, ``null`` and
  missing values render as nothing. Headers are the datasource's, then the query's, then auth; the query string
  is sent as rendered (empty values included, nothing URL-encoded); a JSON body that does not parse fails the
  query. An answer with status 400 or more runs the whole query once more.
- ``user`` is the signed-in user with ``roleId``, their app role, set by the server's app middleware
  (``packages/server/src/middleware/currentapp.ts`` @6d822564; a custom role's id is its name, see
  ``packages/backend-core/src/security/roles.ts`` @06413fda). Only a builder previewing the development app may
  choose a role (a preview header); published apps use the user's own.
- Builder bindings are written in readable form (``{{ Current User.email }}``) and stored in runtime form
  (``{{ [user].[email] }}``).
- How a value is printed (``packages/string-templates/src/helpers/index.ts`` @08d40db9, the ``all`` helper every
  statement is wrapped in; ``processors/preprocessor.ts`` @01e260b9): an object (or a list of objects) as its
  JSON, null/undefined as nothing, a string as is except that the server's ``escapeNewlines`` turns each newline
  into the two characters ``\n`` (and ``&amp;`` becomes ``&``). Nothing else is escaped: a ``"`` or ``\`` typed
  into a text field lands raw inside the body's JSON string and breaks it. With ``noHelpers`` (the server) no
  helper such as ``object`` can be used.
- A JavaScript binding (``{{ js "<base64>" }}``, ``helpers/javascript.ts`` @03c514be) runs in the browser for a
  button's query parameters; ``$("<path>")`` reads the binding context by a dotted path. The recipe uses
  ``return JSON.stringify($("Form.Fields.x") || "")`` and the body slot unquoted (``"comment": {{ comment }}``):
  the value arrives as a JSON string literal, so any text survives. This emulator runs only that form of JS.
- A later Budibase (``packages/string-templates/src/index.ts`` @027a9c4e, ``processJsonStringSync``, used by
  the query enrichment for ``json``/``customData``/``requestBody`` fields in a later stored version of
  ``sdk/workspace/queries/queries.ts``; the index gives no commit for that version) parses the JSON body first:
  a binding inside a JSON string is substituted into the decoded string (a ``"`` survives, a newline becomes
  ``\n`` text), a bare binding's text is parsed as JSON when it can be. ``BudibaseServer(json_templates=True)``
  follows that version; the recipe's form gives the exact text in both.
The emulated page (``tests/hosts/host_page.py``, ``test_host_pages.py``) draws the recipe's components as plain
HTML in Chromium: that drawing is ours, not Budibase's; what it shows and sends comes from this emulator.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.hosts.budibase_templates import handlebars, hbs_text, json_template, runtime_binding

BODY_LIMIT = 12


class QueryFailed(Exception):
    """Budibase refused to run the query (its 400 to the browser), with its reason."""


@dataclass
class Query:
    """An imported (or edited) REST query, as Budibase stores it."""

    name: str
    verb: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: str | None
    parameters: dict[str, str]  # binding name -> default
    transformer: str = "return data"


@dataclass
class Datasource:
    """The REST datasource the import makes (``url``, default headers for the security schemes)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    queries: dict[str, Query] = field(default_factory=dict)


def _resolve(doc: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict) and "$ref" in value:
        target: Any = doc
        for part in value["$ref"].removeprefix("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        return target
    return value


def _leaf_default(schema: dict[str, Any], kind: str) -> str:
    for key in ("example", "default"):
        if schema.get(key) is not None:
            return hbs_text(schema[key])
    if schema.get("enum"):
        return hbs_text(schema["enum"][0])
    return {"boolean": "false", "integer": "0", "number": "0"}.get(kind, "")


def _body_from_schema(schema: Any, path: list[str], depth: int, bindings: dict[str, tuple[str, str]]) -> Any:
    """requestBody.ts's walk of a schema: objects and arrays kept, leaves turned into typed bindings."""
    if not isinstance(schema, dict) or "$ref" in schema:  # nested references are not followed
        schema = {}
    if schema.get("allOf"):
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            if isinstance(part, dict) and "$ref" not in part:
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
                merged.setdefault("type", part.get("type"))
        schema = merged
    kind = schema.get("type") or ("object" if schema.get("properties") else None)
    if kind == "object" and depth <= 5:
        props = {k: v for k, v in schema.get("properties", {}).items() if isinstance(v, dict) and "$ref" not in v}
        if not props:
            return {}
        required = [p for p in schema.get("required", []) if p in props]
        optional = [p for p in props if p not in required][:max(BODY_LIMIT - len(required), 0)]
        return {p: _body_from_schema(props[p], [*path, p], depth + 1, bindings) for p in [*required, *optional]}
    if kind == "array" and depth <= 5:
        return [_body_from_schema(schema.get("items", {}), [*path, "item"], depth + 1, bindings)]
    name = "_".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in path[1:] if p != "item") or "value"
    primitive = kind if kind in ("integer", "number", "boolean") else "string"
    bindings.setdefault(name, (primitive, _leaf_default(schema, primitive)))
    return ("\x00binding", name, primitive)


def _body_from_example(example: Any, path: list[str], bindings: dict[str, tuple[str, str]]) -> Any:
    if isinstance(example, dict):
        return {k: _body_from_example(v, [*path, k], bindings) for k, v in example.items()}
    if isinstance(example, list):
        return [_body_from_example(example[0], [*path, "item"], bindings)] if example else []
    if example is None:
        return None
    name = "_".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in path[1:] if p != "item") or "value"
    kind = "boolean" if isinstance(example, bool) else "number" if isinstance(example, int | float) else "string"
    bindings.setdefault(name, (kind, hbs_text(example)))
    return ("\x00binding", name, kind)


def _bodyhbs_text(value: Any) -> str:
    """The body template: JSON with each binding in place, strings quoted, other leaves bare."""
    def encode(node: Any) -> Any:
        if isinstance(node, tuple) and node[:1] == ("\x00binding",):
            return f"\x01{node[1]}\x01{node[2]}\x01"
        if isinstance(node, dict):
            return {k: encode(v) for k, v in node.items()}
        if isinstance(node, list):
            return [encode(v) for v in node]
        return node
    text = json.dumps(encode(value), indent=2)
    return re.sub(r'"\\u0001(\w+)\\u0001(\w+)\\u0001"',
                  lambda m: f'"{{{{ {m.group(1)} }}}}"' if m.group(2) == "string" else f"{{{{ {m.group(1)} }}}}", text)


def import_openapi(doc: dict[str, Any]) -> Datasource:
    """What "Import, OpenAPI 3" makes of a document: the datasource and one query per operation."""
    server = (doc.get("servers") or [{}])[0].get("url", "")
    schemes = [_resolve(doc, s) for s in doc.get("components", {}).get("securitySchemes", {}).values()]
    secured = {s["name"].lower(): s["name"] for s in schemes if s.get("type") == "apiKey" and s.get("in") == "header"}
    source = Datasource(url=server, headers={name: "" for name in secured.values()})
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            name = operation.get("operationId") or f"{method} {path}"
            params: dict[str, str] = {}
            headers: dict[str, str] = {}
            query: list[str] = []
            content = _resolve(doc, operation.get("requestBody", {})).get("content", {})
            mime = next(iter(content), None)
            if mime:
                headers["Content-Type"] = mime
            for param in [_resolve(doc, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]]:
                where, pname = param.get("in"), param["name"]
                if where == "header" and pname.lower() in secured:
                    continue
                if where == "query":
                    query.append(f"{pname}={{{{{pname}}}}}")
                elif where == "header":
                    headers[pname] = f"{{{{{pname}}}}}"
                default = _resolve(doc, param.get("schema", {})).get("default")
                params.setdefault(pname, "" if default is None else hbs_text(default))
            body = None
            if mime and method in ("post", "put", "patch"):
                media = content[mime]
                bindings: dict[str, tuple[str, str]] = {}
                schema = _resolve(doc, media.get("schema"))
                if "example" in media:
                    tree = _body_from_example(media["example"], [name], bindings)
                elif isinstance(schema, dict) and "example" in schema:
                    tree = _body_from_example(schema["example"], [name], bindings)
                else:
                    tree = _body_from_schema(schema, [name], 0, bindings)
                body = _bodyhbs_text(tree)
                for bname, (_, default) in bindings.items():
                    params.setdefault(bname, default)
            url = server.rstrip("/") + "/" + re.sub(r"\{([^{}]+)\}", r"{{\1}}", path.lstrip("/"))
            source.queries[name] = Query(name, method.upper(), url, "&".join(query), headers, body, params)
    return source


@dataclass
class Answer:
    """What the browser gets back from Budibase for a query run: rows and the upstream status."""

    rows: list[Any]
    code: int
    sent: list[dict[str, Any]]  # each request Budibase sent upstream (twice on a 4xx/5xx)


class BudibaseServer:
    """Runs a datasource's queries the way Budibase's server does (see the module docstring)."""

    def __init__(self, source: Datasource, json_templates: bool = False) -> None:
        self.source = source
        self.json_templates = json_templates  # the later Budibase's JSON body rendering (module docstring)

    def execute(self, name: str, parameters: dict[str, Any], user: dict[str, Any]) -> Answer:
        """POST /api/v2/queries/<id> from the browser, as ``user``, with the browser-evaluated parameters."""
        query = self.source.queries[name]
        for key, value in parameters.items():
            if isinstance(value, str) and "{{" in value:
                raise QueryFailed(f"Parameter '{key}' input contains a handlebars binding - this is not allowed.")
        values: dict[str, Any] = dict(parameters)
        for pname, default in query.parameters.items():
            value = values.get(pname) or default
            values[pname] = None if value in ("", None) else value
        context = {**values, "user": user}
        sent: list[dict[str, Any]] = []
        for _ in range(2):  # an answer of 400 or more is run once more
            code, data = self._send(query, context, sent)
            if code < 400:
                break
        rows = self._transform(query.transformer, data)
        return Answer(rows if isinstance(rows, list) else [rows], code, sent)

    def _send(self, query: Query, context: dict[str, Any], sent: list[dict[str, Any]]) -> tuple[int, Any]:
        headers = {k: handlebars(runtime_binding(v), context) for k, v in self.source.headers.items()}
        headers.update({k: handlebars(v, context) for k, v in query.headers.items()})
        url = handlebars(query.path, context) + "?" + handlebars(query.query_string, context)
        body = None
        if query.body is not None:
            rendered = json_template(query.body, context) if self.json_templates else handlebars(query.body, context)
            try:
                body = json.dumps(json.loads(rendered) if isinstance(rendered, str) else rendered)
            except ValueError:
                raise QueryFailed("Invalid JSON for request body") from None
        sent.append({"method": query.verb, "url": url, "headers": headers, "body": body})
        answer = requests.request(query.verb, url, headers=headers, data=body, timeout=30)
        try:
            return answer.status_code, answer.json()
        except ValueError:
            return answer.status_code, answer.text

    @staticmethod
    def _transform(transformer: str, data: Any) -> Any:
        """The query's transformer; only the forms the recipe uses (``return data``, ``return data.key``)."""
        found = re.fullmatch(r"return data((?:\.\w+)*)", transformer.strip())
        if not found:
            raise AssertionError(f"the emulator runs only 'return data[.key...]' transformers, not {transformer!r}")
        for key in filter(None, found.group(1).split(".")):
            data = data.get(key) if isinstance(data, dict) else None
        return data
