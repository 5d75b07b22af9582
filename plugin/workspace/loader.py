"""Load workspace folders: their Python workflow modules and their queries.

A workspace is a folder with ``workspace.json``::

    {"name": "...", "python_modules": ["expense_workflows"],
     "queries": {"submit_expense": {"label": "...", "description": "...", "workflow": "expense_approval",
                                    "input": {JSON Schema}, "mode": "async"}}}

Python modules are imported from the workspace folder. A mistake fails the load with a ConfigError naming
the file and the query.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from marshmallow import Schema

from plugin.engine.registry import registered_workflows
from plugin.errors import ConfigError
from plugin.workspace.definitions import LoadedDefinition, definition_query_spec, load_definitions
from plugin.workspace.json_schema import schema_from_json_schema

MODES = ("async", "sync")


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
    definition: LoadedDefinition | None = None  # node-based queries: the definition they run


@dataclass(frozen=True)
class Workspace:
    """Every query and workflow class on offer."""

    queries: dict[str, Query]
    workflows: dict[str, type]
    definitions: dict[str, LoadedDefinition] = field(default_factory=dict)


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
    return Query(
        name=name,
        label=str(spec.get("label") or name),
        description=str(spec.get("description") or ""),
        workflow=workflow,
        input_json_schema=json_schema,
        input_schema=schema_from_json_schema(json_schema, f"{where} input"),
        mode=mode,
        source=source,
    )


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
    return Workspace(queries=queries, workflows=workflows, definitions=definitions)
