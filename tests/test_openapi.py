"""The generated OpenAPI document is valid, covers every route, and documents the error shape."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

ROUTE_PREFIXES = ("/api/", "/healthz", "/readyz")


def test_the_document_is_valid_openapi(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    validate(response.json)


def test_every_route_and_method_is_documented(client, app):
    paths = client.get("/openapi.json").json["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(ROUTE_PREFIXES):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing, missing


def test_errors_are_documented_in_the_one_error_shape(client):
    doc = client.get("/openapi.json").json
    shape = doc["components"]["schemas"]["Error"]
    assert shape["properties"]["error"]
    trigger = doc["paths"]["/api/v1/queries/{name}/runs"]["post"]["responses"]
    assert {"200", "202", "422"} <= set(trigger)
    assert trigger["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    for path, operations in doc["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert "401" in responses, f"{method} {path} does not document the missing-key answer"
            for code, answer in responses.items():
                if "$ref" in answer:
                    answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
                if code[0] in "45":
                    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Error"), (path, code)
