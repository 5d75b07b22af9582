"""The authorization matrix: every endpoint that reads or changes a run or request, against every kind of
caller, answers the status the table says, in the error shape (OWASP API1: object-level authorization).

Callers: no key, a wrong key, the app key without a user, the person who started the run, an assignee of its
request (through a group), a stranger, and the admin key. Nothing is changed: bodies that would decide are invalid on
purpose (an unknown resolution, nobody to reassign to: 422 shows who got past authorization), cancels go to a
run and a request that have ended (409), a bulk cancel selects nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, APP_KEY
from tests.requests_helpers import pending_requests, run_detail
from tests.runs_helpers import user
from tests.test_expense_flow import wait_for

CALLERS = ("none", "bad_key", "no_user", "starter", "assignee", "stranger", "admin")
# path template, method, body, expected status per caller (in CALLERS order)
MATRIX: list[tuple[str, str, dict | None, tuple[int, ...]]] = [
    ("/api/v1/runs", "GET", None, (401, 401, 400, 200, 200, 200, 200)),
    ("/api/v1/runs?started_by={starter}", "GET", None, (401, 401, 400, 200, 403, 403, 200)),
    ("/api/v1/runs/{run_id}", "GET", None, (401, 401, 400, 200, 200, 404, 200)),
    ("/api/v1/runs/{run_id}/steps", "GET", None, (401, 401, 400, 200, 200, 404, 200)),
    ("/api/v1/runs/{done_run_id}/cancel", "POST", {}, (401, 401, 400, 409, 403, 404, 409)),
    ("/api/v1/runs/{run_id}/retry", "POST", {}, (401, 401, 400, 409, 403, 404, 409)),
    ("/api/v1/runs/bulk-cancel", "POST", {"started_by": "{starter}", "until": "2000-01-01T00:00:00Z"},
     (401, 401, 400, 200, 403, 403, 200)),
    ("/api/v1/runs/bulk-retry", "POST", {"started_by": "{starter}", "status": "completed"},
     (401, 401, 400, 200, 403, 403, 200)),
    ("/api/v1/requests", "GET", None, (401, 401, 400, 200, 200, 200, 200)),
    ("/api/v1/requests/{request_id}", "GET", None, (401, 401, 400, 200, 200, 404, 200)),
    ("/api/v1/requests/{request_id}/resolve", "POST", {"resolution": "Nope"}, (401, 401, 400, 403, 422, 404, 400)),
    ("/api/v1/requests/{request_id}/reassign", "POST", {"to_users": [], "to_groups": []},
     (401, 401, 400, 403, 422, 404, 400)),
    ("/api/v1/requests/{request_id}/cancel", "POST", {}, (401, 401, 400, 403, 403, 404, 400)),
    ("/api/v1/requests/{done_request_id}/cancel", "POST", {}, (401, 401, 400, 409, 409, 404, 400)),
    ("/api/v1/keys", "GET", None, (401, 401, 403, 403, 403, 403, 200)),
    ("/api/v1/queries/submit_expense/webhook", "GET", None, (401, 401, 403, 403, 403, 403, 200)),
]


@pytest.fixture(scope="module")
def scene(app) -> dict[str, Any]:
    client = app.test_client()
    starter, boss, stranger = user("starter"), user("boss"), user("stranger")
    response = client.post("/api/v1/queries/submit_expense/runs", headers=_headers("starter", starter, boss, stranger),
                           json={"input": {"employee": starter, "amount": 900, "description": "Matrix"}})
    run_id = response.json["run_id"]
    done_run_id = client.post("/api/v1/queries/submit_expense/runs", headers=_headers("starter", starter, "", ""),
                              json={"input": {"employee": starter, "amount": 800, "description": "Done"}}
                              ).json["run_id"]
    [request] = pending_requests(client, run_id)
    [done] = pending_requests(client, done_run_id)
    decided = client.post(f"/api/v1/requests/{done['id']}/resolve", headers=_headers("assignee", "", boss, ""),
                          json={"resolution": "Approve"})
    assert decided.status_code == 200, decided.json
    wait_for(lambda: run_detail(client, done_run_id)["status"] == "completed")
    return {"starter": starter, "boss": boss, "stranger": stranger, "run_id": run_id, "request_id": request["id"],
            "done_run_id": done_run_id, "done_request_id": done["id"]}


def _headers(caller: str, starter: str, boss: str, stranger: str) -> dict[str, str]:
    return {
        "none": {},
        "bad_key": {"Authorization": "Bearer not-a-key-0123456789"},
        "no_user": {"Authorization": f"Bearer {APP_KEY}"},
        "starter": {"Authorization": f"Bearer {APP_KEY}", "X-Workflows-User": starter},
        "assignee": {"Authorization": f"Bearer {APP_KEY}", "X-Workflows-User": boss,
                     "X-Workflows-Groups": "managers"},
        "stranger": {"Authorization": f"Bearer {APP_KEY}", "X-Workflows-User": stranger},
        "admin": {"Authorization": f"Bearer {ADMIN_KEY}"},
    }[caller]


def _fill(value: Any, scene: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**scene)
    if isinstance(value, dict):
        return {k: _fill(v, scene) for k, v in value.items()}
    return value


CASES = [pytest.param(path, method, body, caller, expected[i], id=f"{method} {path} as {caller}")
         for path, method, body, expected in MATRIX for i, caller in enumerate(CALLERS)]


@pytest.mark.parametrize(("path", "method", "body", "caller", "status"), CASES)
def test_authorization_matrix(app, scene, path, method, body, caller, status):
    headers = _headers(caller, scene["starter"], scene["boss"], scene["stranger"])
    response = app.test_client().open(_fill(path, scene), method=method, headers=headers,
                                      json=_fill(body, scene) if body is not None else None)
    assert response.status_code == status, response.json
    if status >= 400:
        assert set(response.json) == {"error"} and {"code", "message", "details"} <= set(response.json["error"])


def test_the_request_is_still_pending_after_the_matrix(app, scene):
    detail = app.test_client().get(f"/api/v1/requests/{scene['request_id']}",
                                   headers=_headers("admin", "", "", ""))
    assert detail.json["status"] == "pending" and detail.json["decisions"] == []
