"""What a run tells its caller: a bad request option fails the step in plain words; a failed run names
its step; step attempts are counted; ``?wait`` says ``waiting`` while a person must act."""

from __future__ import annotations

from tests.fixtures_nodes import *  # noqa: F403  module-scoped fixtures: stub, node_worker, node_app...
from tests.fixtures_nodes import trigger, wait_run


def test_a_template_giving_a_string_for_groups_fails_the_step_instead_of_splitting_it(node_client):
    run = wait_run(node_client, trigger(node_client, "group_gate", {"team": "managers"}),
                   statuses=("failed", "waiting"))
    assert run["status"] == "failed", run
    assert "groups must be a list of strings, not str 'managers'" in run["error"]["message"], run["error"]
    assert run["requests"] == []
