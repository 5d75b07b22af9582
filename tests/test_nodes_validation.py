"""Definition validation: every problem at once, each naming file, step and field; `workflows-plugin check`;
templates (native values, strict, sandboxed, deterministic); hypothesis over generated definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.cli import main
from plugin.engine.interpreter.templates import TemplateFailure, is_true, render
from plugin.engine.interpreter.validate import validate_definition
from plugin.errors import ConfigError
from plugin.workspace.definitions import check_definitions
from plugin.workspace.loader import load_workspaces
from tests.node_programs import programs, shuffled_refs, strip_twins

BROKEN = {
    "id": "broken",
    "steps": [
        {"id": "a", "kind": "http", "url": "ftp://x", "method": "FETCH", "retry": {"max_attempts": 0}},
        {"id": "a", "kind": "teleport"},
        {"id": "b", "kind": "set", "values": {"x": "{{ steps.c.output }}", "y": "{{ steps.ghost.output }}",
                                              "z": "{{ nope + 1 }}", "w": "{{ 1 + }}"}},
        {"id": "c", "kind": "delay", "duration": "soon", "extra": 1},
        {"id": "d", "kind": "approval", "name": "A", "resolutions": ["Ok"], "timeout": "1h"},
        {"id": "e", "kind": "foreach", "items": "{{ input.list }}", "concurrency": 500,
         "steps": [{"id": "inner", "kind": "set", "values": {"v": "{{ item }}"}}]},
        {"id": "f", "kind": "set", "values": {"v": "{{ steps.inner.output }}"}},
        {"id": "g", "kind": "call", "definition": "missing"},
        {"id": "h", "kind": "fail", "message": "stop"},
        {"id": "i", "kind": "set", "values": {"v": 1}},
    ],
}


def write(folder: Path, name: str, content) -> Path:
    (folder / "definitions").mkdir(parents=True, exist_ok=True)
    path = folder / "definitions" / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_every_problem_is_reported_at_once_naming_file_step_and_field(tmp_path):
    path = write(tmp_path, "broken.json", BROKEN)
    loaded, problems = check_definitions([tmp_path])
    assert loaded == {}
    found = {(p.step, p.field.split(".")[0].split("[")[0]) for p in problems}
    expected = {("a", "url"), ("a", "method"), ("a", "retry"), ("a", "id"), ("a", "kind"),
                ("b", "values"), ("c", "duration"), ("c", "extra"), ("d", "timeout"), ("d", "approval"),
                ("e", "concurrency"), ("f", "values"), ("g", "definition"), ("i", "")}
    assert expected <= found, sorted(found)
    assert all(p.file == str(path) for p in problems)
    messages = "\n".join(str(p) for p in problems)
    for words in ("step 'c', which has not run on every path", "step 'ghost', which does not exist",
                  "unknown name(s) ['nope']", "bad template '{{ 1 + }}'", "step 'inner', which has not run",
                  "unknown step kind 'teleport'", "can never run", "use due_in_seconds"):
        assert words in messages


def test_bad_json_and_duplicate_definition_ids_are_reported(tmp_path):
    write(tmp_path, "a.json", "{not json")
    write(tmp_path, "b.json", {"id": "same", "steps": [{"id": "s", "kind": "set", "values": {"k": 1}}]})
    write(tmp_path, "c.json", {"id": "same", "steps": [{"id": "s", "kind": "set", "values": {"k": 1}}]})
    loaded, problems = check_definitions([tmp_path])
    text = "\n".join(map(str, problems))
    assert "not valid JSON" in text and "definition id 'same' is also used by" in text
    assert list(loaded) == ["same"]


def test_references_after_branches_count_only_steps_every_path_ran():
    definition = {"id": "d", "steps": [
        {"id": "pick", "kind": "branch",
         "cases": [{"if": "input.x", "steps": [{"id": "both", "kind": "set", "values": {"v": 1}},
                                               {"id": "only_one", "kind": "set", "values": {"v": 2}}]}],
         "else": [{"id": "both2", "kind": "set", "values": {"v": 3}},
                  {"id": "stop", "kind": "fail", "message": "no"}]},
        {"id": "after", "kind": "set", "values": {"a": "{{ steps.only_one.output }}", "b": "{{ steps.pick.output }}"}},
    ]}
    assert validate_definition(definition, "d.json") == [], "the else arm always fails, so only_one ran"
    definition["steps"][0]["else"].pop()
    [problem] = validate_definition(definition, "d.json")
    assert problem.step == "after" and problem.field == "values.a" and "only_one" in problem.message


def test_check_command_lists_every_problem_and_exits_non_zero(tmp_path):
    (tmp_path / "workspace.json").write_text(json.dumps({"queries": {}}))
    write(tmp_path, "broken.json", BROKEN)
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert "problem(s) in 1 workspace folder(s)" in result.output
    assert result.output.count("broken.json") >= 10


def test_check_command_passes_the_test_and_sample_workspaces():
    samples = sorted(p for p in Path("sample_apps").iterdir() if p.is_dir())
    folders = [Path(__file__).parent / "node_workspace", *samples]
    result = CliRunner().invoke(main, ["check", *map(str, folders)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK:")


def test_queries_name_definitions_and_take_their_input_schema(tmp_path):
    write(tmp_path, "d.json", {"id": "d", "input": {"type": "object", "required": ["n"],
                                                    "properties": {"n": {"type": "integer"}}},
                               "steps": [{"id": "s", "kind": "set", "values": {"k": "{{ input.n }}"}}]})
    (tmp_path / "workspace.json").write_text(json.dumps({"queries": {"q": {"definition": "d"}}}))
    query = load_workspaces([tmp_path]).queries["q"]
    assert query.workflow == "node_workflow" and query.definition.id == "d"
    assert query.input_json_schema["required"] == ["n"]
    for bad, words in (({"definition": "nope"}, "unknown definition 'nope'"),
                       ({"definition": "d", "workflow": "expense_approval"}, "exactly one of 'workflow'")):
        (tmp_path / "workspace.json").write_text(json.dumps({"queries": {"q": bad}}))
        with pytest.raises(ConfigError, match=words):
            load_workspaces([tmp_path])


def test_an_invalid_definition_stops_the_load_listing_its_problems(tmp_path):
    write(tmp_path, "broken.json", BROKEN)
    (tmp_path / "workspace.json").write_text(json.dumps({"queries": {}}))
    with pytest.raises(ConfigError) as caught:
        load_workspaces([tmp_path])
    assert "problem(s) in workspace files" in caught.value.message
    assert len(caught.value.details["problems"]) >= 10


# -- templates ----------------------------------------------------------------------------------

CONTEXT = {"input": {"amount": 12.5, "items": [1, 2, 3], "name": "Ann"}, "steps": {}, "state": {}, "run": {}}


@pytest.mark.parametrize(("template", "value"), [
    ("{{ input.amount }}", 12.5), ("{{ input.items }}", [1, 2, 3]), ("{{ input.items | sum }}", 6),
    ("Hi {{ input.name }}", "Hi Ann"), ("{{ input.amount > 10 }}", True), ("plain", "plain"),
    ({"a": ["{{ input.name | upper }}"]}, {"a": ["ANN"]}), ("{{ range(3) | list }}", [0, 1, 2]),
])
def test_templates_give_native_values(template, value):
    assert render(template, CONTEXT) == value


@pytest.mark.parametrize(("template", "words"), [
    ("{{ input.missing }}", "no attribute 'missing'"), ("{{ 1 / 0 }}", "division by zero"),
    ("{{ input.items.append(4) }}", "unsafe"), ("{{ input.__class__ }}", "unsafe"),
    ("{{ 'x' * 10000000 }}", "more than"), ("{{ 9 ** 99999 }}", "too large"),
    ("{{ input.items | random }}", "No filter named 'random'"), ("{{ lipsum() }}", "lipsum"),
])
def test_template_errors_name_the_expression(template, words):
    with pytest.raises(TemplateFailure) as caught:
        render(template, CONTEXT)
    assert words in str(caught.value) and template in str(caught.value)


def test_conditions_with_or_without_braces():
    assert is_true("input.amount > 10", CONTEXT) and is_true("{{ input.name == 'Ann' }}", CONTEXT)
    assert not is_true("input.items | length > 3", CONTEXT)


# -- properties -----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_valid_definitions_have_no_problems(program):
    assert validate_definition(strip_twins(program.definition), "gen.json") == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(min_steps=2), st.data())
def test_a_reference_to_a_later_step_is_always_found(program, data):
    broken, victim = data.draw(shuffled_refs(program.definition))
    problems = validate_definition(broken, "gen.json")
    assert any(p.step == victim and "has not run" in p.message for p in problems), problems
