"""One typed trigger operation per workflow query, made from the generic one and the query's input schema.

``POST /api/v1/queries/submit_expense/runs`` takes that query's input JSON Schema as its body, so a host that
imports the document (Budibase "Import OpenAPI 3", ToolJet's OpenAPI datasource, Postman) gets a ready, typed
form per workflow.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import quote

from plugin.api.openapi.host import request_examples
from plugin.workspace.loader import Query, Workspace

GENERIC_PATH = "/api/v1/queries/{name}/runs"
GENERIC_OPERATION = "triggerWorkflow"
_DROP = {"$schema"}
TYPED_TAG = "Typed queries"


def openapi_schema(spec: Any, top: bool = True, closed: bool = True) -> Any:
    """A query's input (or output) JSON Schema as an OpenAPI 3.0 schema.

    With ``closed`` (inputs), objects with properties refuse unknown ones unless ``additionalProperties``
    allows them, as the loader does. Numeric ``exclusiveMinimum``/``exclusiveMaximum`` become OpenAPI 3.0's
    boolean form.
    """
    if not isinstance(spec, dict):
        return spec
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _DROP:
            continue
        if key == "properties":
            out[key] = {name: openapi_schema(sub, False, closed) for name, sub in value.items()}
        elif key == "items":
            out[key] = openapi_schema(value, False, closed)
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            out[bound] = value
            out[key] = True
        else:
            out[key] = value
    if closed and out.get("type", "object" if top else None) == "object" and (top or "properties" in out):
        out.setdefault("type", "object")
        out.setdefault("properties", {})
        out["additionalProperties"] = bool(spec.get("additionalProperties", False))
    return out


def example_value(spec: dict[str, Any]) -> Any:
    """A plausible value for a JSON Schema, for the body example of a typed operation."""
    if "default" in spec:
        return spec["default"]
    if spec.get("enum"):
        return spec["enum"][0]
    kind = spec.get("type")
    if kind == "object":
        props = spec.get("properties", {})
        return {name: example_value(sub) for name, sub in props.items()}
    if kind == "array":
        return [example_value(spec["items"])] * max(1, spec.get("minItems", 1)) if "items" in spec else []
    if kind == "boolean":
        return True
    if kind in ("number", "integer"):
        low = spec.get("minimum", spec.get("exclusiveMinimum", 0))
        value = max(low if not isinstance(low, bool) else 0, 0) + 1
        high = spec.get("maximum", spec.get("exclusiveMaximum"))
        if isinstance(high, int | float) and not isinstance(high, bool) and value >= high:
            value = high - 1 if spec.get("exclusiveMaximum") is not None else high
        return int(value) if kind == "integer" else value
    if spec.get("format") == "email":
        return "ann@example.com"
    text = "text"
    return (text * 10)[: max(spec.get("minLength", 1), min(len(text), spec.get("maxLength", len(text))))]


def typed_operation_id(name: str, taken: set[str]) -> str:
    """``submit_expense`` -> ``triggerSubmitExpense``; made unique against ``taken``."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    base = "trigger" + "".join(w[:1].upper() + w[1:] for w in words) if words else "triggerQuery"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    return candidate


def _typed(generic: dict[str, Any], query: Query, operation_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The operation for one query and the component schemas it adds (its body, and its output if known)."""
    operation = copy.deepcopy(generic)
    operation["operationId"] = operation_id
    operation["summary"] = f"Trigger workflow: {query.label}"
    wait = (f" Waits up to {query.wait_seconds} s for the output by default (a sync query)."
            if query.wait_seconds else "")
    operation["description"] = (f"{query.description}\n\nRuns workflow `{query.workflow}` with the input of query "
                                f"`{query.name}`.{wait}").strip()
    operation["tags"] = [TYPED_TAG]
    input_schema = openapi_schema(query.input_json_schema)
    body_schema = {"type": "object", "required": ["input"], "additionalProperties": False,
                   "properties": {"input": input_schema}, "description": f"Trigger data of {query.name}"}
    example = {"input": example_value(input_schema)}
    operation["requestBody"] = {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{operation_id}Body"}, "examples": request_examples(example)}}}
    components = {f"{operation_id}Body": body_schema}
    for code in ("200", "202"):
        content = operation.get("responses", {}).get(code, {}).get("content", {}).get("application/json")
        if content and isinstance(content.get("example"), dict):
            run_id = f"{query.name}-5f0c9a4e2b7d4c1e8a6b3d2f1e0c9b8a"
            content["example"] = {**content["example"], "query": query.name, "run_id": run_id,
                                  "status_url": f"/api/v1/runs/{quote(run_id, safe='')}"}
    completed = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json")
    if query.output_json_schema is not None and query.definition is None and completed:
        # A Python workflow's 200 is always the completed run; a definition's respond step answers its own body.
        output = openapi_schema(query.output_json_schema, closed=False)
        components[f"{operation_id}Completed"] = {"allOf": [completed["schema"], {
            "type": "object", "properties": {"output": output}}]}
        completed["schema"] = {"$ref": f"#/components/schemas/{operation_id}Completed"}
        if isinstance(completed.get("example"), dict):
            completed["example"]["output"] = example_value(output)
    elif completed:
        completed.pop("example", None)  # the generic example's output is another workflow's
    return operation, components


def add_typed_operations(doc: dict[str, Any], workspace: Workspace) -> dict[str, Any]:
    """Add ``POST /api/v1/queries/<name>/runs`` per query to a copy-safe document (mutated in place)."""
    generic = doc.get("paths", {}).get(GENERIC_PATH, {}).get("post")
    if generic is None:
        return doc
    taken = {op.get("operationId") for item in doc["paths"].values() for op in item.values()
             if isinstance(op, dict)}
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    if workspace.queries:
        doc.setdefault("tags", []).append({"name": TYPED_TAG, "description": "One trigger operation per workflow "
                                           "query, with that query's input (and output, when declared) schema"})
    for name in sorted(workspace.queries):
        operation_id = typed_operation_id(name, taken)
        taken.add(operation_id)
        operation, components = _typed(generic, workspace.queries[name], operation_id)
        schemas.update(components)
        doc["paths"][f"/api/v1/queries/{quote(name, safe='')}/runs"] = {"post": operation}
    return doc
