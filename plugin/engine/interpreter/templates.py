"""Templates and conditions: ``{{ ... }}`` in Jinja2's immutable sandbox, deterministic and strict.

A string that is one whole ``{{ expression }}`` yields the expression's native value (a number stays a
number, a list a list); any other string with template syntax renders to a string. Conditions are
expressions, with or without the braces. Names a template can use: ``input``, ``steps``, ``state``, ``run``,
and inside loops and error handlers the loop variable, ``index`` and ``error``.

Deterministic: no clock, no randomness (the ``random`` filter and ``lipsum`` are removed), no mutation of
the data (the immutable sandbox refuses ``append``, ``update`` and friends), undefined names raise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from plugin.ast_lock import AST_LOCK
from plugin.engine.calls.url_paths import PathEscape, path_segment

_WHOLE = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)
_SYNTAX = ("{{", "{%", "{#")
# Guards against a template that would eat the worker's memory or CPU.
MAX_POWER_EXPONENT = 1024
MAX_REPEATED_LENGTH = 100_000


class TemplateFailure(Exception):
    """A template could not be compiled or evaluated; names the expression."""

    def __init__(self, expression: str, message: str) -> None:
        super().__init__(f"template {expression!r}: {message}")
        self.expression = expression
        self.reason = message


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, with dict keys winning over dict methods (``input.items`` is the key, not the method)."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_POWER_EXPONENT:
            raise SecurityError(f"exponent {right} is too large (at most {MAX_POWER_EXPONENT})")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and \
                        len(seq) * times > MAX_REPEATED_LENGTH:
                    raise SecurityError(f"repeating a sequence to more than {MAX_REPEATED_LENGTH} items")
        return super().call_binop(context, operator, left, right)


def _new_environment(**options: Any) -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, **options)
    env.filters.pop("random", None)
    env.globals.pop("lipsum", None)
    return env


@lru_cache(maxsize=1)
def environment() -> _Environment:
    """The one template environment (made on first use, never at import)."""
    return _new_environment()


def _segment(value: Any) -> str:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises, naming what is missing
    return path_segment(value)


@lru_cache(maxsize=1)
def path_environment() -> _Environment:
    """The environment of URL path templates: each ``{{ }}`` value becomes one percent-encoded segment."""
    return _new_environment(finalize=_segment)


def has_template(value: Any) -> bool:
    """True when a string holds template syntax."""
    return isinstance(value, str) and any(mark in value for mark in _SYNTAX)


def whole_expression(text: str) -> str | None:
    """The expression of a string that is exactly one ``{{ ... }}``, else None."""
    match = _WHOLE.match(text)
    if match is None:
        return None
    expr = match.group("expr")
    return None if "{{" in expr or "}}" in expr else expr


def condition_expression(text: str) -> str:
    """A condition's expression, with or without the surrounding braces."""
    return whole_expression(text) or text


# Every parse and compile here takes the process's AST lock (``plugin.ast_lock``: a CPython 3.11 bug makes two threads
# building ASTs at once fail); each template is compiled once, then cached.
_COMPILE_LOCK = AST_LOCK


@lru_cache(maxsize=4096)
def _compiled_expression(expr: str) -> Any:
    with _COMPILE_LOCK:
        return environment().compile_expression(expr, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _compiled_template(text: str) -> Any:
    with _COMPILE_LOCK:
        return environment().from_string(text)


@lru_cache(maxsize=1024)
def _compiled_path(text: str) -> Any:
    with _COMPILE_LOCK:
        return path_environment().from_string(text)


def _jsonable(value: Any, expression: str) -> Any:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises, naming what is missing
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, expression) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [_jsonable(v, expression) for v in value]
    raise TemplateFailure(expression, f"gives a {type(value).__name__}, which is not a JSON value")


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The native value of an expression (without braces) over the context."""
    try:
        return _jsonable(_compiled_expression(expression.strip())(**context), expression)
    except TemplateFailure:
        raise
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateFailure(expression, _reason(exc)) from None


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template in a JSON value (strings, lists and objects, keys too)."""
    if isinstance(value, str):
        if not has_template(value):
            return value
        expr = whole_expression(value)
        if expr is not None:
            try:
                return evaluate(expr, context)
            except TemplateFailure as exc:
                raise TemplateFailure(value, exc.reason) from None
        try:
            return _compiled_template(value).render(**context)
        except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
            raise TemplateFailure(value, _reason(exc)) from None
    if isinstance(value, list):
        return [render(v, context) for v in value]
    if isinstance(value, dict):
        return {str(render(k, context)): render(v, context) for k, v in value.items()}
    return value


def render_path(text: str, context: Mapping[str, Any]) -> str:
    """Render a URL path template; each value is one segment (TemplateFailure for ``/``, ``..`` or empty)."""
    if not has_template(text):
        return text
    try:
        return _compiled_path(text).render(**context)
    except PathEscape as exc:
        raise TemplateFailure(text, str(exc)) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateFailure(text, _reason(exc)) from None


def is_true(condition: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a condition to a boolean."""
    try:
        return bool(evaluate(condition_expression(condition), context))
    except TemplateFailure as exc:
        raise TemplateFailure(condition, exc.reason) from None


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, TemplateError) else text


# -- static analysis, for the validator -----------------------------------------------------------


def parse(text: str, as_condition: bool = False) -> nodes.Template:
    """Parse a template (or a condition) into Jinja's AST; TemplateFailure on a syntax error."""
    source = "{{ " + condition_expression(text) + " }}" if as_condition else text
    try:
        with _COMPILE_LOCK:
            tree = environment().parse(source)
        whole = whole_expression(source)
        if whole is not None:
            _compiled_expression(whole.strip())
        else:
            _compiled_template(source)
    except TemplateError as exc:
        raise TemplateFailure(text, _reason(exc)) from None
    return tree


def free_names(tree: nodes.Template) -> set[str]:
    """Top-level names a template reads (``input``, ``steps``...)."""
    return set(meta.find_undeclared_variables(tree))


def step_references(tree: nodes.Template) -> set[str]:
    """Step ids read as ``steps.<id>`` or ``steps['<id>']``."""
    found: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, nodes.Getattr) and _is_steps(node.node):
            found.add(node.attr)
        elif isinstance(node, nodes.Getitem) and _is_steps(node.node) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str):
            found.add(node.arg.value)
    return found


def _is_steps(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "steps" and node.ctx == "load"


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    yield node
    for child in node.iter_child_nodes():
        yield from _walk(child)
