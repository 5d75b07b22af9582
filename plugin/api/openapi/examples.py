"""Request and response examples per operationId, for importers that show or prefill them.

tests/test_openapi_host.py validates every example against the schema it illustrates, so they cannot drift.
"""

from __future__ import annotations

from typing import Any

RUN_ID = "submit_expense-5f0c9a4e2b7d4c1e8a6b3d2f1e0c9b8a"
REQUEST_ID = "req-5f0c9a4e-1-approval"
STATUS_URL = f"/api/v1/runs/{RUN_ID}"

_STARTED = {"run_id": RUN_ID, "query": "submit_expense", "status": "running", "existing": False,
            "status_url": STATUS_URL}
_REQUEST = {
    "id": REQUEST_ID, "run_id": RUN_ID, "query": "submit_expense", "name": "approval",
    "message": "Approve 640.00 for Conference (ann@example.com)?", "metadata": {"amount": 640},
    "resolutions": ["Approve", "Reject"], "users": [], "groups": ["managers"], "required_approvals": 1,
    "requester": "ann@example.com", "created_at": "2026-11-26T09:30:00+00:00", "status": "pending",
    "resolution": None, "resolved_at": None, "decisions": [], "version": 1,
}
_RESOLVED = {**_REQUEST, "status": "resolved", "resolution": "Approve", "resolved_at": "2026-11-26T10:02:11+00:00",
             "decisions": [{"actor": "bob@example.com", "resolution": "Approve", "at": "2026-11-26T10:02:11+00:00",
                            "comment": "ok", "payload": {}, "request_id": REQUEST_ID}], "version": 2}
_SUMMARY = {"id": RUN_ID, "workflow": "expense_approval", "query": "submit_expense",
            "started_by": "ann@example.com", "app": "Expenses", "retry_of": None, "status": "waiting",
            "started_at": "2026-11-26T09:30:00+00:00", "ended_at": None}
_RUN = {**_SUMMARY, "input": {"employee": "ann@example.com", "amount": 640, "description": "Conference"},
        "output": None, "error": None, "retries": [], "requests": [_REQUEST], "decisions": [], "audit": []}

EXAMPLES: dict[str, dict[str, Any]] = {
    "healthz": {"responses": {"200": {"status": "ok"}}},
    "readyz": {"responses": {"200": {"status": "ok", "temporal": "ok", "redis": "ok", "worker": "ok"}}},
    "listQueries": {"responses": {"200": {"queries": [{
        "name": "submit_expense", "label": "Submit expense", "description": "Submit an expense claim.",
        "workflow": "expense_approval", "mode": "async", "wait_seconds": 0, "run_id": "random",
        "timeout_seconds": None, "input_schema": {"type": "object", "required": ["employee", "amount"],
                                                  "properties": {"employee": {"type": "string"},
                                                                 "amount": {"type": "number"}}}}]}}},
    "triggerWorkflow": {
        "request": {"input": {"employee": "ann@example.com", "amount": 640, "description": "Conference"}},
        "responses": {"202": _STARTED,
                      "200": {**_STARTED, "status": "completed", "output": {"approved": True}}},
    },
    "listRuns": {"responses": {"200": {"runs": [_SUMMARY], "next_cursor": None}}},
    "getRun": {"responses": {"200": _RUN}},
    "getRunSteps": {"responses": {"200": {"run_id": RUN_ID, "steps": [
        {"name": "check_policy", "kind": "activity", "status": "completed", "step_id": "5",
         "started_at": "2026-11-26T09:30:00+00:00", "ended_at": "2026-11-26T09:30:00+00:00", "attempts": 1,
         "error": None}]}}},
    "cancelRun": {"request": {"wait": 10},
                  "responses": {"200": {**_RUN, "status": "cancelled", "ended_at": "2026-11-26T09:40:00+00:00",
                                        "requests": [{**_REQUEST, "status": "cancelled"}]}}},
    "retryRun": {"responses": {"202": {**_STARTED, "run_id": "submit_expense-retry-1f2e3d4c5b6a7988a1b2c3d4",
                                       "retry_of": RUN_ID,
                                       "status_url": "/api/v1/runs/submit_expense-retry-1f2e3d4c5b6a7988a1b2c3d4"}}},
    "bulkCancelRuns": {"request": {"query": "submit_expense", "status": "waiting", "limit": 50},
                       "responses": {"200": {"matched": 1, "affected": [RUN_ID], "skipped": {}, "more": False}}},
    "bulkRetryRuns": {"request": {"query": "submit_expense", "status": "failed", "limit": 50},
                      "responses": {"200": {"matched": 1, "affected": ["submit_expense-retry-1f2e3d4c5b6a7988a1b2c3d4"],
                                            "skipped": {}, "more": False}}},
    "listRequests": {"responses": {"200": {"requests": [_REQUEST], "next_cursor": None}}},
    "getRequest": {"responses": {"200": _REQUEST}},
    "resolveRequest": {"request": {"resolution": "Approve", "comment": "ok", "payload": {}},
                       "responses": {"200": _RESOLVED}},
    "reassignRequest": {"request": {"to_users": ["carol@example.com"], "to_groups": [], "comment": "on leave"},
                        "responses": {"200": {**_REQUEST, "users": ["carol@example.com"], "groups": [],
                                              "version": 2}}},
    "cancelRequest": {"request": {"comment": "no longer needed"},
                      "responses": {"200": {**_REQUEST, "status": "cancelled", "version": 2}}},
    "bulkResolveRequests": {
        "request": {"ids": [REQUEST_ID, "req-7a1b2c3d-1-approval"], "resolution": "Approve", "comment": "ok"},
        "responses": {"200": {"results": [
            {"id": REQUEST_ID, "status": 200, "outcome": "decided", "request": _RESOLVED, "error": None},
            {"id": "req-7a1b2c3d-1-approval", "status": 409, "outcome": "refused", "request": None,
             "error": {"code": "conflict", "message": "Request req-7a1b2c3d-1-approval is already resolved by "
                                                      "carol@example.com at 2026-11-26T10:01:05+00:00",
                       "details": {"status": "resolved", "resolution": "Reject", "decided_by": "carol@example.com",
                                   "decided_at": "2026-11-26T10:01:05+00:00"}}}],
            "counts": {"200": 1, "409": 1}, "repeated": 0, "duplicates": 0}}},
}
