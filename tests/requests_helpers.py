"""Helpers for the humans-in-the-loop tests: start a probe run, read it, act on its requests."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import ADMIN_KEY, auth
from tests.test_expense_flow import wait_for


def person(prefix: str = "p") -> str:
    """A fresh email, so tests never see each other's requests."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def group() -> str:
    """A fresh group name."""
    return f"g-{uuid.uuid4().hex[:8]}"


def start_probe(client, requester: str, requests: list[dict[str, Any]], parallel: bool = False,
                **more: Any) -> str:
    """Start the approval probe as ``requester`` (``more``: other input, e.g. ``sleep_after``); returns the
    run id."""
    body = {"input": {"requests": [{"resolutions": ["Approve", "Reject"], **r} for r in requests],
                      "parallel": parallel, **more}}
    response = client.post("/api/v1/queries/approval_probe/runs", headers=auth(user=requester), json=body)
    assert response.status_code == 202, response.json
    return response.json["run_id"]


def run_detail(client, run_id: str) -> dict[str, Any]:
    """The run as an admin sees it."""
    response = client.get(f"/api/v1/runs/{run_id}", headers=auth(ADMIN_KEY))
    assert response.status_code == 200, response.json
    return response.json


def pending_requests(client, run_id: str, count: int = 1) -> list[dict[str, Any]]:
    """Wait until the run has ``count`` pending requests; returns them."""
    def ready():
        pending = [r for r in run_detail(client, run_id)["requests"] if r["status"] == "pending"]
        return pending if len(pending) >= count else None
    return wait_for(ready)


def finished(client, run_id: str) -> dict[str, Any]:
    """Wait until the run has ended; returns its detail."""
    return wait_for(lambda: (r := run_detail(client, run_id))["status"] not in ("running", "waiting") and r)


def act(client, request_id: str, user: str, action: str = "resolve", groups: str | None = None,
        key: str | None = None, **body: Any):
    """POST /api/v1/requests/{id}/{action} as a user."""
    headers = auth(key, user=user, groups=groups) if key else auth(user=user, groups=groups)
    return client.post(f"/api/v1/requests/{request_id}/{action}", headers=headers, json=body)


def inbox(client, user: str, groups: str | None = None, **params: Any) -> dict[str, Any]:
    """GET /api/v1/requests as a user."""
    response = client.get("/api/v1/requests", headers=auth(user=user, groups=groups), query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def inbox_ids(client, user: str, groups: str | None = None, **params: Any) -> list[str]:
    """The ids in the caller's inbox page."""
    return [r["id"] for r in inbox(client, user, groups, **params)["requests"]]
