"""`workflows-plugin check` and the workspace schemas: every problem in one pass, once, in plain words,
naming file, query or step, and field; list fields refuse strings; names fit URLs and run ids."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from plugin import __version__
from plugin.cli import main
from plugin.engine.calls.net_guard import Guard
from plugin.engine.interpreter.spec import APPROVAL_FIELDS, KIND_FIELDS
from plugin.engine.request_options import check_options
from plugin.models import AssignRequest
from plugin.workspace.check import check_workspaces
from plugin.workspace.schema_check import DEFINITION_SCHEMA, WORKSPACE_SCHEMA, schema_path

APPROVAL = {"id": "ask", "kind": "approval", "name": "Approve", "resolutions": ["Approve", "Reject"]}
LIST_FIELDS = ("users", "groups", "resolutions", "rejecting_resolutions", "escalate_to_users", "escalate_to_groups")


def workspace(folder: Path, queries: dict, definitions: dict[str, dict] | None = None, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workspace.json").write_text(json.dumps({"queries": queries, **extra}))
    for name, content in (definitions or {}).items():
        (folder / "definitions").mkdir(exist_ok=True)
        (folder / "definitions" / f"{name}.json").write_text(json.dumps(content))
    return folder


def definition(*steps: dict) -> dict:
    return {"id": "d", "steps": list(steps)}


@pytest.mark.parametrize("name", LIST_FIELDS)
def test_a_string_where_a_list_belongs_is_refused_naming_step_and_field(tmp_path, name):
    step = {**APPROVAL, "groups": ["managers"], name: "managers" if name != "resolutions" else "Approve"}
    report = check_workspaces([workspace(tmp_path, {"q": {"definition": "d"}}, {"d": definition(step)})])
    [problem] = report.problems
    assert f"step 'ask': {name}: must be a list of strings" in problem, problem


def test_a_code_workflow_passing_a_string_for_groups_is_refused():
    with pytest.raises(Exception, match="groups must be a list of strings, not str 'managers'"):
        check_options(AssignRequest(name="A", resolutions=["Ok"], groups="managers"))  # type: ignore[arg-type]


def test_list_fields_of_workspace_json_refuse_strings(tmp_path):
    report = check_workspaces([workspace(tmp_path, {}, python_modules="my_module")])
    assert report.problems == [f"{tmp_path / 'workspace.json'}: python_modules: must be a list of Python module names"]


def test_unknown_keys_and_names_that_do_not_fit_urls_are_refused(tmp_path):
    folder = workspace(tmp_path, {"q 4/x": {"workflow": "node_workflow"},
                                  "ok": {"workflow": "node_workflow", "colour": "red"}}, foo=1)
    text = "\n".join(check_workspaces([folder]).problems)
    assert "workspace.json: foo: unknown field(s); allowed: ['$schema', 'calendars', 'connections', 'description', " \
           "'name'" in text
    assert "query 'q 4/x': a query name must be 1-64 letters, digits" in text
    assert "query 'ok': colour: unknown field(s)" in text


def test_every_problem_of_workspace_and_definitions_in_one_pass_each_once_in_plain_words(tmp_path):
    broken = definition({**APPROVAL, "groups": "managers"}, {**APPROVAL, "groups": ["g"]},
                        {"id": "wait", "kind": "delay", "duration": "soon"})
    folder = workspace(tmp_path, {"q": {"definition": "d", "mode": "later", "wait_seconds": 99},
                                  "p": {"workflow": "nope"}}, {"d": broken}, foo=1)
    problems = check_workspaces([folder]).problems
    expected = ["workspace.json: foo:", "query 'q': mode: must be one of", "query 'q': wait_seconds:",
                "query 'p': workflow: unknown workflow 'nope'", "step 'ask': groups: must be a list",
                "step 'ask': id: duplicate step id 'ask'", "step 'wait': duration: 'soon' is not a duration"]
    for words in expected:
        assert sum(words in p for p in problems) == 1, (words, problems)
    assert not [p for p in problems if re.search(r"__init__|positional argument|Traceback|\bNone\b", p)]


def test_a_missing_required_approval_field_is_said_once_without_python_internals(tmp_path):
    step = {"id": "ask", "kind": "approval", "groups": ["g"]}
    problems = check_workspaces([workspace(tmp_path, {}, {"d": definition(step)})]).problems
    assert len(problems) == 2 and all("__init__" not in p for p in problems), problems
    assert any("step 'ask': name:" in p for p in problems) and any("step 'ask': resolutions:" in p for p in problems)


def test_http_steps_that_resolve_inside_the_network_are_warned_about_unless_allowed(tmp_path):
    steps = [{"id": "local", "kind": "http", "url": "http://127.0.0.1:9/x"},
             {"id": "named", "kind": "http", "url": "https://intranet.example/x"},
             {"id": "public", "kind": "http", "url": "https://api.example/x"},
             {"id": "later", "kind": "http", "url": "{{ input.url }}"}]
    folder = workspace(tmp_path, {}, {"d": definition(*steps)})
    resolver = {"intranet.example": ["10.1.2.3"], "api.example": ["93.184.215.14"]}
    guard = Guard(resolver=lambda host, port: resolver[host])
    report = check_workspaces([folder], guard=guard)
    assert report.problems == []
    assert [w.split(": url:")[0].rsplit(": ", 1)[-1] for w in report.warnings] == ["step 'local'", "step 'named'"]
    assert "loopback" in report.warnings[0] and "refused at run time" in report.warnings[0]
    allowed = Guard(allow=frozenset({("127.0.0.1", 9), ("intranet.example", None)}), resolver=guard.resolver)
    assert check_workspaces([folder], guard=allowed).warnings == []


def test_check_command_prints_warnings_without_failing(tmp_path):
    folder = workspace(tmp_path, {}, {"d": definition({"id": "local", "kind": "http", "url": "http://127.0.0.1/"})})
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "step 'local'" in result.output


def test_version_option():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_the_schemas_are_valid_and_cover_every_step_field():
    for name in (WORKSPACE_SCHEMA, DEFINITION_SCHEMA):
        Draft202012Validator.check_schema(json.loads(schema_path(name).read_text()))
    schema = json.loads(schema_path(DEFINITION_SCHEMA).read_text())
    kinds = {part["if"]["properties"]["kind"]["const"]: set(part["then"]["properties"])
             for part in schema["$defs"]["step"]["allOf"]}
    assert kinds == {kind: set(fields) for kind, fields in KIND_FIELDS.items()}
    assert kinds["approval"] == set(APPROVAL_FIELDS)


def test_sample_files_point_editors_at_the_schemas():
    for path in Path("sample_apps").glob("*/workspace.json"):
        assert (path.parent / json.loads(path.read_text())["$schema"]).resolve() == schema_path(WORKSPACE_SCHEMA)
    for path in Path("sample_apps").glob("*/definitions/*.json"):
        assert (path.parent / json.loads(path.read_text())["$schema"]).resolve() == schema_path(DEFINITION_SCHEMA)


def test_the_readme_lists_every_command():
    readme = Path("README.md").read_text()
    for command in main.commands:
        assert f"workflows-plugin {command}" in readme, command


def test_the_readme_lists_every_setting_and_header():
    readme = Path("README.md").read_text()
    settings = set(re.findall(r"WORKFLOWS_[A-Z_]+", Path("plugin/config.py").read_text()))
    assert not [name for name in sorted(settings) if name not in readme]
    for header in ("X-Workflows-User", "X-Workflows-Groups", "X-Workflows-App", "Idempotency-Key"):
        assert header in readme


def test_the_workspace_reference_covers_every_field_and_docs_stay_inside_the_repository():
    reference = Path("docs/workspace.md").read_text()
    schema = json.loads(schema_path(WORKSPACE_SCHEMA).read_text())
    for name in [*schema["properties"], *schema["$defs"]["query"]["properties"]]:
        assert f"`{name}`" in reference, name
    for doc in Path("docs").glob("*.md"):
        assert "../shared" not in doc.read_text() and "/work/" not in doc.read_text(), doc


def test_keywords_of_a_query_input_schema_refuse_strings_where_lists_belong(tmp_path):
    inp = {"type": "object", "properties": {"colour": {"type": "string", "enum": "red"}}}
    problems = check_workspaces([workspace(tmp_path, {"q": {"workflow": "node_workflow", "input": inp}})]).problems
    assert len(problems) == 1 and "query 'q': input.colour.enum: 'red' is not of type 'array'" in problems[0]


def test_a_form_field_with_a_string_for_its_options_is_refused(tmp_path):
    step = {**APPROVAL, "groups": ["g"], "form": [{"name": "risk", "type": "select", "options": "low"}]}
    problems = check_workspaces([workspace(tmp_path, {}, {"d": definition(step)})]).problems
    assert len(problems) == 1 and "step 'ask': form: must be a list of form fields" in problems[0], problems
