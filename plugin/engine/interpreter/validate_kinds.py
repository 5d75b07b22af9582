"""Per-kind checks of the validator, and the definition's top level."""

from __future__ import annotations

import re
from typing import Any, Protocol

from temporalio.converter import value_to_type
from temporalio.exceptions import ApplicationError

from plugin.engine.interpreter import spec
from plugin.engine.interpreter.templates import has_template
from plugin.engine.json_schema import schema_from_json_schema
from plugin.engine.request_options import check_options, option_problems
from plugin.errors import ConfigError
from plugin.models import AssignRequest

# The ``:name`` bind parameters of a statement, found by SQLAlchemy's own rule for ``text()``
# (``TextClause._bind_params_regex``; tests/test_sql_bind_params.py holds them equal): the validator runs in the
# worker too, which then imports SQLAlchemy only when a sql step runs (11 MB of its memory otherwise).
BIND_PARAM = re.compile(r"(?<![:\w\x5c]):(\w+)(?![:\w])", re.UNICODE)

Available = frozenset[str] | None  # step ids whose output is there; None: this point is never reached


class Checker(Protocol):
    """What the per-kind checks need of the validator's checker (``validate._Checker``): a protocol, so this module
    does not import the validator that calls it."""

    workflows: set[str] | None
    definitions: set[str] | None
    connections: dict[str, str] | None

    def add(self, step: str, field: str, message: str) -> None:
        """Record a problem."""

    def templates(self, step: str, field: str, value: Any, available: Available, names: frozenset[str],
                  condition: bool = False) -> None:
        """Check every template inside a JSON value."""

    def steps(self, steps: Any, where: str, available: Available, names: frozenset[str]) -> Available:
        """Check a list of steps; what is available after them."""

    def duration(self, label: str, field: str, value: Any, positive: bool = False, templated: bool = False) -> None:
        """Check a duration."""

    def status_list(self, label: str, field: str, value: Any) -> None:
        """Check a list of HTTP status codes."""


DEFINITION_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def check_top_level(c: Checker, content: dict[str, Any]) -> None:
    """The definition's own fields, then its steps and output."""
    unknown = set(content) - spec.TOP_LEVEL_FIELDS
    if unknown:
        c.add("", ", ".join(sorted(unknown)), f"unknown field(s); allowed: {sorted(spec.TOP_LEVEL_FIELDS)}")
    did = content.get("id")
    if not isinstance(did, str) or not did or not set(did) <= DEFINITION_ID_CHARS:
        c.add("", "id", "needs an id of letters, digits, '_', '-' and '.'")
    for name in ("name", "description"):
        if name in content and not isinstance(content[name], str):
            c.add("", name, "must be a string")
    if "version" in content and not isinstance(content["version"], str | int):
        c.add("", "version", "must be a string or a number")
    if "input" in content:
        try:
            schema_from_json_schema(content["input"], "input")
        except ConfigError as exc:
            c.add("", "input", f"bad input schema: {exc.message}")
    limits = content.get("limits", {})
    if not isinstance(limits, dict) or set(limits) - {"history_events"}:
        c.add("", "limits", "must be an object with at most 'history_events'")
    elif "history_events" in limits:
        value = limits["history_events"]
        if not isinstance(value, int) or isinstance(value, bool) or not spec.MIN_HISTORY_LIMIT <= value <= 40000:
            c.add("", "limits.history_events", f"must be a whole number from {spec.MIN_HISTORY_LIMIT} to 40000")
    after = c.steps(content.get("steps"), "steps", frozenset(), spec.BASE_NAMES)
    if "output" in content:
        c.templates("", "output", content["output"], after, spec.BASE_NAMES)


def check_kind(c: Checker, label: str, kind: str, step: dict[str, Any], available: frozenset[str],
               names: frozenset[str]) -> Available:
    """Kind-specific checks; returns the step ids available after the step (None: the run ends here)."""
    return _KINDS[kind](c, label, step, available, names)


def _connection(c: Checker, label: str, step: dict, kind: str) -> None:
    """The step's ``connection`` names a declared connection of the kind."""
    name = step.get("connection")
    known = c.connections
    if not isinstance(name, str) or (known is not None and known.get(name) != kind):
        choices = sorted(n for n, k in (known or {}).items() if k == kind)
        c.add(label, "connection", f"unknown {kind} connection {name!r}; declared: {choices}")


def _http(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    method = step.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in spec.HTTP_METHODS:
        c.add(label, "method", f"must be one of {list(spec.HTTP_METHODS)}")
    if ("url" in step) == ("connection" in step):
        c.add(label, "url", "an http step needs exactly one of 'url' and 'connection' (with a 'path')")
    if "connection" in step:
        _connection(c, label, step, "http")
    if "path" in step and "connection" not in step:
        c.add(label, "path", "'path' is relative to a connection's base URL: give 'connection' too")
    path = step.get("path", "")
    if not isinstance(path, str) or (not has_template(path) and path.split("?")[0].find("://") >= 0):
        c.add(label, "path", "must be a path relative to the connection's base URL (e.g. '/items/{{ input.id }}')")
    elif "?" in path or "#" in path:
        c.add(label, "path", "must not hold '?' or '#': give query parameters in 'query' (a mapping)")
    url = step.get("url")
    if isinstance(url, str) and not has_template(url) and not url.startswith(("http://", "https://")):
        c.add(label, "url", "must start with http:// or https://")
    elif "url" in step and not isinstance(url, str):
        c.add(label, "url", "must be a string")
    for name in ("headers", "query"):
        if name in step and not isinstance(step[name], dict):
            c.add(label, name, "must be an object of name -> value")
    if "accept_status" in step:
        c.status_list(label, "accept_status", step["accept_status"])
    return available


def _sql(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    _connection(c, label, step, "sql")
    statement, params = step.get("statement"), step.get("params", {})
    if not isinstance(params, dict):
        c.add(label, "params", "must be an object of bind parameter name -> value (templates allowed)")
        params = {}
    if not isinstance(statement, str) or not statement.strip():
        c.add(label, "statement", "must be SQL text with :name bind parameters")
    elif "{{" in statement or "{%" in statement:
        c.add(label, "statement", "may not hold templates (SQL is never built from strings): write :name and "
                                  "give the value in 'params'")
    else:
        bound = set(BIND_PARAM.findall(statement))
        if missing := sorted(bound - set(params)):
            c.add(label, "params", f"no value for bind parameter(s) {missing} of the statement")
        if unused := sorted(set(params) - bound):
            c.add(label, "params", f"parameter(s) {unused} are not used by the statement (write :name in it)")
    if step.get("mode", "rows") not in spec.SQL_MODES:
        c.add(label, "mode", f"must be one of {list(spec.SQL_MODES)}")
    rows = step.get("max_rows", 1)
    if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= 100_000:
        c.add(label, "max_rows", "must be a whole number from 1 to 100000")
    return available


def _approval(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    options = {k: v for k, v in step.items() if k in spec.APPROVAL_FIELDS}
    templated = {k for k, v in options.items() if has_template(v) or (isinstance(v, list | dict) and
                                                                     has_template(str(v)))}
    wrong = [(name, message) for name, message in option_problems(options) if name not in templated]
    for name, message in wrong:
        if name in step:  # a missing required field is reported with the step's own fields
            c.add(label, name, message)
    if wrong or templated:
        return available  # the rest is checked when rendered, at run time
    try:
        check_options(value_to_type(AssignRequest, options))
    except ApplicationError as exc:
        c.add(label, "approval", f"bad request options: {exc.message.split(': ', 1)[-1]}")
    except (TypeError, ValueError):  # a form field with a key FormField does not have
        c.add(label, "form", "each form field takes name, label, type, required, options and max_length")
    return available


def _delay(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    if ("duration" in step) == ("until" in step):
        c.add(label, "duration", "a delay needs exactly one of 'duration' and 'until'")
    if "duration" in step:
        c.duration(label, "duration", step["duration"], templated=True)
    if "until" in step and not isinstance(step["until"], str):
        c.add(label, "until", "must be an ISO 8601 time (a string)")
    return available


def _branch(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    cases = step.get("cases")
    if not isinstance(cases, list) or not cases:
        c.add(label, "cases", "must be a non-empty list of {\"if\": condition, \"steps\": [...]}")
        return available
    results: list[Available] = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not isinstance(case.get("if"), str) or set(case) - {"if", "steps"}:
            c.add(label, f"cases[{i}]", "must be {\"if\": condition, \"steps\": [...]}")
            continue
        c.templates(label, f"cases[{i}].if", case["if"], available, names, condition=True)
        results.append(c.steps(case.get("steps"), f"{label}.cases[{i}].steps", available, names))
    results.append(c.steps(step["else"], f"{label}.else", available, names) if "else" in step else available)
    return _meet(results)


def _set(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    values = step.get("values")
    if not isinstance(values, dict) or not values:
        c.add(label, "values", "must be a non-empty object of state key -> value")
    elif bad := [k for k in values if not spec.STEP_ID.match(k)]:
        c.add(label, "values", f"state keys must be letters, digits and _: {bad}")
    return available


def _parallel(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    mode = step.get("mode", "all")
    if mode not in spec.PARALLEL_MODES:
        c.add(label, "mode", f"must be one of {list(spec.PARALLEL_MODES)}")
    branches = step.get("branches")
    if not isinstance(branches, list) or not branches:
        c.add(label, "branches", "must be a non-empty list of {\"name\": ..., \"steps\": [...]}")
        return available
    results: list[Available] = []
    for i, branch in enumerate(branches):
        if not isinstance(branch, dict) or set(branch) - {"name", "steps"}:
            c.add(label, f"branches[{i}]", "must be {\"name\": ..., \"steps\": [...]}")
            continue
        results.append(c.steps(branch.get("steps"), f"{label}.branches[{i}].steps", available, names))
    if mode == "any":
        return _meet(results)
    if any(r is None for r in results):
        return None
    return available.union(*[r for r in results if r is not None])


def _foreach(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    items = step.get("items")
    if "items" in step and not (isinstance(items, list) or has_template(items)):
        c.add(label, "items", "must be a list or a template that gives one")
    var = step.get("as", "item")
    if not isinstance(var, str) or not spec.STEP_ID.match(var) or var in spec.BASE_NAMES | {"index", "error"}:
        c.add(label, "as", "must be a name of letters, digits and _, other than input, steps, state, run, "
                           "index and error")
        var = "item"
    concurrency = step.get("concurrency", 1)
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or \
            not 1 <= concurrency <= spec.MAX_FOREACH_CONCURRENCY:
        c.add(label, "concurrency", f"must be a whole number from 1 to {spec.MAX_FOREACH_CONCURRENCY}")
    c.steps(step.get("steps"), f"{label}.steps", available, names | {var, "index"})
    return available


def _call(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    if ("workflow" in step) == ("definition" in step):
        c.add(label, "workflow", "a call needs exactly one of 'workflow' (a registered workflow) and "
                                 "'definition' (a definition id)")
    target = step.get("workflow")
    if target is not None and (not isinstance(target, str) or
                               (c.workflows is not None and target not in c.workflows)):
        c.add(label, "workflow", f"unknown workflow {target!r}; registered: {sorted(c.workflows or [])}")
    target = step.get("definition")
    if target is not None and (not isinstance(target, str) or
                               (c.definitions is not None and target not in c.definitions)):
        c.add(label, "definition", f"unknown definition {target!r}; known: {sorted(c.definitions or [])}")
    if "input" in step and not (isinstance(step["input"], dict) or has_template(step["input"])):
        c.add(label, "input", "must be an object (or a template that gives one)")
    if "wait" in step and not isinstance(step["wait"], bool):
        c.add(label, "wait", "must be true or false")
    return available


def _respond(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    status = step.get("status", 200)
    if not has_template(status) and not (isinstance(status, int) and 100 <= status <= 599):
        c.add(label, "status", "must be an HTTP status code (100-599)")
    return available


def _fail(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    if "message" in step and not isinstance(step["message"], str):
        c.add(label, "message", "must be a string")
    if "error_type" in step and not (isinstance(step["error_type"], str) and spec.STEP_ID.match(step["error_type"])):
        c.add(label, "error_type", "must be a name of letters, digits and _")
    return None


def _succeed(c: Checker, label: str, step: dict, available: frozenset[str], names: frozenset[str]) -> Available:
    return None


def _meet(results: list[Available]) -> Available:
    """Step ids available after alternatives: those every reachable alternative ran."""
    reached = [r for r in results if r is not None]
    if not reached:
        return None
    return frozenset.intersection(*reached)


_KINDS = {
    "http": _http, "sql": _sql, "approval": _approval, "delay": _delay, "branch": _branch, "set": _set,
    "parallel": _parallel, "foreach": _foreach, "call": _call, "respond": _respond, "fail": _fail,
    "succeed": _succeed,
}
