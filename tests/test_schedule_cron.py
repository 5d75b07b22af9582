"""Schedules accept the cron expressions Temporal accepts, and refuse the others with a 422 naming ``cron``
(checked here against the Temporal server itself); a PATCH racing a DELETE is a 404 or a 409, never a 500."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleSpec
from temporalio.service import RPCError, RPCStatusCode

from plugin.temporal_gateway import connect_client
from tests.conftest import ADMIN_KEY, auth
from tests.schedule_helpers import Schedules, serve_schedules

# Five-field expressions: the plugin's grammar must agree with Temporal's on every one.
CORPUS = [
    "0 9 * * *", "*/15 9-17 * * 1-5", "0 0 1,15 * *", "0 9 * * MON-FRI", "0 9 * jan *", "0 9 * 1-12/3 *",
    "0 0 * * 7", "0 9 * * 0-7", "0 9 * * sun,sat", "*/59 * * * *", "*/100 * * * *", "0-59/200 * * * *",
    "*/2147483647 * * * *", "0 9 1 * 1", "0 0 31 2 *", "05 * * * *",
    "*/1000000000000 * * * *", "*/2147483648 * * * *", "0 9 L * *", "0 0 L * *", "0 9 ? * *", "0 9 1W * *",
    "0 9 * * 5L", "60 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 32 * *", "0 0 * 13 *", "0 0 * * 8",
    "5-1 * * * *", "1-5-7 * * * *", "1/2/3 * * * *", "*/0 * * * *", "0/0 * * * *", ",,, * * * *",
    "1,,2 * * * *", "- * * * *", "0x1 * * * *", "H * * * *", "0 9 * ja *", "0 9 * * 7-0", "0 9 * * jan",
]
# Temporal reads these, but not as other crons do ('#' starts a comment there; a sign): the plugin refuses them.
REFUSED_ON_PURPOSE = ["0 9 * * 5#2", "+5 * * * *"]


@pytest.fixture
def schedules(client) -> Iterator[Schedules]:
    yield from serve_schedules(client)


def temporal_verdicts(settings, expressions: list[str]) -> dict[str, bool]:
    """Whether the Temporal server accepts each expression as a schedule's cron (schedules made and deleted)."""
    async def verdicts() -> dict[str, bool]:
        client = await connect_client(settings)
        found = {}
        for expression in expressions:
            schedule_id = f"cron-probe-{uuid.uuid4().hex[:8]}"
            action = ScheduleActionStartWorkflow("cron_probe", id=schedule_id, task_queue=f"nobody-{schedule_id}")
            try:
                await client.create_schedule(schedule_id, Schedule(action=action, spec=ScheduleSpec(
                    cron_expressions=[expression], time_zone_name="UTC")))
            except RPCError as exc:
                assert exc.status == RPCStatusCode.INVALID_ARGUMENT, exc
                found[expression] = False
            else:
                found[expression] = True
                await client.get_schedule_handle(schedule_id).delete()
        return found
    return asyncio.run(verdicts())


def test_the_api_accepts_exactly_the_cron_expressions_temporal_accepts(schedules, settings):
    temporal = temporal_verdicts(settings, CORPUS + REFUSED_ON_PURPOSE)
    assert not all(temporal.values()) and any(temporal.values())
    for expression in CORPUS + REFUSED_ON_PURPOSE:
        made = schedules.create(expect=201 if temporal[expression] and expression in CORPUS else 422,
                                cron=expression)
        if "error" in made:
            assert set(made["error"]["details"]["fields"]) == {"cron"}, (expression, made)
            assert expression.strip() in made["error"]["message"]
    assert all(temporal[e] for e in REFUSED_ON_PURPOSE), "the plugin is stricter on purpose only where Temporal " \
                                                          "reads an expression unlike other crons"


def test_an_edit_to_a_cron_temporal_refuses_is_422(schedules, client):
    made = schedules.create(cron="0 0 1 1 *")
    for cron in ("*/1000000000000 * * * *", "0 9 L * *"):
        answer = client.patch(f"/api/v1/schedules/{made['id']}", headers=auth(ADMIN_KEY), json={"cron": cron})
        assert answer.status_code == 422 and set(answer.json["error"]["details"]["fields"]) == {"cron"}
    assert schedules.get(made["id"])["cron"] == "0 0 1 1 *"


def test_a_patch_racing_a_delete_is_404_or_409_never_500(schedules, app):
    seen: Counter[int] = Counter()
    for _ in range(15):
        made = schedules.create(cron="0 0 1 1 *")
        path = f"/api/v1/schedules/{made['id']}"
        answers: dict[str, int] = {}
        start = threading.Barrier(2)

        def call(method: str, body: dict | None = None, path: str = path, start: threading.Barrier = start,
                 answers: dict[str, int] = answers) -> None:
            start.wait()
            answers[method] = app.test_client().open(path, method=method, headers=auth(ADMIN_KEY),
                                                     json=body).status_code
        threads = [threading.Thread(target=call, args=("PATCH", {"cron": "0 0 2 1 *"})),
                   threading.Thread(target=call, args=("DELETE",))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert answers["DELETE"] in (204, 404), answers
        assert answers["PATCH"] in (200, 404, 409), answers
        seen[answers["PATCH"]] += 1
        for action in ("pause", "trigger"):  # every later action on it: gone
            late = app.test_client().post(f"{path}/{action}", headers=auth(ADMIN_KEY), json={})
            assert late.status_code == 404, (action, late.json)
    print("PATCH answers while racing a DELETE:", dict(seen))
