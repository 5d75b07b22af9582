"""Load workspace folders: their Python workflow modules and their queries.

A workspace is a folder with ``workspace.json``::

    {"name": "...", "python_modules": ["expense_workflows"],
     "queries": {"submit_expense": {"label": "...", "description": "...", "workflow": "expense_approval",
                                    "input": {JSON Schema}, "mode": "async",
                                    "run_id": "random" | "expense-{employee}-{invoice}",
                                    "wait_seconds": 10, "timeout_seconds": 86400}}}

``mode`` ``sync`` makes a trigger wait ``wait_seconds`` (default 10, at most 60) for the output unless the
caller passes ``?wait``. ``run_id`` is ``random`` or a business-key template over required input
properties: a trigger while a run of that id is open returns the open run. ``timeout_seconds`` bounds the
whole run (Temporal's execution timeout).

``schedules`` (id -> schedule, see plugin/workspace/schedules.py) are reconciled with Temporal Schedules
when a worker starts. Python modules are imported from the workspace folder. A mistake fails the load with a
ConfigError naming the file and the query (or schedule).
"""

from __future__ import annotations

import importlib
import json
import string
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from marshmallow import Schema

from plugin.engine.registry import registered_workflows
from plugin.errors import ConfigError
from plugin.workspace.definitions import LoadedDefinition, definition_query_spec, load_definitions
from plugin.workspace.json_schema import schema_from_json_schema
from plugin.workspace.schedules import load_workspace_schedules

MODES = ("async", "sync")
RANDOM_RUN_ID = "random"
MAX_WAIT_SECONDS = 60
DEFAULT_SYNC_WAIT = 10


@dataclass(frozen=True)
class Query:
    """A workflow query an app can bind to."""

    name: str
    label: str
    description: str
    workflow: str
    input_json_schema: dict[str, Any]
    input_schema: Schema
    mode: str
    source: Path
    run_id_template: str | None = None
    wait_seconds: int = 0
    timeout_seconds: int | None = None
    definition: LoadedDefinition | None = None  # node-based queries: the definition they run


@dataclass(frozen=True)
class Workspace:
    """Every query and workflow class on offer."""

    queries: dict[str, Query]
    workflows: dict[str, type]
    definitions: dict[str, LoadedDefinition] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)  # declared in workspace.json, by id


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a JSON object")
    return data


def _import_modules(folder: Path, names: Any, source: Path) -> None:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{source}: 'python_modules' must be a list of module names")
    if names and str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"{source}: python module {name!r} cannot be imported: {exc}") from exc


def _query(name: str, spec: Any, source: Path, workflows: dict[str, type]) -> Query:
    where = f"{source}: query {name!r}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: must be an object")
    workflow = spec.get("workflow")
    if workflow not in workflows:
        known = ", ".join(sorted(workflows)) or "none"
        raise ConfigError(f"{where}: unknown workflow {workflow!r} (registered: {known})")
    mode = spec.get("mode", "async")
    if mode not in MODES:
        raise ConfigError(f"{where}: mode must be one of {MODES}, not {mode!r}")
    json_schema = spec.get("input", {"type": "object", "properties": {}})
    input_schema = schema_from_json_schema(json_schema, f"{where} input")
    default_wait = DEFAULT_SYNC_WAIT if mode == "sync" else 0
    return Query(
        name=name,
        label=str(spec.get("label") or name),
        description=str(spec.get("description") or ""),
        workflow=workflow,
        input_json_schema=json_schema,
        input_schema=input_schema,
        mode=mode,
        source=source,
        run_id_template=_run_id_template(spec.get("run_id", RANDOM_RUN_ID), json_schema, where),
        wait_seconds=_whole_seconds(spec, "wait_seconds", default_wait, 0, MAX_WAIT_SECONDS, where),
        timeout_seconds=_whole_seconds(spec, "timeout_seconds", None, 1, 10 * 365 * 86400, where),
    )


def template_fields(template: str) -> list[str]:
    """The placeholder names of a run-id template (``expense-{employee}`` -> ``["employee"]``)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _run_id_template(raw: Any, json_schema: dict[str, Any], where: str) -> str | None:
    """None for random ids; else a template whose placeholders are required input properties."""
    if raw == RANDOM_RUN_ID:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: run_id must be 'random' or a template such as 'expense-{{invoice}}'")
    try:
        parsed = list(string.Formatter().parse(raw))
    except ValueError as exc:
        raise ConfigError(f"{where}: run_id template {raw!r} is not valid: {exc}") from None
    names = [name for _, name, _, _ in parsed if name is not None]
    if not names:
        raise ConfigError(f"{where}: run_id template {raw!r} has no {{placeholder}}; every run would share one id")
    required = set(json_schema.get("required", []))
    properties = json_schema.get("properties", {})
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise ConfigError(f"{where}: run_id placeholder {{{name}}} may not carry a format or conversion")
        if name not in properties:
            raise ConfigError(f"{where}: run_id placeholder {{{name}}} is not an input property "
                              f"(properties: {', '.join(sorted(properties)) or 'none'})")
        if name not in required and "default" not in properties[name]:
            raise ConfigError(f"{where}: run_id placeholder {{{name}}} must be a required input property")
        if properties[name].get("type") not in ("string", "integer", "number", "boolean"):
            raise ConfigError(f"{where}: run_id placeholder {{{name}}} must be a string, number or boolean")
    return raw


def _whole_seconds(spec: dict[str, Any], key: str, default: int | None, low: int, high: int,
                   where: str) -> Any:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: {key} must be a whole number of seconds from {low} to {high}, not {value!r}")
    return value


def load_workspaces(folders: tuple[Path, ...] | list[Path]) -> Workspace:
    """Load every workspace folder into one registry of queries and workflows."""
    specs: list[tuple[Path, dict[str, Any]]] = []
    for folder in folders:
        source = folder / "workspace.json"
        data = _read(source)
        _import_modules(folder, data.get("python_modules", []), source)
        specs.append((source, data))
    workflows = registered_workflows()
    definitions = load_definitions(folders, set(workflows))
    queries: dict[str, Query] = {}
    for source, data in specs:
        raw_queries = data.get("queries", {})
        if not isinstance(raw_queries, dict):
            raise ConfigError(f"{source}: 'queries' must be an object of name -> query")
        for name, spec in raw_queries.items():
            if name in queries:
                raise ConfigError(f"{source}: query {name!r} is also defined in {queries[name].source}")
            spec, definition = definition_query_spec(spec, f"{source}: query {name!r}", definitions)
            queries[name] = replace(_query(name, spec, source, workflows), definition=definition)
    return Workspace(queries=queries, workflows=workflows, definitions=definitions,
                     schedules=load_workspace_schedules(specs, queries))
