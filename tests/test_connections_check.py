"""`check` on connections and the steps that use them: every problem named, a valid workspace passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin.errors import ConfigError
from plugin.workspace.check import check_workspaces
from plugin.workspace.connections import CONNECTIONS_FILE
from plugin.workspace.loader import load_workspaces
from plugin.workspace.schema_check import definition_schema_problems, workspace_schema_problems
from tests.connections_helpers import http_connections, write_workspace

SQL = {"kind": "sql", "url": "sqlite:///tmp/check.db", "read_only": True}


def definition(*steps: dict) -> dict:
    return {"steps": list(steps)}


def problems_of(tmp_path: Path, connections: dict, *steps: dict) -> list[str]:
    folder = write_workspace(tmp_path / "ws", connections, {"uses": definition(*steps)})
    return check_workspaces([folder]).problems


def test_a_valid_workspace_with_connections_loads(tmp_path):
    folder = write_workspace(tmp_path / "ws", {**http_connections("https://api.example.com"), "db": SQL}, {
        "uses": definition(
            {"id": "get", "kind": "http", "connection": "api_bearer", "path": "/items/{{ input.id }}"},
            {"id": "q", "kind": "sql", "connection": "db", "statement": "SELECT * FROM t WHERE id = :id",
             "params": {"id": "{{ input.id }}"}, "mode": "one"})})
    assert check_workspaces([folder]).problems == []
    assert sorted(load_workspaces([folder]).connections) == sorted([*http_connections("x"), "db"])


@pytest.mark.parametrize(("step", "expected"), [
    ({"id": "s", "kind": "http", "connection": "nope"}, "unknown http connection 'nope'; declared: ['api']"),
    ({"id": "s", "kind": "http", "connection": "db"}, "unknown http connection 'db'"),
    ({"id": "s", "kind": "http", "connection": "api", "url": "https://x.example.com"}, "exactly one of 'url'"),
    ({"id": "s", "kind": "http", "connection": "api", "path": "https://evil.example.com/x"}, "relative"),
    ({"id": "s", "kind": "sql", "connection": "api", "statement": "SELECT 1"}, "unknown sql connection 'api'"),
    ({"id": "s", "kind": "sql", "connection": "db", "statement": "SELECT * FROM t WHERE n = '{{ input.n }}'"},
     "may not hold templates"),
    ({"id": "s", "kind": "sql", "connection": "db", "statement": "SELECT * FROM t WHERE a = :a AND b = :b",
      "params": {"a": 1}}, "no value for bind parameter(s) ['b']"),
    ({"id": "s", "kind": "sql", "connection": "db", "statement": "SELECT 1", "params": {"x": 1}},
     "parameter(s) ['x'] are not used"),
    ({"id": "s", "kind": "sql", "connection": "db", "statement": "SELECT 1", "mode": "all"}, "mode"),
    ({"id": "s", "kind": "sql", "connection": "db"}, "a sql step needs 'statement'"),
])
def test_steps_naming_connections_are_checked(tmp_path, step, expected):
    problems = problems_of(tmp_path, {"api": {"kind": "http", "base_url": "https://api.example.com"}, "db": SQL},
                           step)
    assert any(expected in p and "step 's'" in p for p in problems), problems


@pytest.mark.parametrize(("connection", "expected"), [
    ({"kind": "http", "base_url": "https://a.example.com", "auth": {"type": "bearer", "token": "abc123"}},
     'auth.token: must be a secret reference {"$secret": "NAME"}, never the value itself'),
    ({"kind": "http", "base_url": "https://a.example.com", "auth": {"type": "bearer", "token": {"$secret": "lc"}}},
     "auth.token: a secret name is upper-case"),
    ({"kind": "http", "base_url": "ftp://a.example.com"}, "base_url: needs an http:// or https:// URL"),
    ({"kind": "http", "base_url": "https://a.example.com", "auth": {"type": "digest"}}, "auth.type: must be one of"),
    ({"kind": "http", "base_url": "https://a.example.com",
      "auth": {"type": "oauth2_client_credentials", "client_id": "c", "client_secret": {"$secret": "S"}}},
     "auth.token_url: oauth2_client_credentials auth needs 'token_url'"),
    ({"kind": "sql", "url": "postgresql://bob:hunter2@db.example.com/app"}, "url: holds a password"),
    ({"kind": "sql", "url": "sqlite:///x.db", "max_rows": 0}, "max_rows: must be a whole number from 1"),
    ({"kind": "sql", "url": "sqlite:///x.db", "statement_timeout": "soon"}, "statement_timeout:"),
    ({"kind": "ftp"}, "kind: must be one of ['http', 'sql']"),
    ({"kind": "http", "base_url": "https://a.example.com", "retry": {"max_attempts": 0}},
     "retry.max_attempts: must be a whole number from 1 to 100"),
    ({"kind": "sql", "url": "sqlite:///x.db", "retry": {"retry_on_status": [503]}},
     "retry.retry_on_status: only an http connection"),
    ({"kind": "http", "base_url": "https://a.example.com", "retry": {"every": "1s"}}, "retry: must be an object"),
])
def test_connections_are_checked_and_credentials_must_be_secret_references(tmp_path, connection, expected):
    problems = problems_of(tmp_path, {"bad": connection}, {"id": "s", "kind": "set", "values": {"a": 1}})
    assert any("connection 'bad'" in p and expected in p for p in problems), problems
    assert not any("hunter2" in p for p in problems)


def test_loading_refuses_a_bad_connection(tmp_path):
    folder = write_workspace(tmp_path / "ws", {"bad": {"kind": "sql"}}, {"uses": definition(
        {"id": "s", "kind": "set", "values": {"a": 1}})})
    with pytest.raises(ConfigError) as caught:
        load_workspaces([folder])
    assert "connection 'bad': url" in caught.value.message


def test_a_step_naming_a_connection_with_a_problem_gets_one_problem_not_two(tmp_path):
    bad = {"kind": "http", "base_url": "https://a.example.com", "auth": {"type": "bearer", "token": "abc123"}}
    problems = problems_of(tmp_path, {"crm": bad}, {"id": "s", "kind": "http", "connection": "crm", "path": "/x"})
    assert len(problems) == 1 and "connection 'crm': auth.token" in problems[0], problems
    assert "abc123" not in problems[0]


def test_connection_problems_come_in_the_same_pass_as_every_other_problem_each_once(tmp_path):
    bad = {"kind": "http", "base_url": "https://a.example.com", "bogus": 1, "auth": {"type": "bearer",
                                                                                     "token": "abc123"}}
    folder = write_workspace(tmp_path / "ws", {"crm": bad}, {"uses": definition(
        {"id": "s", "kind": "sql", "connection": "nowhere", "statement": "SELECT 1"},
        {"id": "t", "kind": "set", "values": {"a": 1}, "colour": "red"})})
    data = json.loads((folder / "workspace.json").read_text())
    data["queries"]["other"] = {"workflow": "node_workflow", "mode": "later"}
    (folder / "workspace.json").write_text(json.dumps(data))
    (folder / CONNECTIONS_FILE).write_text(json.dumps({"db": {"kind": "sql", "url": "sqlite:///x.db", "max_rows": 0}}))
    problems = check_workspaces([folder]).problems
    expected = ["connection 'crm': auth.token: must be a secret reference", "connection 'crm': bogus: unknown field",
                f"{CONNECTIONS_FILE}: connection 'db': max_rows: must be a whole number",
                "step 's': connection: unknown sql connection 'nowhere'", "step 't': colour", "query 'other': mode"]
    for part in expected:
        assert sum(part in p for p in problems) == 1, (part, problems)
    assert len(problems) == len(expected), problems
    with pytest.raises(ConfigError) as caught:
        load_workspaces([folder])
    details = caught.value.details["problems"]
    assert {"file": str(folder / "workspace.json"), "connection": "crm", "field": "bogus"}.items() <= {
        k: v for d in details for k, v in d.items() if d.get("field") == "bogus"}.items()


def test_the_shipped_schemas_accept_connections_and_the_steps_that_use_them(tmp_path):
    workspace = {"name": "w", "queries": {}, "connections": {
        **http_connections("https://api.example.com"), "db": {**SQL, "statement_timeout": "5s", "max_rows": 10,
                                                              "retry": {"max_attempts": 2}}}}
    steps = {"id": "d", "steps": [
        {"id": "get", "kind": "http", "connection": "api_bearer", "path": "/items"},
        {"id": "q", "kind": "sql", "connection": "db", "statement": "SELECT :a", "params": {"a": 1}, "mode": "one",
         "max_rows": 5}]}
    assert workspace_schema_problems(workspace, "workspace.json") == []
    assert definition_schema_problems(steps, "d.json") == []
    wrong = definition_schema_problems({"id": "d", "steps": [{"id": "q", "kind": "sql", "connection": "db",
                                                              "statement": "SELECT 1", "colour": "red"}]}, "d.json")
    assert [(p.step, p.field) for p in wrong] == [("q", "colour")]


def test_a_connections_file_that_is_not_json_is_a_problem(tmp_path):
    folder = write_workspace(tmp_path / "ws", {}, {"uses": definition({"id": "s", "kind": "set", "values": {"a": 1}})})
    (folder / CONNECTIONS_FILE).write_text("{nope")
    problems = check_workspaces([folder]).problems
    assert len(problems) == 1 and f"{CONNECTIONS_FILE}: not valid JSON" in problems[0], problems
