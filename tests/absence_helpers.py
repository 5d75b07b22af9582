"""Helpers for the out-of-office tests: set and end absences through the API, times relative to now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import auth


def at(hours: float) -> str:
    """Now plus ``hours`` (negative: in the past), as ISO 8601 with an offset."""
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")


def set_absence(client, user: str, delegate: str, start: float = -1, end: float = 24, expect: int = 200,
                **more: Any) -> dict[str, Any]:
    """PUT /api/v1/absences/me as ``user`` (``start``/``end`` in hours from now); returns the answer's JSON."""
    body = {"from": at(start), "to": at(end), "delegate": delegate, **more}
    answer = client.put("/api/v1/absences/me", headers=auth(user=user), json=body)
    assert answer.status_code == expect, answer.json
    return answer.json


def end_absence(client, user: str) -> None:
    """DELETE /api/v1/absences/me as ``user``."""
    answer = client.delete("/api/v1/absences/me", headers=auth(user=user))
    assert answer.status_code == 204, answer.data
