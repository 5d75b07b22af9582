"""manifest.json: valid against its schema, the package's version, and every template a live OpenAPI operation."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from importlib.metadata import version

import pytest
from jsonschema import Draft202012Validator

from plugin.api import create_app
from plugin.api.pages.manifest import load_manifest
from plugin.assets import manifest_path, manifest_schema_path
from tests.checkout import REPO_ROOT

LOCATIONS = {"path": "path", "query": "query", "header": "header"}


@pytest.fixture(scope="module")
def openapi(app) -> dict:
    return app.test_client().get("/openapi.json").json


def operations_by_id(doc: dict) -> dict[str, tuple[str, str, dict, list]]:
    """operationId -> (METHOD, path, operation, parameters incl. the path item's)."""
    out = {}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                params = item.get("parameters", []) + operation.get("parameters", [])
                out[operation["operationId"]] = (method.upper(), path, operation, params)
    return out


def body_properties(doc: dict, operation: dict) -> set[str]:
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def test_the_manifest_is_valid_against_its_schema():
    schema = json.loads(manifest_schema_path().read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(load_manifest())]
    assert not errors, errors


def test_the_schema_refuses_a_broken_manifest():
    schema = json.loads(manifest_schema_path().read_text())
    broken = load_manifest()
    del broken["datasource"]["identity"]
    broken["query_templates"][0]["form"] = [{"label": "x"}]
    broken["panels"] = [{"id": "inbox", "title": "Inbox", "description": "", "entry": "elsewhere/inbox.html",
                         "modes": ["floating"], "model": {}, "events": []}]
    paths = {"/".join(map(str, e.absolute_path)) for e in Draft202012Validator(schema).iter_errors(broken)}
    assert {"datasource", "query_templates/0/form/0", "panels/0/entry", "panels/0/modes/0"} <= paths


def test_a_panel_of_the_documented_shape_validates():
    schema = json.loads(manifest_schema_path().read_text())
    manifest = load_manifest()
    manifest["panels"] = [{
        "id": "inbox", "title": "Inbox", "description": "The user's pending requests, with approve buttons",
        "entry": "ui_panels/inbox.html", "modes": ["bound", "standalone"],
        "model": {"requests": {"description": "The requests to show", "operationId": "listRequests",
                               "binding": "{{GetRequests.data.requests}}"}},
        "events": [{"name": "onResolve", "description": "A person chose a resolution", "operationId":
                    "resolveRequest", "context": ["id", "resolution", "comment"]}],
    }]
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(manifest)]
    assert not errors, errors


def test_the_manifest_carries_the_package_version():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    manifest = load_manifest()
    assert manifest["version"] == pyproject["project"]["version"] == version("workflows-plugin")
    assert manifest_path().parent == REPO_ROOT  # a top-level file of the project


def test_every_template_is_an_operation_of_the_live_document(openapi):
    operations = operations_by_id(openapi)
    templates = load_manifest()["query_templates"]
    assert {t["label"] for t in templates} >= {
        "List queries", "Trigger workflow", "Get run", "List runs", "Run steps", "Cancel run", "Retry run",
        "Get requests", "Get request", "Resolve request", "Reassign request"}
    for template in templates:
        assert template["operationId"] in operations, template["id"]
        method, path, operation, params = operations[template["operationId"]]
        assert (template["method"], template["path"]) == (method, path), template["id"]
        declared = {(p["in"], p["name"]) for p in params}
        for control in template["form"]:
            location, _, name = control["configProperty"].partition(".")
            if location == "body":
                assert name in body_properties(openapi, operation), (template["id"], name)
            else:
                assert (LOCATIONS[location], name) in declared, (template["id"], control["configProperty"])
        required_path = {p["name"] for p in params if p["in"] == "path"}
        in_form = {c["configProperty"].split(".", 1)[1] for c in template["form"] if c["configProperty"][:5] == "path."}
        assert required_path == in_form, template["id"]
        if any(c["optionsFrom"]["operationId"] not in operations for c in template["form"] if "optionsFrom" in c):
            pytest.fail(f"{template['id']}: optionsFrom names an unknown operation")


def test_identity_headers_and_page_operations_are_in_the_document(openapi):
    manifest = load_manifest()
    operations = operations_by_id(openapi)
    _, _, _, params = operations["getRun"]
    header_names = {p["name"] for p in params if p["in"] == "header"}
    named = {h for option in manifest["datasource"]["identity"]["options"] for h in option["headers"]}
    for host in manifest["hosts"].values():
        for binding in [host["user"], *host.get("alternatives", [])]:
            named |= set(binding["headers"])
    assert named and named <= header_names, named - header_names
    assert {o["scheme"] for o in manifest["datasource"]["identity"]["options"]} == {
        "oidc", "proxy", "headers", "host_signature", "link"}
    for section in manifest["settings_page"]["sections"]:
        assert set(section["operationIds"]) <= set(operations), section["id"]
    for panel in manifest["panels"]:
        assert (REPO_ROOT / panel["entry"]).is_file(), panel["id"]
        for event in panel["events"]:
            assert event["operationId"] in operations, (panel["id"], event["name"])
        for key, model in panel["model"].items():
            if "operationId" in model:  # the query whose data the app binds to this key
                assert model["operationId"] in operations, (panel["id"], key)


def test_get_manifest_fills_in_the_base_url_and_the_queries(client, app):
    served = client.get("/manifest.json", base_url="http://plugin.internal:9000")
    assert served.status_code == 200 and served.mimetype == "application/json"
    body = served.json
    assert body["datasource"]["base_url"] == "http://plugin.internal:9000"
    assert body["homepage"] == "http://plugin.internal:9000/"
    assert body["version"] == load_manifest()["version"] and "$schema" not in body
    trigger = next(t for t in body["query_templates"] if t["operationId"] == "triggerWorkflow")
    names = next(c for c in trigger["form"] if c["configProperty"] == "path.name")
    assert {"label": "Submit expense", "value": "submit_expense"} in names["options"]
    assert len(names["options"]) == len(app.extensions["workflows"].workspace.queries)
    assert body["live_events"]["stream_url"] == "http://plugin.internal:9000/api/v1/events"
    assert body["live_events"]["token_path"] == "/api/v1/events/token"


def test_get_manifest_uses_the_public_url_setting(settings):
    streams = replace(settings.streams, public_url="https://events.example.com")
    application = create_app(settings.with_overrides(public_url="https://workflows.example.com", streams=streams))
    try:
        body = application.test_client().get("/manifest.json").json
        doc = application.test_client().get("/openapi.json").json
    finally:
        application.extensions["workflows"].gateway.close()
    assert body["datasource"]["base_url"] == "https://workflows.example.com"
    assert body["live_events"]["stream_url"] == "https://events.example.com/api/v1/events"
    assert doc["servers"] == [{"url": "https://workflows.example.com", "description": "This plugin"}]


def test_the_documents_the_manifest_points_to_exist():
    documentation = load_manifest()["documentation"]
    files = [path for path in documentation.values() if not path.startswith("/")]
    missing = {path for path in files if not (REPO_ROOT / path).is_file()}
    assert missing <= {"docs/identity.md"}, missing  # identity.md comes with the identity issue
    assert {"README.md", "docs/hosts.md"} <= set(files)
