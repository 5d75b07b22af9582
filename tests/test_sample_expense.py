"""The expense-approval sample end to end through HTTP: amount-based branching, the finance quorum, self-approval
refused, a decision by signed link, and (on a fast clock) reminders, escalation to a director and the due time."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import TEST_WORKSPACES, auth
from tests.notification_helpers import links_received, receive_notifications
from tests.requests_helpers import act, finished, inbox_ids, pending_requests, person, run_detail
from tests.sample_helpers import serve_sample
from tests.test_expense_flow import wait_for


def submit(client, who: str, amount: float, query: str = "submit_expense", **extra) -> str:
    response = client.post(f"/api/v1/queries/{query}/runs", headers=auth(user=who),
                           json={"input": {"employee": who, "amount": amount, "description": "Trip", **extra}})
    assert response.status_code == 202, response.json
    return response.json["run_id"]


def notifications(app, request_id: str, kind: str) -> list[dict]:
    raw = app.extensions["workflows"].redis.lrange("wf:notifications", 0, 500)
    return [n for n in map(json.loads, raw) if n["request"]["id"] == request_id and n["kind"] == kind]


def test_amounts_branch_to_policy_manager_or_manager_and_finance(client):
    small, medium, large = person("ann"), person("ben"), person("cat")
    small_run, medium_run, large_run = submit(client, small, 80), submit(client, medium, 640), \
        submit(client, large, 12000)

    assert finished(client, small_run)["output"]["approvals"][0]["step"] == "policy"
    for run_id in (medium_run, large_run):
        [request] = pending_requests(client, run_id)
        assert request["name"] == "Approve expense" and request["groups"] == ["managers"]
        assert act(client, request["id"], person("boss"), groups="managers", resolution="Approve").status_code == 200

    medium_done = finished(client, medium_run)
    assert medium_done["status"] == "completed" and [a["step"] for a in medium_done["output"]["approvals"]] == [
        "manager"]

    [check] = pending_requests(client, large_run)
    assert (check["name"], check["groups"], check["required_approvals"]) == ("Finance check", ["finance"], 2)
    first, second = person("fin"), person("fin")
    assert act(client, check["id"], first, groups="finance", resolution="Approve").status_code == 422  # the form
    voted = act(client, check["id"], first, groups="finance", resolution="Approve", payload={"cost_center": "CC-7"})
    assert voted.status_code == 200 and voted.json["status"] == "pending", "one vote of two is not a quorum"
    assert run_detail(client, large_run)["status"] == "waiting"
    done = act(client, check["id"], second, groups="finance", resolution="Approve", payload={"cost_center": "CC-7"})
    assert done.status_code == 200 and done.json["status"] == "resolved"

    output = finished(client, large_run)["output"]
    assert output["approved"] is True and [a["step"] for a in output["approvals"]] == ["manager", "finance"]
    assert output["decision"]["by"] == f"{first}, {second}" and output["decision"]["cost_center"] == "CC-7"


def test_a_finance_rejection_ends_the_claim_at_once(client):
    who = person("dan")
    run_id = submit(client, who, 9000)
    [request] = pending_requests(client, run_id)
    act(client, request["id"], person("boss"), groups="managers", resolution="Approve")
    [check] = wait_for(lambda: [r for r in pending_requests(client, run_id) if r["name"] == "Finance check"])
    act(client, check["id"], person("fin"), groups="finance", resolution="Reject", payload={"cost_center": "x"})
    output = finished(client, run_id)["output"]
    assert output["approved"] is False and output["decision"]["step"] == "finance"


def test_an_employee_who_is_a_manager_cannot_approve_their_own_claim(client):
    boss = person("boss")
    run_id = submit(client, boss, 700)
    [request] = pending_requests(client, run_id)
    own = act(client, request["id"], boss, groups="managers", resolution="Approve")
    assert own.status_code == 403, own.json
    assert run_detail(client, run_id)["status"] == "waiting"
    other = act(client, request["id"], person("boss"), groups="managers", resolution="Reject", comment="no receipt")
    assert other.status_code == 200
    assert finished(client, run_id)["output"]["approved"] is False


@pytest.fixture
def notified(metered):
    yield from receive_notifications(metered.app, also_allow=(metered.stub_url.removeprefix("http://"),))


def test_the_manager_from_the_directory_decides_by_signed_link_and_the_claim_cannot_name_one(metered, notified):
    client = metered.app.test_client()
    who, manager = "ann@example.com", "bob@example.com"  # the sample directory: bob manages ann
    named = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user=who), json={"input": {
        "employee": who, "amount": 450, "description": "Trip", "manager": "mallory@example.com"}})
    assert named.status_code == 422 and "input.manager" in named.json["error"]["details"]["fields"], named.json
    run_id = submit(client, who, 450)
    [request] = pending_requests(client, run_id)
    assert request["users"] == [manager] and request["groups"] == ["managers"]
    links = links_received(notified, request["id"])
    assert set(links) == {manager}, "approval links go to the directory's manager only"
    approve = links[manager]["Approve"]
    path = approve[approve.index("/approve/"):]
    assert client.get(path).status_code == 200 and run_detail(client, run_id)["status"] == "waiting"
    decided = client.post(path, data={"comment": "from my phone"})
    assert decided.status_code == 200, decided.text
    run = finished(client, run_id)
    assert run["output"]["decision"]["by"] == manager and run["output"]["approved"] is True
    assert run["decisions"][0]["via"] == "link"


@pytest.fixture(scope="module")
def metered(settings, tmp_path_factory):
    """The sample as `up` runs it (the team chat stand-in reachable), its worker exporting metrics, and the
    fast-clock query beside it."""
    yield from serve_sample(settings, "expense-approval", tmp_path_factory.mktemp("expense"),
                            extra=(TEST_WORKSPACES / "expense_clock",), metrics=True)


def deadlines(address: str, event: str) -> float:
    """workflows_request_deadlines_total of the fast-clock query for one event, as the worker exports it."""
    text = requests.get(f"http://{address}/metrics", timeout=5).text
    wanted = ('query="submit_expense_fast_clock"', f'event="{event}"')
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("workflows_request_deadlines_total{") and all(w in line for w in wanted))


@pytest.mark.timeout(90)
def test_a_slow_manager_is_reminded_then_a_director_is_added_and_nobody_deciding_rejects(metered):
    """On the fast clock (reminders every 2 s, directors added after 3 s, due after 12 s)."""
    client, address = metered.app.test_client(), metered.metrics_address
    escalated_run = submit(client, person("fay"), 300, query="submit_expense_fast_clock")
    ignored_run = submit(client, person("gus"), 300, query="submit_expense_fast_clock")
    [request] = pending_requests(client, escalated_run)
    assert "directors" not in request["groups"]
    director = person("dir")
    wait_for(lambda: request["id"] in inbox_ids(client, director, "directors", limit=100), timeout=10)
    assert notifications(metered.app, request["id"], "reminder"), "reminded before the escalation"
    # The notification is logged once the hook has answered; the inbox write may land first.
    escalated = wait_for(lambda: notifications(metered.app, request["id"], "escalated"), timeout=10)
    assert escalated[0]["groups"] == ["directors", "managers"]
    assert act(client, request["id"], director, groups="directors", resolution="Approve").status_code == 200
    output = finished(client, escalated_run)["output"]
    assert output["approved"] is True and output["decision"]["by"] == director

    ignored = wait_for(lambda: (r := run_detail(client, ignored_run))["status"] == "completed" and r, timeout=30)
    assert ignored["output"]["approved"] is False
    assert ignored["output"]["decision"] == {**ignored["output"]["decision"], "by": "policy",
                                             "comment": "Nobody decided by the due time"}
    assert [a["action"] for a in ignored["audit"] if a["action"] in ("escalated", "expired")] == [
        "escalated", "expired"]
    assert deadlines(address, "escalated") == 2 and deadlines(address, "due") == 1
    assert deadlines(address, "reminder") >= 2


def test_each_outcome_is_posted_to_the_team_chat_through_its_connection(metered):
    client = metered.app.test_client()
    small, large = person("hal"), person("ida")
    small_run, large_run = submit(client, small, 20), submit(client, large, 700)
    [request] = pending_requests(client, large_run)
    act(client, request["id"], person("boss"), groups="managers", resolution="Reject")
    assert finished(client, small_run)["output"]["notified"] is True
    assert finished(client, large_run)["output"]["notified"] is True
    posted = requests.get(f"{metered.stub_url}/messages", timeout=5).json()["messages"]
    texts = {m["text"] for m in posted if m["channel"] == "expenses"}
    assert f"Expense of 20.00 by {small} approved by policy" in texts
    assert any(t.startswith(f"Expense of 700.00 by {large} rejected by boss-") for t in texts), texts


def test_a_chat_out_of_reach_never_changes_the_decision(client):
    """The session's worker may not call 127.0.0.1 (no allow-list): the claim is decided all the same."""
    run = finished(client, submit(client, person("jo"), 30))
    assert run["status"] == "completed" and run["output"]["approved"] is True and run["output"]["notified"] is False
