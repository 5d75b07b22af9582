"""Validate a node-based definition: every problem at once, each naming the step and the field.

Checks: the shape of the definition and of each step, unknown kinds and fields, duplicate ids, template
syntax, names a template may not use, and ``steps.<id>`` references to steps that do not exist or have not
run on every path to the place that reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from plugin.engine.interpreter import spec
from plugin.engine.interpreter.templates import TemplateFailure, environment, free_names, has_template, parse
from plugin.engine.interpreter.templates import step_references as template_step_refs
from plugin.engine.interpreter.validate_kinds import Available, check_kind, check_top_level


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition."""

    file: str
    step: str
    field: str
    message: str
    query: str = ""  # workspace.json problems: the query they are in
    definition: str = ""  # definition files: the id inside, when it has one
    connection: str = ""  # connection declarations (workspace.json or connections.json): the connection's name

    def __str__(self) -> str:
        if self.connection:
            where = f"connection {self.connection!r}: "
        elif self.query:
            where = f"query {self.query!r}: "
        elif self.step:
            where = f"step {self.step!r}: "
        else:
            where = "" if self.file.endswith(("workspace.json", "connections.json")) else "definition: "
        return f"{self.file}: {where}{self.field}: {self.message}" if self.field else \
            f"{self.file}: {where}{self.message}"


class _Checker:
    def __init__(self, source: str, workflows: set[str] | None, definitions: set[str] | None,
                 connections: dict[str, str] | None = None) -> None:
        self.source = source
        self.workflows = workflows
        self.definitions = definitions
        self.connections = connections  # connection name -> kind (None: not checked)
        self.problems: list[Problem] = []
        self.all_ids: dict[str, int] = {}
        self.seen_ids: set[str] = set()
        self.globals = frozenset(environment().globals)

    def add(self, step: str, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, step, field, message))

    # -- templates ---------------------------------------------------------------------------

    def templates(self, step: str, field: str, value: Any, available: Available, names: frozenset[str],
                  condition: bool = False) -> None:
        """Check every template inside a JSON value."""
        for path, text in _strings(value, field):
            if not (condition or has_template(text)):
                continue
            try:
                tree = parse(text, as_condition=condition)
            except TemplateFailure as exc:
                self.add(step, path, f"bad template {text!r}: {exc.reason}")
                continue
            unknown = free_names(tree) - names - self.globals
            if unknown:
                self.add(step, path, f"{text!r} uses unknown name(s) {sorted(unknown)}; "
                                     f"available: {sorted(names)}")
            for ref in sorted(template_step_refs(tree)):
                if ref not in self.all_ids:
                    self.add(step, path, f"{text!r} refers to step {ref!r}, which does not exist")
                elif available is not None and ref not in available:
                    self.add(step, path, f"{text!r} refers to step {ref!r}, which has not run on every "
                                         "path to here (it runs later, or in another branch or loop)")

    # -- steps -------------------------------------------------------------------------------

    def collect_ids(self, steps: Any) -> None:
        if not isinstance(steps, list):
            return
        for step in steps:
            if not isinstance(step, dict):
                continue
            sid = step.get("id")
            if isinstance(sid, str):
                self.all_ids[sid] = self.all_ids.get(sid, 0) + 1
            for _, nested in spec.child_steps(step):
                self.collect_ids(nested)

    def steps(self, steps: Any, where: str, available: Available, names: frozenset[str]) -> Available:
        """Check a list of steps in order; returns the step ids available after it."""
        if not isinstance(steps, list) or not steps:
            self.add("", where, "must be a non-empty list of steps")
            return available
        for index, step in enumerate(steps):
            if available is None:
                label = step.get("id", "") if isinstance(step, dict) else ""
                self.add(str(label), "", f"{where}[{index}] can never run: an earlier step always ends the run")
                return None
            available = self.step(step, f"{where}[{index}]", available, names)
        return available

    def step(self, step: Any, where: str, available: frozenset[str], names: frozenset[str]) -> Available:
        if not isinstance(step, dict):
            self.add("", where, "a step must be an object")
            return available
        sid = step.get("id")
        label = sid if isinstance(sid, str) else where
        if not isinstance(sid, str) or not spec.STEP_ID.match(sid):
            self.add(label, "id", "every step needs an id of letters, digits and _ (not starting with a digit)")
        elif self.all_ids.get(sid, 0) > 1 and sid in self.seen_ids:
            self.add(label, "id", f"duplicate step id {sid!r}: step ids must be unique in a definition")
        if isinstance(sid, str):
            self.seen_ids.add(sid)
        kind = step.get("kind")
        if kind not in spec.KIND_FIELDS:
            self.add(label, "kind", f"unknown step kind {kind!r}; use one of {sorted(spec.KIND_FIELDS)}")
            return available | {label}
        unknown = set(step) - spec.COMMON_FIELDS - spec.KIND_FIELDS[kind]
        if unknown:
            self.add(label, ", ".join(sorted(unknown)), f"unknown field(s) for a {kind} step; allowed: "
                     f"{sorted(spec.COMMON_FIELDS | spec.KIND_FIELDS[kind])}")
        for name in spec.REQUIRED_FIELDS.get(kind, ()):
            if name not in step:
                self.add(label, name, f"a {kind} step needs {name!r}")
        self.common(label, kind, step, available, names)
        for name in spec.TEMPLATED_FIELDS.get(kind, ()):
            if name in step:
                self.templates(label, name, step[name], available, names)
        after = check_kind(self, label, kind, step, available, names)
        if after is None:
            return None
        return after | {label}

    def common(self, label: str, kind: str, step: dict[str, Any], available: frozenset[str],
               names: frozenset[str]) -> None:
        if "name" in step and not isinstance(step["name"], str):
            self.add(label, "name", "must be a string")
        if "timeout" in step:
            if kind == "approval":
                self.add(label, "timeout", "an approval waits for people: use due_in_seconds (and due_resolution)")
            else:
                self.duration(label, "timeout", step["timeout"], positive=True)
        if "save_as" in step and not (isinstance(step["save_as"], str) and spec.STEP_ID.match(step["save_as"])):
            self.add(label, "save_as", "must be a state key of letters, digits and _")
        if "retry" in step:
            self.retry(label, kind, step["retry"])
        if "on_error" in step:
            self.steps(step["on_error"], f"{label}.on_error", available, names | {"error"})

    def retry(self, label: str, kind: str, retry: Any) -> None:
        if not isinstance(retry, dict):
            self.add(label, "retry", "must be an object")
            return
        unknown = set(retry) - spec.RETRY_FIELDS
        if unknown:
            self.add(label, "retry", f"unknown field(s) {sorted(unknown)}; allowed: {sorted(spec.RETRY_FIELDS)}")
        attempts = retry.get("max_attempts", 1)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 100:
            self.add(label, "retry.max_attempts", "must be a whole number from 1 to 100")
        backoff = retry.get("backoff", 2)
        if not isinstance(backoff, int | float) or isinstance(backoff, bool) or not 1 <= backoff <= 10:
            self.add(label, "retry.backoff", "must be a number from 1 to 10")
        for name in ("initial_interval", "max_interval"):
            if name in retry:
                self.duration(label, f"retry.{name}", retry[name], positive=True)
        if "retry_on_status" in retry:
            if kind != "http":
                self.add(label, "retry.retry_on_status", "only an http step retries on status codes")
            self.status_list(label, "retry.retry_on_status", retry["retry_on_status"])

    def duration(self, label: str, field: str, value: Any, positive: bool = False,
                 templated: bool = False) -> None:
        if templated and has_template(value):
            return
        try:
            seconds = spec.duration_seconds(value)
        except ValueError as exc:
            self.add(label, field, str(exc))
            return
        if positive and seconds <= 0:
            self.add(label, field, "must be more than zero")

    def status_list(self, label: str, field: str, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(v, int) and 100 <= v <= 599 for v in value):
            self.add(label, field, "must be a list of HTTP status codes (100-599)")


def _strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, f"{path}.{key}")
            yield from _strings(item, f"{path}.{key}")


def validate_definition(content: Any, source: str, workflows: set[str] | None = None,
                        definitions: set[str] | None = None, connections: dict[str, str] | None = None
                        ) -> list[Problem]:
    """Every problem in a definition (empty when it is valid). ``workflows``/``definitions``: names a
    ``call`` step may use; ``connections``: name -> kind for ``http``/``sql`` steps (None: not checked)."""
    checker = _Checker(source, workflows, definitions, connections)
    if not isinstance(content, dict):
        checker.add("", "", "a definition must be a JSON object")
        return checker.problems
    checker.collect_ids(content.get("steps"))
    check_top_level(checker, content)
    return checker.problems
