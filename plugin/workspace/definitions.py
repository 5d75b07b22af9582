"""Node-based definitions: JSON files in a workspace folder's ``definitions/``, loaded and validated.

A query names one with ``"definition": "<id>"`` instead of ``"workflow"``; it then runs on the
``node_workflow`` interpreter with the definition pinned into the run's input (content, sha256 version
and the definitions its ``call`` steps name), so editing a file never changes a running run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from plugin.engine.interpreter.spec import NODE_WORKFLOW, definition_version
from plugin.engine.interpreter.validate import Problem, validate_definition
from plugin.engine.interpreter.workflow import NodeWorkflow  # noqa: F401  registers node_workflow
from plugin.errors import ConfigError
from plugin.models import RunInput
from plugin.workspace.connections import call_defaults, declared_kinds, find_connections, used_connections
from plugin.workspace.schema_check import definition_schema_problems

DEFINITIONS_DIR = "definitions"


@dataclass(frozen=True)
class LoadedDefinition:
    """A valid definition as loaded: content, version hash, and the definitions it calls (transitively)."""

    id: str
    content: dict[str, Any]
    version: str
    source: Path
    linked: dict[str, dict[str, Any]] = field(default_factory=dict)
    connection_defaults: dict[str, Any] = field(default_factory=dict)  # pinned with each run

    @property
    def label(self) -> str:
        """The ``version`` the author wrote (may be empty): the hash is what pins a run."""
        return str(self.content.get("version", ""))

    @property
    def input_schema(self) -> dict[str, Any]:
        """The input JSON Schema (an empty object schema when there is none)."""
        return self.content.get("input") or {"type": "object", "properties": {}}


def _read(path: Path) -> tuple[Any, list[Problem]]:
    try:
        return json.loads(path.read_text()), []
    except json.JSONDecodeError as exc:
        return None, [Problem(str(path), "", "", f"not valid JSON ({exc.msg} at line {exc.lineno})")]
    except OSError as exc:
        return None, [Problem(str(path), "", "", f"cannot be read: {exc}")]


def _called(content: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(steps: Any) -> None:
        for step in steps if isinstance(steps, list) else []:
            if not isinstance(step, dict):
                continue
            if isinstance(step.get("definition"), str) and step.get("kind") == "call":
                found.add(step["definition"])
            for key in ("steps", "else", "on_error"):
                walk(step.get(key))
            for group in ("cases", "branches"):
                for part in step.get(group) or []:
                    if isinstance(part, dict):
                        walk(part.get("steps"))

    walk(content.get("steps"))
    return found


def _root(field: str) -> str:
    return field.split(".")[0].split("[")[0].split(",")[0]


def _merged(semantic: list[Problem], structural: list[Problem]) -> list[Problem]:
    """Each problem once: the validator's (which knows the step kind's rules) over the schema's at one place.
    A step whose kind is unknown gets no schema problems: its other fields cannot be judged."""
    taken = {(p.step, _root(p.field)) for p in semantic}
    unknown_kind = {p.step for p in semantic if p.field == "kind"}
    return semantic + [p for p in structural if (p.step, _root(p.field)) not in taken
                       and p.step not in unknown_kind]


def check_definitions(folders: Iterable[Path], workflows: set[str] | None = None
                      ) -> tuple[dict[str, LoadedDefinition], list[Problem]]:
    """Read and validate every definition in the folders; returns the valid ones and every problem."""
    folders = list(folders)
    raw: dict[str, tuple[Path, dict[str, Any]]] = {}
    problems: list[Problem] = []
    files = [p for folder in folders for p in sorted((Path(folder) / DEFINITIONS_DIR).glob("*.json"))]
    for path in files:
        content, read_problems = _read(path)
        problems += read_problems
        if read_problems:
            continue
        did = content.get("id") if isinstance(content, dict) else None
        if isinstance(did, str) and did in raw:
            problems.append(Problem(str(path), "", "id", f"definition id {did!r} is also used by {raw[did][0]}"))
            continue
        raw[did if isinstance(did, str) else str(path)] = (path, content)
    known = {did for did, (_, content) in raw.items() if isinstance(content, dict)}
    declared = find_connections(folders)[0]
    connections = declared_kinds(folders)
    valid: dict[str, tuple[Path, dict[str, Any]]] = {}
    for did, (path, content) in raw.items():
        found = [replace(p, definition=did) for p in _merged(
            validate_definition(content, str(path), workflows, known, connections),
            definition_schema_problems(content, str(path)))]
        problems += found
        if not found:
            valid[did] = (path, content)
    loaded: dict[str, LoadedDefinition] = {}
    for did, (path, content) in valid.items():
        linked: dict[str, dict[str, Any]] = {}
        todo = sorted(_called(content))
        while todo:
            callee = todo.pop()
            if callee in linked:
                continue
            if callee not in valid:
                problems.append(Problem(str(path), "", "call", f"calls definition {callee!r}, which is not valid",
                                        definition=did))
                break
            linked[callee] = valid[callee][1]
            todo += sorted(_called(valid[callee][1]))
        else:
            used = used_connections([content, *linked.values()])
            loaded[did] = LoadedDefinition(id=did, content=content, version=definition_version(content),
                                           source=path, linked=linked,
                                           connection_defaults=call_defaults(declared, used))
    return loaded, problems


def load_definitions(folders: Iterable[Path], workflows: set[str] | None = None) -> dict[str, LoadedDefinition]:
    """The definitions of the folders; ConfigError listing every problem when any is wrong."""
    loaded, problems = check_definitions(folders, workflows)
    if problems:
        lines = "\n  ".join(str(p) for p in problems)
        raise ConfigError(f"{len(problems)} problem(s) in workflow definitions:\n  {lines}",
                          {"problems": [p.__dict__ for p in problems]})
    return loaded


def definition_query_spec(spec: Any, definitions: dict[str, LoadedDefinition]
                          ) -> tuple[Any, LoadedDefinition | None]:
    """For a query naming ``"definition"``: the spec as a ``node_workflow`` query (input schema from the
    definition unless the query gives one) and the definition. Other specs pass through unchanged.
    ValueError (in plain words) when the definition is not there."""
    if not isinstance(spec, dict) or "definition" not in spec:
        return spec, None
    if "workflow" in spec:
        raise ValueError("give 'workflow' or 'definition', not both")
    definition = definitions.get(spec["definition"])
    if definition is None:
        known = ", ".join(sorted(definitions)) or "none"
        raise ValueError(f"unknown definition {spec['definition']!r} (valid definitions: {known})")
    resolved = {k: v for k, v in spec.items() if k != "definition"}
    resolved["workflow"] = NODE_WORKFLOW
    resolved.setdefault("input", definition.input_schema)
    return resolved, definition


def pin_definition(query: Any, inp: RunInput) -> dict[str, Any]:
    """Put a node-based query's definition into the run input; returns memo entries for run detail.

    A no-op (empty memo) for queries that name a Python workflow.
    """
    definition: LoadedDefinition | None = getattr(query, "definition", None)
    if definition is None:
        return {}
    inp.definition = definition.content
    inp.definition_version = definition.version
    inp.linked_definitions = dict(definition.linked)
    inp.connection_defaults = dict(definition.connection_defaults)
    return {"definition_version": definition.version,
            "definition": {"id": definition.id, "version": definition.label, "hash": definition.version}}


def pinned(query: Any, memo: dict[str, Any], inp: RunInput) -> RunInput:
    """``inp`` with the query's definition and SLA policies pinned (see ``pin_definition``, and
    plugin/workspace/sla.py), adding its memo entries."""
    memo.update(pin_definition(query, inp))
    inp.sla = dict(getattr(query, "sla", None) or {})
    return inp


def steps_of_kind(steps: Any, kind: str) -> Iterator[dict[str, Any]]:
    """Every step of this kind in a definition's steps, however deeply nested (branches, loops, error handlers)."""
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        if step.get("kind") == kind:
            yield step
        for key in ("steps", "else", "on_error"):
            yield from steps_of_kind(step.get(key), kind)
        for group in ("cases", "branches"):
            for part in step.get(group) or []:
                if isinstance(part, dict):
                    yield from steps_of_kind(part.get("steps"), kind)
