"""/openapi.json as a host imports it: ids, security, headers, servers, examples, one typed operation per query."""

from __future__ import annotations

from dataclasses import replace

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from plugin.api.openapi.queries import openapi_schema
from tests.conftest import auth
from tests.test_expense_flow import employee
from tests.test_manifest import operations_by_id

IDENTITY = {"X-Workflows-User", "X-Workflows-Groups", "X-Workflows-Identity", "X-APPSMITH-SIGNATURE"}


@pytest.fixture(scope="module")
def doc(app) -> dict:
    return app.test_client().get("/openapi.json", base_url="http://10.0.0.5:8787").json


def test_every_operation_has_a_unique_id_a_summary_and_the_bearer_key(doc):
    ids = [op["operationId"] for item in doc["paths"].values() for m, op in item.items() if m != "parameters"]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for operation_id, (_, path, operation, params) in operations_by_id(doc).items():
        assert operation["summary"], operation_id
        if path.startswith("/api/"):
            assert operation["security"] == [{"bearer": []}], operation_id
            headers = {p["name"] for p in params if p["in"] == "header"}
            assert IDENTITY <= headers, (operation_id, IDENTITY - headers)
        elif path.startswith("/hooks/"):  # webhooks take the query's own token, never an API key
            assert operation["security"] in ([{"webhookToken": []}], []), operation_id
        elif operation_id in ("healthz", "readyz"):
            assert operation["security"] == [], operation_id
    assert doc["security"] == [{"bearer": []}]


def test_triggers_declare_idempotency_key_and_app_headers(doc):
    for operation_id, (_, path, _, params) in operations_by_id(doc).items():
        if path.startswith("/api/v1/queries/") and path.endswith("/runs"):
            headers = {p["name"]: p for p in params if p["in"] == "header"}
            assert {"Idempotency-Key", "X-Workflows-App"} <= set(headers), operation_id
            assert headers["Idempotency-Key"]["schema"]["maxLength"] == 255


def test_servers_come_from_the_request(doc):
    assert doc["servers"][0]["url"] == "http://10.0.0.5:8787"


def test_the_document_with_typed_operations_is_valid_openapi(doc):
    validate(doc)


def test_one_typed_operation_per_query_with_its_input_schema(doc, app):
    queries = app.extensions["workflows"].workspace.queries
    operations = operations_by_id(doc)
    expense = operations["triggerSubmitExpense"]
    assert expense[:2] == ("POST", "/api/v1/queries/submit_expense/runs")
    body = doc["components"]["schemas"]["triggerSubmitExpenseBody"]
    assert body["required"] == ["input"] and body["additionalProperties"] is False
    assert body["properties"]["input"] == openapi_schema(queries["submit_expense"].input_json_schema)
    assert body["properties"]["input"]["required"] == ["employee", "amount", "description"]
    assert body["properties"]["input"]["properties"]["amount"]["maximum"] == 1000000
    assert {"200", "202", "422"} <= set(expense[2]["responses"])
    typed = {p for _, p, _, _ in operations.values() if p.startswith("/api/v1/queries/") and "{name}" not in p}
    assert len(typed) == len(queries)


def test_a_declared_output_types_the_completed_answer(doc, app):
    queries = app.extensions["workflows"].workspace.queries
    completed = doc["paths"]["/api/v1/queries/submit_expense/runs"]["post"]["responses"]["200"]
    ref = completed["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    typed_output = doc["components"]["schemas"][ref]["allOf"][1]["properties"]["output"]
    assert typed_output == openapi_schema(queries["submit_expense"].output_json_schema, closed=False)
    assert typed_output["properties"]["decision"]["properties"]["resolution"]["enum"] == ["Approve", "Reject"]
    listed = {q["name"]: q for q in app.test_client().get("/api/v1/queries", headers=auth()).json["queries"]}
    assert listed["submit_expense"]["output_schema"] == queries["submit_expense"].output_json_schema
    generic = doc["paths"]["/api/v1/queries/{name}/runs"]["post"]["responses"]["200"]
    assert generic["content"]["application/json"]["schema"]["$ref"].endswith("/RunStarted")


def test_an_output_schema_outside_the_supported_subset_is_refused(tmp_path, settings):
    from plugin.errors import ConfigError
    from plugin.workspace.loader import load_workspaces
    from tests.test_health_and_config import write_workspace

    load_workspaces(settings.workspaces)  # registers the sample workflows
    folder = write_workspace(tmp_path / "ws", {"q": {"workflow": "expense_approval",
                                                     "output": {"type": "object", "patternProperties": {}}}})
    with pytest.raises(ConfigError, match=r"query 'q': output: unsupported JSON Schema keywords"):
        load_workspaces([folder])


def test_json_schema_becomes_openapi_3_0():
    converted = openapi_schema({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                                "properties": {"n": {"type": "number", "exclusiveMinimum": 0},
                                               "o": {"type": "object", "properties": {"a": {"type": "string"}}},
                                               "free": {"type": "object"}}})
    assert "$schema" not in converted and converted["additionalProperties"] is False
    assert converted["properties"]["n"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert converted["properties"]["o"]["additionalProperties"] is False
    assert "additionalProperties" not in converted["properties"]["free"]


def _validator(doc: dict, schema: dict) -> OAS30Validator:
    return OAS30Validator({"allOf": [schema], "components": doc["components"]})


def test_every_example_matches_the_schema_it_illustrates(doc):
    checked = 0
    for operation_id, (_, _, operation, params) in operations_by_id(doc).items():
        media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        answers = [(code, r.get("content", {}).get("application/json", {}))
                   for code, r in operation["responses"].items()]
        for where, content in [("request", media), *answers]:
            shown = [content["example"]] if "example" in content else []
            shown += [named["value"] for named in content.get("examples", {}).values()]
            for example in shown:
                errors = [e.message for e in _validator(doc, content["schema"]).iter_errors(example)]
                assert not errors, (operation_id, where, errors)
                checked += 1
        for param in params:
            if "example" in param:
                assert not list(_validator(doc, param["schema"]).iter_errors(param["example"])), param["name"]
    assert checked >= 30


def test_request_bodies_only_illustrate_examples(doc):
    """A media type's single ``example`` becomes the defaults of an importer's fields (Budibase): requests carry
    named ``examples`` only."""
    for operation_id, (_, _, operation, _) in operations_by_id(doc).items():
        media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        assert "example" not in media, operation_id


def test_a_typed_operation_triggers_its_query(client, doc):
    who = employee()
    example = doc["paths"]["/api/v1/queries/submit_expense/runs"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]["example"]["value"]
    started = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user=who), json=example)
    assert started.status_code == 202, started.json
    assert started.json["query"] == "submit_expense"


def test_the_document_follows_the_loaded_workspace(app):
    svc = app.extensions["workflows"]
    before = app.test_client().get("/openapi.json").json
    original = svc.workspace
    fewer = {k: v for k, v in original.queries.items() if k != "submit_expense"}
    svc.workspace = replace(original, queries=fewer)
    try:
        after = app.test_client().get("/openapi.json").json
    finally:
        svc.workspace = original
    assert "/api/v1/queries/submit_expense/runs" in before["paths"]
    assert "/api/v1/queries/submit_expense/runs" not in after["paths"]
    assert "triggerSubmitExpenseBody" not in after["components"]["schemas"]
    assert app.test_client().get("/openapi.json").json == before
    original.queries["zz_added"] = replace(original.queries["submit_expense"], name="zz_added")
    try:  # a query added in place (same workspace object) is picked up too
        added = app.test_client().get("/openapi.json").json
    finally:
        del original.queries["zz_added"]
    assert added["paths"]["/api/v1/queries/zz_added/runs"]["post"]["operationId"] == "triggerZzAdded"
    assert "/api/v1/queries/zz_added/runs" not in app.test_client().get("/openapi.json").json["paths"]


def test_documents_per_host_name_stay_bounded(app):
    from plugin.api.openapi import document as openapi_doc

    client = app.test_client()
    for n in range(openapi_doc._MAX_CACHED * 3):
        assert client.get("/openapi.json", base_url=f"http://h{n}.example").json["servers"][0]["url"] == \
            f"http://h{n}.example"
    assert len(app.extensions["workflows_openapi"]["cache"]) <= openapi_doc._MAX_CACHED
