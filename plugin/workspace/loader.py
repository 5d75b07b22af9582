"""Load workspace folders: their Python workflow modules and their queries.

A workspace is a folder with ``workspace.json``::

    {"name": "...", "python_modules": ["expense_workflows"],
     "queries": {"submit_expense": {"label": "...", "description": "...", "workflow": "expense_approval",
                                    "input": {JSON Schema}, "mode": "async",
                                    "run_id": "random" | "expense-{employee}-{invoice}",
                                    "wait_seconds": 10, "timeout_seconds": 86400,
                                    "output": {JSON Schema}}}}

``mode`` ``sync`` makes a trigger wait ``wait_seconds`` (default 10, at most 60) for the output unless the
caller passes ``?wait``. ``run_id`` is ``random`` or a business-key template over required input
properties: a trigger while a run of that id is open returns the open run. ``timeout_seconds`` bounds the
whole run (Temporal's execution timeout). ``output`` (optional) is the JSON Schema of the run's output: the
typed operation of the query in /openapi.json documents it.

``connections`` (or the folder's ``connections.json``) declares named HTTP APIs and SQL databases that
``http`` and ``sql`` steps use (plugin/workspace/connections.py, docs/connections.md).

The file's shape is checked against ``schemas/workspace.schema.json``. Python modules are imported from the
workspace folder. Every mistake is reported at once, naming the file, the query and the field.
``schedules`` (id -> schedule, see plugin/workspace/schedules.py) are reconciled with Temporal Schedules
when a worker starts. ``calendars`` and ``sla_policies`` (and a query's ``sla_policy``) are SLA policies on
business calendars (plugin/workspace/sla.py).
"""

from __future__ import annotations

import importlib
import json
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import Schema

from plugin.engine.interpreter.validate import Problem
from plugin.engine.json_schema import check_json_schema, schema_from_json_schema
from plugin.engine.registry import registered_workflows
from plugin.engine.sla.policy import Policy
from plugin.errors import ConfigError
from plugin.workspace.connections import Connection, find_connections
from plugin.workspace.definitions import LoadedDefinition, check_definitions, definition_query_spec
from plugin.workspace.schedules import check_workspace_schedules
from plugin.workspace.schema_check import workspace_schema_problems
from plugin.workspace.sla import check_sla, definition_problems, in_sla_sections, query_sla
from plugin.workspace.slack import slack_routing

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
    output_json_schema: dict[str, Any] | None = None  # what a completed run answers, when the workspace says
    sla: dict[str, Any] = field(default_factory=dict)  # pinned into each run: plugin/workspace/sla.py


@dataclass(frozen=True)
class Workspace:
    """Every query and workflow class on offer."""

    queries: dict[str, Query]
    workflows: dict[str, type]
    definitions: dict[str, LoadedDefinition] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)  # see plugin/workspace/connections.py
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)  # declared in workspace.json, by id
    slack: dict[str, Any] = field(default_factory=dict)  # where requests go in Slack (plugin/workspace/slack.py)


def _read(path: Path) -> tuple[dict[str, Any] | None, Problem | None]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None, Problem(str(path), "", "", "not found")
    except OSError as exc:
        return None, Problem(str(path), "", "", f"cannot be read ({exc.strerror})")
    except json.JSONDecodeError as exc:
        return None, Problem(str(path), "", "", f"not valid JSON ({exc.msg} at line {exc.lineno})")
    if not isinstance(data, dict):
        return None, Problem(str(path), "", "", "must hold a JSON object")
    return data, None


def _import_modules(folder: Path, names: Any, source: Path) -> list[Problem]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return []  # the schema reports it
    if names and str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    problems = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            problems.append(Problem(str(source), "", "python_modules",
                                    f"python module {name!r} cannot be imported: {exc}"))
    return problems


def _query(name: str, spec: dict[str, Any], source: Path, workflows: dict[str, type],
           definitions: dict[str, LoadedDefinition], broken_definitions: set[str], sla_pinned: dict[str, Any]
           ) -> tuple[Query | None, list[tuple[str, str]]]:
    """The query, or None with (field, message) for each thing wrong with it."""
    found: list[tuple[str, str]] = []
    try:
        spec, definition = definition_query_spec(spec, definitions)
    except ValueError as exc:
        if spec.get("definition") in broken_definitions:
            return None, []  # its own problems are reported with its file; saying "unknown" would mislead
        return None, [("definition", str(exc))]
    workflow = spec.get("workflow")
    if "workflow" in spec and workflow not in workflows:
        known = ", ".join(sorted(workflows)) or "none"
        found.append(("workflow", f"unknown workflow {workflow!r} (registered: {known})"))
    mode = spec.get("mode", "async")
    if mode not in MODES:
        found.append(("mode", f"must be one of {MODES}, not {mode!r}"))
    json_schema = spec.get("input", {"type": "object", "properties": {}})
    input_schema = None
    try:
        input_schema = schema_from_json_schema(json_schema, "input")
    except ConfigError as exc:
        field, _, message = exc.message.partition(": ")
        found.append((field, message))
    values: dict[str, Any] = {}
    default_wait = DEFAULT_SYNC_WAIT if mode == "sync" else 0
    checks = {
        "run_id": lambda: _run_id_template(spec.get("run_id", RANDOM_RUN_ID), json_schema),
        "wait_seconds": lambda: _whole_seconds(spec.get("wait_seconds", default_wait), 0, MAX_WAIT_SECONDS),
        "timeout_seconds": lambda: _whole_seconds(spec.get("timeout_seconds"), 1, 10 * 365 * 86400),
    }
    for field, check in checks.items():
        try:
            values[field] = check()
        except ValueError as exc:
            found.append((field, str(exc)))
    sla, sla_found = query_sla(spec, sla_pinned, definition)
    found += sla_found
    output = spec.get("output")
    if output is not None:
        try:
            check_json_schema(output, "output")
        except ConfigError as exc:
            found.append(("output", exc.message.partition(": ")[2] or exc.message))
    if found or input_schema is None or not isinstance(workflow, str):
        return None, found or [("workflow", "needs 'workflow' or 'definition'")]
    return Query(
        name=name, label=str(spec.get("label") or name), description=str(spec.get("description") or ""),
        workflow=workflow, input_json_schema=json_schema, input_schema=input_schema, mode=mode, source=source,
        run_id_template=values["run_id"], wait_seconds=values["wait_seconds"],
        timeout_seconds=values["timeout_seconds"], definition=definition, output_json_schema=output, sla=sla,
    ), []


def template_fields(template: str) -> list[str]:
    """The placeholder names of a run-id template (``expense-{employee}`` -> ``["employee"]``)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _run_id_template(raw: Any, json_schema: dict[str, Any]) -> str | None:
    """None for random ids; else a template whose placeholders are required input properties."""
    if raw == RANDOM_RUN_ID:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be 'random' or a template such as 'expense-{invoice}'")
    try:
        parsed = list(string.Formatter().parse(raw))
    except ValueError as exc:
        raise ValueError(f"template {raw!r} is not valid: {exc}") from None
    names = [name for _, name, _, _ in parsed if name is not None]
    if any("/" in literal for literal, _, _, _ in parsed):
        raise ValueError(f"template {raw!r} may not contain '/': a run id is one URL path segment")
    if not names:
        raise ValueError(f"template {raw!r} has no {{placeholder}}; every run would share one id")
    required = set(json_schema.get("required", []))
    properties = json_schema.get("properties", {})
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} may not carry a format or conversion")
        if name not in properties:
            raise ValueError(f"placeholder {{{name}}} is not an input property "
                             f"(properties: {', '.join(sorted(properties)) or 'none'})")
        if name not in required and "default" not in properties[name]:
            raise ValueError(f"placeholder {{{name}}} must be a required input property")
        if properties[name].get("type") not in ("string", "integer", "number", "boolean"):
            raise ValueError(f"placeholder {{{name}}} must be a string, number or boolean")
    return raw


def _whole_seconds(value: Any, low: int, high: int) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"must be a whole number of seconds from {low} to {high}, not {value!r}")
    return value


def _in_connections(problem: Problem) -> bool:
    """A schema problem inside workspace.json's ``connections`` (plugin/workspace/connections.py reports it)."""
    return not problem.query and problem.field.split(".")[0].split("[")[0] == "connections"


def _sla_of_definitions(definitions: dict[str, LoadedDefinition], queries: dict[str, Query],
                        policies: dict[str, Policy], declared: set[str]) -> list[Problem]:
    """SLA problems of approval steps, under each policy a query running the definition gives them."""
    found: dict[str, Problem] = {}
    for definition in definitions.values():
        query_policies = {q.sla.get("policy", "") for q in queries.values() if q.definition is definition} or {""}
        for policy in sorted(query_policies):
            for problem in definition_problems(definition, policy, policies, declared):
                found.setdefault(str(problem), problem)
    return list(found.values())


def inspect_workspaces(folders: tuple[Path, ...] | list[Path]) -> tuple[Workspace, list[Problem]]:
    """Load what is valid in the folders and list every problem (files, definitions, queries) in one pass."""
    problems: list[Problem] = []
    specs: list[tuple[Path, dict[str, Any], list[Problem]]] = []
    for folder in folders:
        source = folder / "workspace.json"
        data, unreadable = _read(source)
        if data is None:
            problems.append(unreadable)
            continue
        schema_found = workspace_schema_problems(data, str(source))
        # connections are checked (in their own words) with those of connections.json, below
        problems += [p for p in schema_found if (not p.query or not p.field) and not _in_connections(p)
                     and not in_sla_sections(p)]
        problems += _import_modules(folder, data.get("python_modules", []), source)
        specs.append((source, data, schema_found))
    connections, connection_problems = find_connections(folders)
    problems += connection_problems
    workflows = registered_workflows()
    definitions, definition_problems = check_definitions(folders, set(workflows))
    problems += definition_problems
    broken = {p.definition for p in definition_problems} - set(definitions)
    sla_pinned, sla_policies, sla_problems = check_sla([(source, data) for source, data, _ in specs])
    problems += sla_problems
    queries: dict[str, Query] = {}
    for source, data, schema_found in specs:
        raw_queries = data.get("queries", {})
        for name, spec in raw_queries.items() if isinstance(raw_queries, dict) else ():
            structural = [p for p in schema_found if p.query == name and p.field]
            found: list[tuple[str, str]] = []
            if name in queries:
                found.append(("", f"is also defined in {queries[name].source}"))
            elif isinstance(spec, dict) and not structural:
                query, found = _query(name, spec, source, workflows, definitions, broken, sla_pinned)
                if query is not None:
                    queries[name] = query
            problems += structural + [Problem(str(source), "", f, m, query=name) for f, m in found]
    problems += _sla_of_definitions(definitions, queries, sla_policies, set(sla_pinned.get("policies", {})))
    schedules, schedule_problems = check_workspace_schedules(specs, queries)
    problems += schedule_problems
    slack, slack_problems = slack_routing(specs, set(queries))
    problems += slack_problems
    return Workspace(queries=queries, workflows=workflows, definitions=definitions, connections=connections,
                     schedules=schedules, slack=slack), problems


def load_workspaces(folders: tuple[Path, ...] | list[Path]) -> Workspace:
    """Load every workspace folder into one registry of queries and workflows; ConfigError listing every
    problem when anything is wrong (the worker and the API refuse to start on what ``check`` reports)."""
    workspace, problems = inspect_workspaces(folders)
    if problems:
        lines = "\n  ".join(str(p) for p in problems)
        raise ConfigError(f"{len(problems)} problem(s) in workspace files:\n  {lines}",
                          {"problems": [p.__dict__ for p in problems]})
    return workspace
