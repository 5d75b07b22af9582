"""A trigger under a business key whose run already reads as ended starts a new run.

A run's end snapshot is written in its closing workflow task, before Temporal closes the run: for that moment
the API shows the run ended while a start with its id is still attached to it (``USE_EXISTING``). The flaky
``test_a_business_key_reused_by_a_new_run_gets_new_request_ids`` met it on a loaded machine: its second trigger
answered the old run, and no new request came. The trigger now waits for such a run to close, then starts.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

from plugin.store.inbox import closed_out
from tests.conftest import auth
from tests.requests_helpers import act, finished, pending_requests, person, run_detail
from tests.test_expense_flow import wait_for
from tests.test_run_cancel import cancel


def test_a_trigger_while_its_key_s_run_is_closing_starts_a_new_run(client, app, settings):
    boss, key = person("boss"), uuid.uuid4().hex[:10]
    body = {"input": {"key": key, "requests": [{"name": "Closing", "users": [boss],
                                                 "resolutions": ["Approve", "Reject"]}]}}

    def trigger():
        return client.post("/api/v1/queries/approval_probe_keyed/runs", headers=auth(user=person("r")), json=body)

    run_id = trigger().json["run_id"]
    [first] = pending_requests(client, run_id)
    # What a closing task (here: the run's cancel) writes before Temporal closes the run: the end snapshot, and
    # the run's requests provisionally. Temporal keeps the run open until the cancel below.
    services = app.extensions["workflows"]
    snapshots, now = services.runs.snapshots, datetime.now(UTC).isoformat()
    snap = wait_for(lambda: snapshots.get(run_id))
    stored = wait_for(lambda: services.inbox.get(first["id"]))
    assert services.inbox.put(closed_out(stored, now), provisional=True)
    start_ms = int(datetime.fromisoformat(snap.doc["started_at"]).timestamp() * 1000)
    assert snapshots.put({**snap.doc, "status": "cancelled", "ended_at": now}, start_ms, 10**6, list(snap.requests))
    assert run_detail(client, run_id)["status"] == "cancelled"

    def close_soon() -> None:  # the closing task commits: the run closes in Temporal
        time.sleep(2)
        cancel(settings, run_id)

    closer = threading.Thread(target=close_soon)
    closer.start()
    try:
        again = trigger()
    finally:
        closer.join()
    assert again.status_code == 202 and again.json["run_id"] == run_id, again.json
    assert again.json["existing"] is False, "a new run under the key, not the one that read as ended"
    second = wait_for(lambda: [r for r in run_detail(client, run_id)["requests"]
                               if r["status"] == "pending" and r["id"] != first["id"]])[0]
    assert act(client, second["id"], boss, resolution="Reject").status_code == 200
    assert finished(client, run_id)["output"]["outcomes"][0]["resolution"] == "Reject"
