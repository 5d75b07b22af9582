"""Helpers for the schedule tests: create schedules that are deleted after the test, read them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from tests.conftest import ADMIN_KEY, auth
from tests.test_expense_flow import wait_for


class Schedules:
    """Create schedules through the API; every one made is deleted when the test ends."""

    def __init__(self, client) -> None:
        self.client = client
        self.made: list[str] = []

    def create(self, expect: int = 201, **body: Any) -> dict[str, Any]:
        body.setdefault("id", f"t-{uuid.uuid4().hex[:10]}")
        body.setdefault("query", "runs_lab")
        response = self.client.post("/api/v1/schedules", headers=auth(ADMIN_KEY), json=body)
        assert response.status_code == expect, response.json
        if expect == 201:
            self.made.append(response.json["id"])
        return response.json

    def get(self, schedule_id: str, expect: int = 200) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/schedules/{schedule_id}", headers=auth(ADMIN_KEY))
        assert response.status_code == expect, response.json
        return response.json

    def post(self, schedule_id: str, action: str, body: dict[str, Any] | None = None, expect: int = 200):
        response = self.client.post(f"/api/v1/schedules/{schedule_id}/{action}", headers=auth(ADMIN_KEY),
                                    json=body or {})
        assert response.status_code == expect, response.json
        return response.json

    def runs_until(self, schedule_id: str, count: int, timeout: float = 30) -> dict[str, Any]:
        """The schedule once it started ``count`` runs and the newest of them ended."""
        def done() -> dict[str, Any] | None:
            view = self.get(schedule_id)
            ended = view["recent_runs"] and view["recent_runs"][0]["status"] not in (None, "running", "waiting")
            return view if view["runs_started"] >= count and ended else None
        return wait_for(done, timeout, interval=0.5)

    def cleanup(self) -> None:
        for schedule_id in self.made:
            self.client.delete(f"/api/v1/schedules/{schedule_id}", headers=auth(ADMIN_KEY))


def serve_schedules(client) -> Iterator[Schedules]:
    """A Schedules helper for the length of a fixture (``yield from`` it)."""
    made = Schedules(client)
    yield made
    made.cleanup()
