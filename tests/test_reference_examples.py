"""docs/reference.md runs as written: its files make a workspace that a real worker and API serve, each answer
it shows is the answer a trigger gets, and its versioning example replays (and fails to without the patch)."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.worker import Replayer

from plugin.engine.run_snapshots import RunSnapshotInterceptor
from tests.checkout import REPO_ROOT
from tests.conftest import auth, serve_app, serve_worker
from tests.requests_helpers import act, finished, pending_requests

DOC = (REPO_ROOT / "docs" / "reference.md").read_text()
_BLOCK = r"<!-- {kind}: (.+?) -->\n```\w*\n(.*?)```"
FILES = dict(re.findall(_BLOCK.format(kind="example"), DOC, re.S))
EXPECTED = {header: json.loads(body) for header, body in re.findall(_BLOCK.format(kind="expect"), DOC, re.S)}


def serve(settings, folder: Path):
    """A worker and an API of their own for one workspace folder; yields the API app."""
    own = settings.with_overrides(workspaces=(folder,), task_queue=f"ref-{uuid.uuid4().hex[:8]}")
    worker, api = serve_worker(own), serve_app(own)
    next(worker)
    yield next(api)
    next(api, None)
    next(worker, None)


@pytest.fixture(scope="module")
def first_version(settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    for name in ("workspace.json", "definitions/shipping_quote.json", "definitions/offsite_budget.json",
                 "leave_workflows.py"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(FILES[name])
    yield from serve(settings, folder)


def expectation(query: str) -> tuple[dict, dict]:
    [(header, output)] = [(h, o) for h, o in EXPECTED.items() if h.startswith(f"{query} ")]
    return json.loads(header.split(" ", 1)[1]), output


def leave_run(client, data: dict) -> str:
    response = client.post("/api/v1/queries/request_leave/runs", headers=auth(user=data["employee"]),
                           json={"input": data})
    assert response.status_code == 202, response.json
    return response.json["run_id"]


def test_the_page_has_its_examples():
    assert set(FILES) == {"definitions/shipping_quote.json", "definitions/offsite_budget.json", "workspace.json",
                          "leave_workflows.py", "leave_workflows_v2.py"}
    assert {h.split(" ")[0] for h in EXPECTED} == {"quote_shipping", "plan_offsite", "request_leave"}


def test_the_definition_answers_as_shown(first_version):
    data, output = expectation("quote_shipping")
    response = first_version.test_client().post("/api/v1/queries/quote_shipping/runs",
                                                headers=auth(user="a@example.com"), json={"input": data})
    assert response.status_code == 200, response.json
    assert response.json["output"] == output


def test_the_human_step_definition_answers_as_shown(first_version):
    client = first_version.test_client()
    data, output = expectation("plan_offsite")
    started = client.post("/api/v1/queries/plan_offsite/runs", headers=auth(user="ann@example.com"),
                          json={"input": data})
    assert started.status_code == 202, started.json
    [request] = pending_requests(client, started.json["run_id"])
    assert act(client, request["id"], "lee@example.com", groups="leads", resolution="Approve",
               payload={"venue": "ballroom"}).status_code == 422  # not one of the form's options
    assert act(client, request["id"], "lee@example.com", groups="leads", resolution="Approve",
               payload={"venue": "hotel"}).status_code == 200
    assert finished(client, started.json["run_id"])["output"] == output


def test_the_python_workflow_answers_as_shown_and_its_change_replays_only_with_the_patch(
        first_version, settings, tmp_path_factory):
    client = first_version.test_client()
    data, output = expectation("request_leave")
    run_id = leave_run(client, data)
    [request] = pending_requests(client, run_id)
    assert act(client, request["id"], "lee@example.com", groups="leads", resolution="Approve").status_code == 200
    assert finished(client, run_id)["output"] == output
    history = first_version.extensions["workflows"].gateway.call(
        lambda c: c.get_workflow_handle(run_id).fetch_history(), timeout=30)

    folder = tmp_path_factory.mktemp("reference-v2")
    (folder / "leave_workflows_v2.py").write_text(FILES["leave_workflows_v2.py"])
    unguarded = FILES["leave_workflows_v2.py"].replace(' and workflow.patched("hr-check")', "")
    assert unguarded != FILES["leave_workflows_v2.py"]
    (folder / "leave_workflows_unguarded.py").write_text(unguarded)
    workspace = json.loads(FILES["workspace.json"])
    workspace["python_modules"] = ["leave_workflows_v2"]
    workspace["queries"] = {"request_leave": workspace["queries"]["request_leave"]}
    (folder / "workspace.json").write_text(json.dumps(workspace))

    second = serve(settings, folder)
    try:
        v2_client = next(second).test_client()  # new runs on the new code ask HR too
        new_run = leave_run(v2_client, data)
        [lead] = pending_requests(v2_client, new_run)
        act(v2_client, lead["id"], "lee@example.com", groups="leads", resolution="Approve")
        [hr] = pending_requests(v2_client, new_run)
        assert hr["name"] == "HR check"
        act(v2_client, hr["id"], "hal@example.com", groups="hr", resolution="Approve")
        assert finished(v2_client, new_run)["output"] == {"approved": True, "by": ["lee@example.com",
                                                                                  "hal@example.com"]}
    finally:
        next(second, None)

    def replay(module: str) -> None:
        cls = importlib.import_module(module).LeaveRequest
        asyncio.run(Replayer(workflows=[cls], interceptors=[RunSnapshotInterceptor()]).replay_workflow(history))

    replay("leave_workflows_v2")  # the old run replays on the patched code
    sys.path.insert(0, str(folder))
    try:
        # The SDK words a changed command sequence as "Nondeterminism", or, when the recorded history holds an
        # activity cancel the workflow requested (the request's notification still running when the lead decided,
        # which a loaded machine makes likely), as its state machines' fatal error: both are the replay refusing.
        with pytest.raises(Exception, match="[Nn]ondeterminism|Fatal error in workflow machines"):
            replay("leave_workflows_unguarded")
    finally:
        sys.path.remove(str(folder))
