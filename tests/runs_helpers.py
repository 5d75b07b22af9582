"""Helpers for the query and run tests: trigger the runs lab, read runs, wait for visibility."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import ADMIN_KEY, auth
from tests.test_expense_flow import wait_for

OPEN = ("running", "waiting")


def user(prefix: str = "u") -> str:
    """A fresh email, so tests never see each other's runs."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def trigger(client, who: str, data: dict[str, Any] | None = None, query: str = "runs_lab", expect: int = 202,
            headers: dict[str, str] | None = None, params: str = "") -> dict[str, Any]:
    """POST a trigger as ``who``; asserts the status code and returns the body."""
    response = client.post(f"/api/v1/queries/{query}/runs{params}", headers={**auth(user=who), **(headers or {})},
                           json={"input": data or {}})
    assert response.status_code == expect, response.json
    return response.json


def get_run(client, run_id: str, who: str | None = None, expect: int = 200) -> dict[str, Any]:
    """GET a run as ``who`` (an admin when None)."""
    headers = auth(user=who) if who else auth(ADMIN_KEY)
    response = client.get(f"/api/v1/runs/{run_id}", headers=headers)
    assert response.status_code == expect, response.json
    return response.json


def ended(client, run_id: str, who: str | None = None, timeout: float = 20) -> dict[str, Any]:
    """Wait until the run has ended; returns it."""
    return wait_for(lambda: (r := get_run(client, run_id, who))["status"] not in OPEN and r, timeout)


def listed(client, who: str | None = None, key: str = ADMIN_KEY, **params: Any):
    """GET /api/v1/runs with these query parameters; returns the response."""
    headers = auth(key, user=who) if who else auth(key)
    return client.get("/api/v1/runs", headers=headers, query_string=params)


def error_of(response) -> dict[str, Any]:
    """The error body, checked for the one error shape."""
    body = response.json
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]
