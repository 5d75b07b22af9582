"""Hypothesis strategies for generated node-based definitions, with a reference evaluator.

Programs use set, branch and foreach steps over integer state keys a, b, c; values may read the state,
the loop item and the outputs of set steps that ran earlier on every path. ``Program.expected(x)`` computes
the final state the interpreter must reach for input ``{"x": x}``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

KEYS = ("a", "b", "c")


@dataclass
class Program:
    """A generated definition and the Python twin of its steps."""

    definition: dict[str, Any]

    def expected(self, x: int) -> dict[str, int]:
        state: dict[str, int] = {}
        outputs: dict[str, Any] = {}
        _run(self.definition["steps"], state, outputs, {"x": x}, None)
        return state


def _value(expr: tuple, state: dict[str, int], outputs: dict[str, Any], item: int | None) -> int:
    kind = expr[0]
    if kind == "input":
        return expr[1]["x"]
    if kind == "const":
        return expr[1]
    if kind == "mix":  # (state[k] * m + n) % 1000
        return (state[expr[1]] * expr[2] + expr[3]) % 1000
    if kind == "ref":
        return outputs[expr[1]][expr[2]]
    return (state[expr[1]] + item) % 1000  # "item"


def _run(steps: list[dict], state: dict, outputs: dict, inp: dict, item: int | None) -> None:
    for step in steps:
        twin = step["_twin"]
        if step["kind"] == "set":
            values = {}
            for key, expr in twin:
                values[key] = state[key] = _value(expr if expr[0] != "input" else ("input", inp), state,
                                                  outputs, item)
            outputs[step["id"]] = values
        elif step["kind"] == "branch":
            key = twin
            _run(step["cases"][0]["steps"] if state[key] % 2 == 0 else step.get("else", []), state, outputs,
                 inp, item)
        else:
            for n in range(twin):
                _run(step["steps"], state, dict(outputs), inp, n)


def _template(expr: tuple) -> Any:
    kind = expr[0]
    if kind == "input":
        return "{{ input.x }}"
    if kind == "const":
        return expr[1]
    if kind == "mix":
        return f"{{{{ (state.{expr[1]} * {expr[2]} + {expr[3]}) % 1000 }}}}"
    if kind == "ref":
        return f"{{{{ steps.{expr[1]}.output.{expr[2]} }}}}"
    return f"{{{{ (state.{expr[1]} + item) % 1000 }}}}"


@st.composite
def _steps(draw: Any, counter: list[int], available: list[tuple[str, str]], depth: int, in_loop: bool,
           min_size: int = 1) -> list[dict]:
    steps: list[dict] = []
    available = list(available)
    for _ in range(draw(st.integers(min_size, 3))):
        counter[0] += 1
        sid = f"s{counter[0]}"
        kind = draw(st.sampled_from(["set", "set", "branch", "foreach"] if depth < 2 else ["set"]))
        if kind == "set":
            key = draw(st.sampled_from(KEYS))
            choices = [st.tuples(st.just("mix"), st.sampled_from(KEYS), st.integers(0, 3), st.integers(0, 9)),
                       st.tuples(st.just("const"), st.integers(-5, 5))]
            if available:
                choices.append(st.sampled_from(available).map(lambda ref: ("ref", *ref)))
            if in_loop:
                choices.append(st.tuples(st.just("item"), st.sampled_from(KEYS)))
            expr = draw(st.one_of(choices))
            steps.append({"id": sid, "kind": "set", "values": {key: _template(expr)}, "_twin": [(key, expr)]})
            available.append((sid, key))
        elif kind == "branch":
            key = draw(st.sampled_from(KEYS))
            step = {"id": sid, "kind": "branch", "_twin": key,
                    "cases": [{"if": f"state.{key} % 2 == 0",
                               "steps": draw(_steps(counter, available, depth + 1, in_loop))}]}
            if draw(st.booleans()):
                step["else"] = draw(_steps(counter, available, depth + 1, in_loop))
            steps.append(step)
        else:
            count = draw(st.integers(0, 4))
            steps.append({"id": sid, "kind": "foreach", "items": f"{{{{ range({count}) | list }}}}", "_twin": count,
                          "steps": draw(_steps(counter, available, depth + 1, True))})
    return steps


def strip_twins(value: Any) -> Any:
    """The definition without the evaluator's notes."""
    if isinstance(value, dict):
        return {k: strip_twins(v) for k, v in value.items() if k != "_twin"}
    if isinstance(value, list):
        return [strip_twins(v) for v in value]
    return value


@st.composite
def programs(draw: Any, min_steps: int = 1) -> Program:
    """A valid definition: an init step, then generated steps; ``output`` is the state."""
    init = {"id": "init", "kind": "set", "values": {"a": "{{ input.x }}", "b": 1, "c": 0},
            "_twin": [("a", ("input",)), ("b", ("const", 1)), ("c", ("const", 0))]}
    body = draw(_steps([0], [("init", "a")], 0, False, min_size=min_steps))
    return Program({"id": "generated", "input": {"type": "object", "required": ["x"],
                                                 "properties": {"x": {"type": "integer"}}},
                    "steps": [init, *body], "output": "{{ state }}"})


@st.composite
def shuffled_refs(draw: Any, definition: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The definition with its first step reading a later step's output: (broken copy, the reading step)."""
    broken = copy.deepcopy(strip_twins(definition))
    later = draw(st.sampled_from([s["id"] for s in broken["steps"][1:]]))
    broken["steps"][0]["values"]["z"] = f"{{{{ steps.{later}.output }}}}"
    return broken, broken["steps"][0]["id"]
