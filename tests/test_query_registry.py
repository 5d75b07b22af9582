"""Loading query definitions: a mistake stops start-up with a message naming the file and the query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin.errors import ConfigError
from plugin.workspace.loader import load_workspaces

SAMPLE = Path(__file__).resolve().parent.parent / "sample_apps" / "expense-approval"
INPUT = {"type": "object", "required": ["employee", "invoice"],
         "properties": {"employee": {"type": "string"}, "invoice": {"type": "integer"}, "note": {"type": "string"},
                        "tags": {"type": "array"}}}


def workspace(tmp_path: Path, **query: object) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir(parents=True)
    spec = {"workflow": "expense_approval", "input": INPUT, **query}
    (folder / "workspace.json").write_text(json.dumps({"python_modules": [], "queries": {"claim": spec}}))
    return folder


@pytest.fixture(autouse=True)
def expense_workflow_registered() -> None:
    load_workspaces([SAMPLE])  # imports the sample's module, which registers expense_approval


def test_a_business_key_template_over_required_fields_loads(tmp_path):
    ws = load_workspaces([workspace(tmp_path, run_id="expense-{employee}-{invoice}", mode="sync",
                                    wait_seconds=7, timeout_seconds=60)])
    query = ws.queries["claim"]
    assert query.run_id_template == "expense-{employee}-{invoice}"
    assert query.wait_seconds == 7 and query.timeout_seconds == 60 and query.mode == "sync"
    assert load_workspaces([workspace(tmp_path / "b", mode="sync")]).queries["claim"].wait_seconds == 10


@pytest.mark.parametrize(("query", "words"), [
    ({"run_id": "expense-{nobody}"}, "{nobody} is not an input property"),
    ({"run_id": "expense-{note}"}, "{note} must be a required input property"),
    ({"run_id": "expense-{employee!r}"}, "format or conversion"),
    ({"run_id": "expense-{employee:>10}"}, "format or conversion"),
    ({"run_id": "expense"}, "has no {placeholder}"),
    ({"run_id": "expense/{employee}"}, "may not contain '/'"),
    ({"run_id": "expense-{employee"}, "is not valid"),
    ({"run_id": 5}, "must be 'random' or a template"),
    ({"wait_seconds": 61}, "wait_seconds: must be a whole number of seconds from 0 to 60"),
    ({"wait_seconds": "5"}, "wait_seconds"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
    ({"mode": "eventually"}, "mode: must be one of"),
    ({"workflow": "no_such_flow"}, "unknown workflow 'no_such_flow'"),
])
def test_mistakes_name_the_file_the_query_and_the_problem(tmp_path, query, words):
    folder = workspace(tmp_path, **query)
    with pytest.raises(ConfigError) as caught:
        load_workspaces([folder])
    message = caught.value.message
    assert str(folder / "workspace.json") in message and "query 'claim'" in message and words in message


def test_a_placeholder_over_a_list_is_refused(tmp_path):
    inp = {**INPUT, "required": ["employee", "invoice", "tags"]}
    with pytest.raises(ConfigError, match="must be a string, number or boolean"):
        load_workspaces([workspace(tmp_path, run_id="x-{tags}", input=inp)])
