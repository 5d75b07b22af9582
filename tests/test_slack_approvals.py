# ruff: noqa: F811  (the Slack fixtures are imported by name, then requested as arguments)
"""Slack interactive approvals, end to end against the Slack stand-in, a real worker, Temporal and Redis: a DM
to each assigned user, a group's channel, a modal with fields, a quorum of two, a race with a panel decision,
an unknown Slack user; each decision is made by the person Slack's signature vouches for, with via "slack"."""

from __future__ import annotations

import json
import re

from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import act, finished, pending_requests, person, run_detail
from tests.slack_helpers import (  # noqa: F401  app and stub are fixtures
    app,
    click,
    dm_of,
    ephemerals,
    message_now,
    post_interaction,
    posted_to,
    start,
    stub,
    submission,
)
from tests.test_expense_flow import wait_for


def settled_count(client) -> float:
    """How many decisions settled a slack_probe request, by the decision-latency metric."""
    text = client.get("/metrics", headers=auth(ADMIN_KEY)).text
    found = re.search(r'^workflows_decision_latency_seconds_count\{query="slack_probe"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def decided(client, run_id: str) -> dict:
    return wait_for(lambda: (r := run_detail(client, run_id)["requests"][0])["status"] == "resolved" and r, 30)


def test_a_dm_to_each_assignee_and_a_click_decides_as_the_person_slack_vouches_for(client, stub):
    ann, bob = person("ann"), person("bob")
    ann_id, _ = stub.add_person(ann), stub.add_person(bob)
    run_id = start(client, person("req"), {"name": "Buy a laptop", "users": [ann, bob], "message": "For <Dana> & co",
                                            "metadata": {"price": 1999}})
    for_ann = posted_to(stub, dm_of(stub, ann), "Buy a laptop")
    posted_to(stub, dm_of(stub, bob), "Buy a laptop")
    assert "For &lt;Dana&gt; &amp; co" in json.dumps(for_ann["blocks"])  # shown literally, no mention or link
    assert any(b["type"] == "section" and "fields" in b for b in for_ann["blocks"])

    before = settled_count(client)
    answer = post_interaction(client, click(stub, ann_id, for_ann, "Approve"))
    assert answer.status_code == 200

    request = decided(client, run_id)
    wait_for(lambda: settled_count(client) == before + 1, 10)  # in the decision-latency metric like any decision
    [decision] = request["decisions"]
    assert (decision["actor"], decision["resolution"], decision["via"]) == (ann, "Approve", "slack")
    assert decision["issuer"] == f"slack:{stub.team}/{ann_id}"  # the Slack user behind the email
    entry = next(e for e in run_detail(client, run_id)["audit"] if e["action"] == "decided")
    assert entry["actor"] == ann and entry["details"]["via"] == "slack"
    assert entry["details"]["issuer"] == f"slack:{stub.team}/{ann_id}"  # the audit shows the mapping

    def edited():  # every message follows its request: who, what, when, from where; no buttons left
        text = json.dumps(message_now(stub, for_ann)["blocks"])
        return "Approve" in text and ann in text and "in Slack" in text and "wf_decide" not in text
    wait_for(edited, 30)


def test_a_group_in_its_channel_needs_a_quorum_of_two(client, stub):
    bob, carol = person("bob"), person("carol")
    bob_id, carol_id = stub.add_person(bob), stub.add_person(carol)
    run_id = start(client, person("req"), {"name": "Wire transfer", "groups": ["slack-finance"],
                                            "required_approvals": 2})
    message = posted_to(stub, "C0FINANCE", "Wire transfer")

    assert post_interaction(client, click(stub, bob_id, message, "Approve", n=11)).status_code == 200
    wait_for(lambda: len(run_detail(client, run_id)["requests"][0]["decisions"]) == 1, 30)
    wait_for(lambda: "1 of 2 approvals" in json.dumps(message_now(stub, message)["blocks"]), 30)
    assert run_detail(client, run_id)["requests"][0]["status"] == "pending"

    assert post_interaction(client, click(stub, carol_id, message, "Approve", n=12)).status_code == 200
    request = decided(client, run_id)
    assert [(d["actor"], d["via"]) for d in request["decisions"]] == [(bob, "slack"), (carol, "slack")]
    assert finished(client, run_id)["status"] == "completed"


def test_a_request_with_fields_opens_a_modal_whose_submission_decides(client, stub):
    dana = person("dana")
    dana_id = stub.add_person(dana)
    form = [{"name": "cost_center", "label": "Cost center", "type": "select", "options": ["R&D", "Sales"]},
            {"name": "amount", "type": "number"}]
    run_id = start(client, person("req"), {"name": "Budget", "users": [dana], "form": form})
    message = posted_to(stub, dm_of(stub, dana), "Budget")

    assert post_interaction(client, click(stub, dana_id, message, "Approve")).status_code == 200
    [opened] = wait_for(lambda: [c for c in stub.calls_of("views.open") if "Budget" in json.dumps(c)], 10)
    view = opened["view"]
    assert opened["trigger_id"] and view["submit"]["text"] == "Approve"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "wf_field:cost_center", "wf_field:amount", "wf_comment"]

    missing = post_interaction(client, submission(stub, dana_id, view, {}))
    assert missing.status_code == 200 and missing.json["response_action"] == "errors"
    assert set(missing.json["errors"]) == {"wf_field:cost_center", "wf_field:amount"}
    assert run_detail(client, run_id)["requests"][0]["status"] == "pending"

    values = {"wf_field:cost_center": {"value": {"type": "static_select", "selected_option": {"value": "R&D"}}},
              "wf_field:amount": {"value": {"type": "number_input", "value": "125.5"}},
              "wf_comment": {"value": {"type": "plain_text_input", "value": "ok for Q3"}}}
    assert post_interaction(client, submission(stub, dana_id, view, values)).status_code == 200
    [decision] = decided(client, run_id)["decisions"]
    assert decision["payload"] == {"cost_center": "R&D", "amount": 125.5} and decision["comment"] == "ok for Q3"
    assert decision["via"] == "slack"


def test_a_click_that_loses_to_a_panel_decision_is_told_who_won(client, stub):
    erin, fred = person("erin"), person("fred")
    erin_id, _ = stub.add_person(erin), stub.add_person(fred)
    run_id = start(client, person("req"), {"name": "Race", "users": [erin, fred]})
    message = posted_to(stub, dm_of(stub, erin), "Race")
    request_id = pending_requests(client, run_id)[0]["id"]
    assert act(client, request_id, fred, resolution="Reject").status_code == 200  # in the app's inbox panel

    assert post_interaction(client, click(stub, erin_id, message, "Approve", n=21)).status_code == 200
    [told] = wait_for(lambda: ephemerals(stub, 21), 20)
    assert re.fullmatch(r":information_source: Already decided: \*Reject\* by " + re.escape(fred)
                        + r" at \d{4}-\d\d-\d\d \d\d:\d\d UTC", told), told  # a time as people read it
    [decision] = run_detail(client, run_id)["requests"][0]["decisions"]
    assert decision["actor"] == fred and decision["via"] != "slack"
    wait_for(lambda: "in the app" in json.dumps(message_now(stub, message)["blocks"]), 30)


def test_an_unknown_slack_user_and_a_stranger_are_told_and_decide_nothing(client, stub):
    gus = person("gus")
    stub.add_person(gus)
    nobody = stub.add_person("", with_email=False)
    stranger = stub.add_person(person("stranger"))
    run_id = start(client, person("req"), {"name": "Strangers", "users": [gus]})
    message = posted_to(stub, dm_of(stub, gus), "Strangers")

    assert post_interaction(client, click(stub, nobody, message, "Approve", n=31)).status_code == 200
    assert post_interaction(client, click(stub, "U0GONE", message, "Approve", n=32)).status_code == 200
    assert post_interaction(client, click(stub, stranger, message, "Approve", n=33)).status_code == 200
    assert "could not be matched" in wait_for(lambda: ephemerals(stub, 31), 20)[0]
    assert "could not be matched" in wait_for(lambda: ephemerals(stub, 32), 20)[0]
    assert wait_for(lambda: ephemerals(stub, 33), 20)[0].startswith(":warning:")
    assert run_detail(client, run_id)["requests"][0]["status"] == "pending"
    assert run_detail(client, run_id)["requests"][0]["decisions"] == []


def test_reassigned_and_withdrawn_messages_follow_their_request(client, stub):
    hal, ida = person("hal"), person("ida")
    stub.add_person(hal), stub.add_person(ida)
    run_id = start(client, person("req"), {"name": "Hand over", "users": [hal]})
    for_hal = posted_to(stub, dm_of(stub, hal), "Hand over")
    request_id = pending_requests(client, run_id)[0]["id"]
    assert act(client, request_id, hal, "reassign", to_users=[ida]).status_code == 200
    for_ida = posted_to(stub, dm_of(stub, ida), "Hand over")
    wait_for(lambda: "Reassigned to " + ida in json.dumps(message_now(stub, for_hal)["blocks"]), 30)
    assert "wf_decide" not in json.dumps(message_now(stub, for_hal)["blocks"])

    assert act(client, request_id, "admin@example.com", "cancel", key=ADMIN_KEY).status_code == 200
    wait_for(lambda: "Withdrawn" in json.dumps(message_now(stub, for_ida)["blocks"]), 30)


def test_a_reminder_replies_in_the_thread_an_escalation_reaches_the_new_assignee_and_expiry_shows(client, stub):
    nia, oz = person("nia"), person("oz")
    stub.add_person(nia), stub.add_person(oz)
    start(client, person("req"), {"name": "Slow one", "users": [nia], "remind_every_seconds": 1, "max_reminders": 1,
                                  "escalate_after_seconds": 2, "escalate_to_users": [oz], "due_in_seconds": 4})
    for_nia = posted_to(stub, dm_of(stub, nia), "Slow one")
    wait_for(lambda: [m for m in stub.messages.values()
                      if m.get("thread_ts") == for_nia["ts"] and "Reminder" in m["text"]], 30)
    for_oz = posted_to(stub, dm_of(stub, oz), "Slow one")  # escalated: the new assignee gets the request
    wait_for(lambda: "Escalated" in json.dumps(message_now(stub, for_nia)["blocks"]), 30)  # edited in place
    for message in (for_nia, for_oz):
        wait_for(lambda m=message: "Expired" in json.dumps(message_now(stub, m)["blocks"]), 30)


def test_a_requester_clicking_in_the_groups_channel_may_not_approve_their_own_request(client, stub):
    pat, quinn = person("pat"), person("quinn")
    pat_id, quinn_id = stub.add_person(pat), stub.add_person(quinn)
    run_id = start(client, pat, {"name": "My own", "groups": ["slack-ops"]})
    message = posted_to(stub, "C0OPS", "My own")  # a group's channel named by its ID
    assert post_interaction(client, click(stub, pat_id, message, "Approve", n=41)).status_code == 200
    assert "started yourself" in wait_for(lambda: ephemerals(stub, 41), 20)[0]
    assert run_detail(client, run_id)["requests"][0]["decisions"] == []
    assert post_interaction(client, click(stub, quinn_id, message, "Reject", n=42)).status_code == 200
    assert decided(client, run_id)["decisions"][0]["actor"] == quinn


def test_a_response_url_off_slack_is_never_posted_to_the_answer_goes_through_chat_post_ephemeral(client, stub):
    rae, stranger = person("rae"), person("stranger")
    stub.add_person(rae)
    stranger_id = stub.add_person(stranger)
    start(client, person("req"), {"name": "Elsewhere", "users": [rae]})
    message = posted_to(stub, dm_of(stub, rae), "Elsewhere")
    payload = {**click(stub, stranger_id, message, "Approve"), "response_url": "http://169.254.169.254/latest/x"}
    assert post_interaction(client, payload).status_code == 200
    [told] = wait_for(lambda: [c for c in stub.calls_of("chat.postEphemeral") if c.get("user") == stranger_id], 20)
    assert told["channel"] == message["channel"] and told["text"].startswith(":warning:")
