"""Validate workspace files against the JSON Schemas shipped in ``plugin/workspace/schemas/``.

The same schemas serve editors (``"$schema"`` in a file) and ``workflows-plugin check``; here each schema
error becomes a Problem in plain words that names the file, the query or step, and the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from plugin import assets
from plugin.engine.interpreter.validate import Problem

WORKSPACE_SCHEMA = "workspace.schema.json"
DEFINITION_SCHEMA = "definition.schema.json"
_NESTED_STEPS = ("steps", "else", "on_error")
_TYPE_WORDS = {"array": "a list", "object": "an object", "string": "a string", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(assets.workspace_schema(name).read_text()))


def schema_path(name: str) -> Path:
    """Where a shipped schema file is (for ``"$schema"`` in editors and for the docs)."""
    return assets.workspace_schema(name)


def _types(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    return " or ".join(_TYPE_WORDS.get(n, n) for n in names)


def _message(error: ValidationError) -> str:
    """One schema error in plain words."""
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        missing = [n for n in expected if isinstance(error.instance, dict) and n not in error.instance]
        return f"{', '.join(repr(n) for n in missing)} is required"
    if kind in ("additionalProperties", "unevaluatedProperties"):
        known = _known_fields(error)
        return f"unknown field(s); allowed: {sorted(known)}"
    if custom:
        return str(custom)
    if kind == "type":
        return f"must be {_types(expected)}, not {json.dumps(error.instance)[:60]}"
    if kind == "enum":
        return f"must be one of {expected}, not {json.dumps(error.instance)[:60]}"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"must be {'at least' if kind == 'minimum' else 'more than'} {expected}"
    if kind in ("maximum", "exclusiveMaximum"):
        return f"must be {'at most' if kind == 'maximum' else 'less than'} {expected}"
    if kind in ("minItems", "minProperties", "minLength"):
        return "must not be empty"
    if kind == "pattern":
        return f"{json.dumps(error.instance)[:60]} is not allowed here"
    return f"has a value that is not allowed ({kind})"


def _known_fields(error: ValidationError) -> set[str]:
    """The fields an object may have: its own properties, plus those of the ``then`` its ``kind`` selects."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = set(schema.get("properties", {}))
    kind = error.instance.get("kind") if isinstance(error.instance, dict) else None
    for part in schema.get("allOf", []):
        if part.get("if", {}).get("properties", {}).get("kind", {}).get("const") == kind:
            known |= set(part.get("then", {}).get("properties", {}))
    return known


def _where_in_definition(document: Any, path: Sequence[Any]) -> tuple[str, str]:
    """(step id, field path inside the step) for a path in a definition; step '' for the top level."""
    step, field_start, node = "", 0, document
    for i, part in enumerate(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        parent = path[i - 1] if i else None
        if isinstance(part, int) and parent in _NESTED_STEPS and isinstance(node, dict):
            step, field_start = str(node.get("id", f"{parent}[{part}]")), i + 1
    return step, _join(path[field_start:])


def _join(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _field(error: ValidationError, field: str) -> str:
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [n for n in error.validator_value if n not in error.instance]
        return _join([*([field] if field else []), ", ".join(missing)]) if missing else field
    if error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        unknown = ", ".join(sorted(set(error.instance) - _known_fields(error)))
        return f"{field}.{unknown}" if field and unknown else (unknown or field)
    return field


def _leaves(errors: Sequence[ValidationError]) -> list[ValidationError]:
    """The errors to show. A field that failed its kind's rules is also "unevaluated" to the schema; that
    echo names no field of its own and is dropped."""
    shown = [e for e in errors if e.validator != "unevaluatedProperties" or not isinstance(e.instance, dict)
             or set(e.instance) - _known_fields(e)]
    return sorted(shown, key=lambda e: (list(map(str, e.absolute_path)), str(e.validator)))


def definition_schema_problems(document: Any, file: str) -> list[Problem]:
    """Every schema problem of a definition, each naming its step and field."""
    problems: list[Problem] = []
    for error in _leaves(list(_validator(DEFINITION_SCHEMA).iter_errors(document))):
        step, field = _where_in_definition(document, list(error.absolute_path))
        problems.append(Problem(file, step, _field(error, field), _message(error)))
    return _unique(problems)


def workspace_schema_problems(document: Any, file: str) -> list[Problem]:
    """Every schema problem of a ``workspace.json``, each naming its query (if any) and field."""
    problems: list[Problem] = []
    for error in _leaves(list(_validator(WORKSPACE_SCHEMA).iter_errors(document))):
        path = list(error.absolute_path)
        if error.validator == "pattern" and path == ["queries"]:  # from propertyNames: the name is the problem
            problems.append(Problem(file, "", "", _message(error), query=str(error.instance)))
        elif len(path) >= 2 and path[0] == "queries":
            # an error on the query object itself is the workflow/definition choice (oneOf)
            field = _field(error, _join(path[2:])) or "definition"
            problems.append(Problem(file, "", field, _message(error), query=str(path[1])))
        else:
            problems.append(Problem(file, "", _field(error, _join(path)), _message(error)))
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
