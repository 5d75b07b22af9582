"""An apispec plugin that makes the generated document importable by a host as-is.

Every operation gets a stable ``operationId``, a summary, ``security`` (the bearer key on ``/api/``
operations and as the document's default; none on health checks), the header parameters the API reads
(identity headers, and on triggers ``Idempotency-Key`` and ``X-Workflows-App``) and the examples of
:mod:`plugin.api.openapi.examples`.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin

from plugin.api.openapi.examples import EXAMPLES

SECURITY_SCHEME = "bearer"
BEARER = {"type": "http", "scheme": "bearer", "description": "An API key: 'Authorization: Bearer <key>'. Hosts use "
          "an app key; admin keys see every run and change settings."}

INFO = ("Durable workflows with humans in the loop. Send an API key as 'Authorization: Bearer <key>' and name the "
        "end user with the identity headers (see docs/identity.md). Each workflow query has a typed trigger "
        "operation (tag 'Typed queries'). Every error is {\"error\": {\"code\", \"message\", \"details\"}}. "
        "The plugin manifest for hosts is at /manifest.json.")

LICENSE = {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"}  # as pyproject.toml says

# Endpoint (blueprint.function) -> operationId. New views get camelCase(blueprint_function) unless they set
# their own with ``@bp.doc(operationId=...)``; names here never change once released.
OPERATION_IDS = {
    "health.healthz": "healthz",
    "health.readyz": "readyz",
    "queries.list_queries": "listQueries",
    "queries.trigger": "triggerWorkflow",
    "runs.list_runs": "listRuns",
    "runs.get_run": "getRun",
    "runs.get_steps": "getRunSteps",
    "run_actions.cancel": "cancelRun",
    "run_actions.retry": "retryRun",
    "run_actions.bulk_cancel": "bulkCancelRuns",
    "run_actions.bulk_retry": "bulkRetryRuns",
    "requests.list_requests": "listRequests",
    "requests.get_request": "getRequest",
    "requests.resolve": "resolveRequest",
    "requests.reassign": "reassignRequest",
    "requests.cancel": "cancelRequest",
    "connections.list_connections": "listConnections",
    "connections.test_connection": "testConnection",
    "secrets.list_secrets": "listSecrets",
    "secrets.put_secret": "putSecret",
    "secrets.delete_secret": "deleteSecret",
    "codec.decode": "decodePayloads",
    "codec.encode": "encodePayloads",
}
TRIGGER_OPERATIONS = {"triggerWorkflow"}
OPEN_OPERATIONS = {"healthz", "readyz"}  # answered without a key


def _header(name: str, description: str, schema: dict[str, Any], example: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description, "schema": schema,
            "example": example}


IDENTITY_HEADERS = [
    _header("X-Workflows-User", "The end user, an email (trusted 'headers' identity: only from a host that fills it "
            "on its server). An app key must name the user for reads and decisions; see docs/identity.md.",
            {"type": "string", "maxLength": 254, "pattern": r"^[^@\s,]+@[^@\s,]+$"}, "ann@example.com"),
    _header("X-Workflows-Groups", "The end user's groups, comma-separated (with X-Workflows-User).",
            {"type": "string", "maxLength": 2000}, "managers,finance"),
    _header("X-Workflows-Identity", "The end user's token from the company's identity provider (OIDC ID or access "
            "token, or an identity-aware proxy's signed JWT), verified against the issuer's JWKS.",
            {"type": "string", "maxLength": 16384}, "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"),
    _header("X-APPSMITH-SIGNATURE", "Appsmith's signature of the call (its Authenticated API datasource option), "
            "proving the call came from the Appsmith server; paired with a user identity.",
            {"type": "string", "maxLength": 4096}, "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"),
]
# The end user's identity headers, declared also as API-key schemes (in no requirement: the bearer key is what
# every call needs). An importer treats a scheme's header as a credential of the datasource rather than a
# parameter of each query: Budibase's OpenAPI 3 import puts it on the datasource's headers, where the builder
# binds it to the signed-in user (filled on Budibase's server), instead of a query binding a browser may set.
IDENTITY_SCHEMES = {
    scheme: {"type": "apiKey", "in": "header", "name": name, "description": f"The end user, filled on the host's "
             f"server (never a value a browser supplies): {what} See docs/identity.md."}
    for scheme, name, what in [
        ("workflowsUser", "X-Workflows-User", "an email, for keys that trust the 'headers' identity."),
        ("workflowsGroups", "X-Workflows-Groups", "the user's groups, comma-separated, with X-Workflows-User."),
        ("workflowsIdentity", "X-Workflows-Identity", "a token of the company's identity provider ('oidc' keys)."),
    ]
}
TRIGGER_HEADERS = [
    _header("Idempotency-Key", "The same key and body from the same caller always answer the same run "
            "(IETF httpapi draft); the same key with another body is a 422.",
            {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e][\x20-\x7e]*$"},
            "order-4711-submit"),
    _header("X-Workflows-App", "The host app that triggers the run (recorded on the run, filterable).",
            {"type": "string", "maxLength": 100, "pattern": r"^[^\x22\x27\\]*$"}, "Expenses"),
]


def operation_id_for(endpoint: str) -> str:
    """The operationId of a view endpoint (``blueprint.function``)."""
    if endpoint in OPERATION_IDS:
        return OPERATION_IDS[endpoint]
    words = [w for w in re.split(r"[._\-]", endpoint) if w]
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def add_host_fields(operation: dict[str, Any], operation_id: str, path: str) -> None:
    """Fill operationId, summary, security, headers and examples of one operation (existing values win)."""
    operation.setdefault("operationId", operation_id)
    operation_id = operation["operationId"]
    if not operation.get("summary"):
        operation["summary"] = (operation.get("description") or operation_id).split("\n", 1)[0]
    if operation_id in OPEN_OPERATIONS:
        operation.setdefault("security", [])
    if not path.startswith("/api/"):
        return
    operation.setdefault("security", [{SECURITY_SCHEME: []}])
    params = operation.setdefault("parameters", [])
    have = {(p.get("in"), p.get("name", "").lower()) for p in params if isinstance(p, dict)}
    wanted = IDENTITY_HEADERS + (TRIGGER_HEADERS if operation_id in TRIGGER_OPERATIONS else [])
    params.extend(dict(h) for h in wanted if ("header", h["name"].lower()) not in have)
    add_examples(operation, EXAMPLES.get(operation_id, {}))


def request_examples(value: Any) -> dict[str, Any]:
    """A request body's example as a named one (``examples``), never as the media type's ``example``.

    Importers turn a body's single ``example`` into the defaults of the fields they generate: Budibase's
    OpenAPI 3 import makes each example value the default of a binding (``input_employee`` defaulting to
    ``ann@example.com``, a decision defaulting to ``Approve``). Named examples only illustrate.
    """
    return {"example": {"summary": "An example", "value": value}}


def add_examples(operation: dict[str, Any], examples: dict[str, Any]) -> None:
    """Put a request example on the JSON body and response examples on the answers that have content."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and "request" in examples:
        body.setdefault("examples", request_examples(examples["request"]))
    wanted = examples.get("responses", {})
    for code, response in operation.get("responses", {}).items():  # codes are still ints here
        content = response.get("content", {}).get("application/json") if isinstance(response, dict) else None
        if content is not None and str(code) in wanted:
            content.setdefault("example", wanted[str(code)])


def nullable_beside_type(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """An apispec attribute function: drop ``nullable`` from a schema without ``type`` (a ``Raw`` field).

    OpenAPI 3.0.3 gives ``nullable`` effect only beside ``type``; linters (Redocly) and validators (Ajv's
    nullable support) refuse it alone. An untyped schema allows every JSON value, null included, already.
    """
    if "nullable" in ret and "type" not in ret:
        del ret["nullable"]  # apispec's own attribute functions edit ``ret`` the same way
    return {}


class HostFacePlugin(BasePlugin):
    """Adds what a host's importer needs to every operation flask-smorest documents."""

    def init_spec(self, spec: APISpec) -> None:
        for name, scheme in IDENTITY_SCHEMES.items():
            spec.components.security_scheme(name, scheme)
        for plugin in spec.plugins:  # flask-smorest's MarshmallowPlugin comes first and is initialised already
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(nullable_beside_type)
        spec.components.security_scheme(SECURITY_SCHEME, BEARER)
        spec.options.setdefault("security", [{SECURITY_SCHEME: []}])  # the default; open operations say []
        spec.options.setdefault("info", {}).setdefault("description", INFO)
        spec.options["info"].setdefault("license", LICENSE)

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        endpoint = getattr(rule, "endpoint", "") or ""
        for method, operation in (operations or {}).items():
            suffix = "" if len(operations or {}) == 1 else method
            fallback = operation_id_for(endpoint) if endpoint else operation_id_for(f"{path}.{method}")
            if endpoint not in OPERATION_IDS and suffix:
                fallback += suffix.capitalize()
            add_host_fields(operation, fallback, path or "")
