"""The Block Kit the plugin sends stays inside Slack's documented limits (api.slack.com/reference/block-kit):
50 blocks per message, 25 elements per actions block, 10 fields per section, 10 context elements, header 150
characters, section text 3000, field 2000, button text 75, action_id and block_id 255, button value 2000, URL
3000; modals: 100 blocks, title / submit / close 24, labels 2000, 100 options of 75 characters, private_metadata
3000. Checked on ordinary requests and on requests built to break every one of them; and the workspace's
``slack`` section is checked by ``check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plugin.engine.slack import blocks as bk
from plugin.engine.slack.blocks import decision_modal, modal_values, request_message
from plugin.workspace.loader import inspect_workspaces
from tests.checkout import REPO_ROOT
from tests.slack_helpers import SLACK_WORKSPACE


def _doc(**over: Any) -> dict[str, Any]:
    doc = {"id": "slack_probe-1f0c:abcdefabcdef-1", "run_id": "slack_probe-1f0c", "query": "slack_probe",
           "name": "Buy a laptop", "message": "Dana needs a laptop", "metadata": {"price": 1999},
           "resolutions": ["Approve", "Reject"], "users": ["ann@example.com"], "groups": [], "required_approvals": 1,
           "rejecting_resolutions": ["Reject"], "allow_self_approval": False, "requester": "req@example.com",
           "created_at": "2026-12-07T10:00:00+00:00", "status": "pending", "resolution": None, "resolved_at": None,
           "decisions": [], "version": 1, "form": [], "due_at": "2026-12-09T10:00:00+00:00"}
    return {**doc, **over}


HUGE = _doc(name="N" * 500, message="<m>" * 5000, metadata={f"key {i} " + "k" * 300: "v" * 5000 for i in range(60)},
            resolutions=[f"Resolution {i} " + "r" * 200 for i in range(120)], required_approvals=3,
            id="r" * 900 + ":abcdefabcdef-1", escalated=True)
HUGE_FORM = [{"name": f"f{i}" + "x" * 300, "label": "L" * 3000, "type": t, "required": i % 2 == 0,
              "options": ["o" * 200] * 150, "max_length": 99999}
             for i, t in zip(range(130), ["string", "number", "integer", "boolean", "select"] * 26, strict=True)]


def check_text(obj: dict[str, Any], limit: int) -> None:
    assert obj["type"] in ("plain_text", "mrkdwn") and 0 < len(obj["text"]) <= limit


def check_message(text: str, blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(text) <= bk.MAX_FALLBACK_TEXT
    assert 0 < len(blocks) <= 50
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        if block["type"] == "header":
            check_text(block["text"], 150)
            assert block["text"]["type"] == "plain_text"
        elif block["type"] == "section":
            if "text" in block:
                check_text(block["text"], 3000)
            assert len(block.get("fields", [])) <= 10
            for item in block.get("fields", []):
                check_text(item, 2000)
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            for item in block["elements"]:
                check_text(item, 3000)
        elif block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
            for button in block["elements"]:
                assert button["type"] == "button"
                check_text(button["text"], 75)
                assert button["text"]["type"] == "plain_text"
                assert 0 < len(button["action_id"]) <= 255
                assert len(button.get("value", "")) <= 2000 and len(button.get("url", "")) <= 3000
                assert button.get("style") in (None, "primary", "danger")
        else:
            pytest.fail(f"unexpected block type {block['type']}")
    action_ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(action_ids) == len(set(action_ids))  # Slack refuses a message with the same action_id twice


@pytest.mark.parametrize("doc", [
    _doc(), HUGE, _doc(status="resolved", resolution="Approve", resolved_at="2026-12-07T11:00:00+00:00",
                       decisions=[{"actor": "ann@example.com", "resolution": "Approve", "at": "x", "via": "slack"}]),
    _doc(status="expired", resolved_at="2026-12-09T10:00:00+00:00"), _doc(status="cancelled", message="", metadata={}),
], ids=["ordinary", "huge", "decided", "expired", "withdrawn"])
def test_request_messages_stay_inside_slacks_limits(doc):
    text, blocks = request_message(doc, "https://host.example/app?request=" + "x" * 4000)
    check_message(text, blocks)
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    if doc["status"] == "pending":
        assert [b["text"]["text"] for b in buttons][-1] == "Open in app"
        decide = [b for b in buttons if b["action_id"].startswith("wf_decide")]
        assert len(decide) == min(len(doc["resolutions"]), 48 * 24)  # every resolution has its button
        assert json.loads(decide[0]["value"]) == {"request_id": doc["id"], "resolution": 0}
    else:
        assert [b["text"]["text"] for b in buttons] == ["Open in app"]


def test_a_message_with_more_resolutions_than_blocks_keeps_within_fifty_blocks():
    text, blocks = request_message(_doc(resolutions=[f"R{i}" for i in range(2000)],
                                        metadata={str(i): i for i in range(30)}), "https://h/")
    check_message(text, blocks)


def test_the_modal_stays_inside_slacks_limits_and_reads_its_values_back():
    view = decision_modal(_doc(form=HUGE_FORM, name="A very long request name indeed"), 0,
                          {"channel": "C0FINANCE", "ts": "1700000000.000100"})
    assert view["type"] == "modal" and len(view["blocks"]) <= 100
    for key in ("title", "submit", "close"):
        check_text(view[key], 24)
    assert len(view["private_metadata"]) <= 3000 and len(view["callback_id"]) <= 255
    for block in view["blocks"][1:]:
        assert block["type"] == "input" and len(block["block_id"]) <= 255
        check_text(block["label"], 2000)
        element = block["element"]
        assert len(element["action_id"]) <= 255 and element.get("max_length", 0) <= 3000
        assert len(element.get("options", [])) <= 100
        for option in element.get("options", []):
            check_text(option["text"], 75)
            assert len(option["value"]) <= 150

    form = [{"name": "n", "type": "integer"}, {"name": "b", "type": "boolean"}, {"name": "s", "type": "select"},
            {"name": "t", "type": "string"}]
    state = {"values": {"wf_field:n": {"value": {"value": "7"}}, "wf_field:b": {"value": {"selected_options": [
        {"value": "true"}]}}, "wf_field:s": {"value": {"selected_option": {"value": "x"}}},
        "wf_field:t": {"value": {"value": ""}}, "wf_comment": {"value": {"value": "why"}}}}
    assert modal_values(_doc(form=form), state) == ({"n": 7, "b": True, "s": "x"}, "why")


def test_check_reports_what_is_wrong_in_a_workspaces_slack_section(tmp_path: Path):
    folder = tmp_path / "ws"
    folder.mkdir()
    spec = json.loads((SLACK_WORKSPACE / "workspace.json").read_text())
    spec["slack"] = {"channels": {"finance": "finance-no-hash"},
                     "queries": {"slack_probe": "sometimes", "no_such_query": "dm"}}
    (folder / "workspace.json").write_text(json.dumps(spec))
    _, problems = inspect_workspaces([REPO_ROOT / "tests" / "workspaces" / "approvals", folder])
    said = " | ".join(str(p) for p in problems)
    assert "slack.channels.finance" in said and "channel ID" in said
    assert "slack.queries.slack_probe" in said and "'assignees'" in said

    spec["slack"] = {"queries": {"no_such_query": "dm"}}
    (folder / "workspace.json").write_text(json.dumps(spec))
    _, problems = inspect_workspaces([REPO_ROOT / "tests" / "workspaces" / "approvals", folder])
    assert [p.field for p in problems] == ["slack.queries.no_such_query"]

    workspace, problems = inspect_workspaces([REPO_ROOT / "tests" / "workspaces" / "approvals", SLACK_WORKSPACE])
    assert problems == [] and workspace.slack["queries"]["slack_probe"]["requests"] == {"Quiet": "off"}


def test_the_local_renderer_draws_every_block_the_plugin_sends():
    from tests.slack_render import examples, message_page

    pages = examples()
    assert set(pages) == {"slack-request", "slack-quorum", "slack-decided", "slack-expired", "slack-modal"}
    assert ">Approve<" in pages["slack-request"] and ">Open in app<" in pages["slack-request"]
    assert "1 of 2 approvals (carol@example.com)" in pages["slack-quorum"]
    assert "Cost center" in pages["slack-modal"] and "Amount approved" in pages["slack-modal"]
    page = message_page(request_message(HUGE, "https://h/")[1])  # nothing of the huge one is skipped
    assert page.count('class="btn') == sum(len(b["elements"]) for b in request_message(HUGE, "https://h/")[1]
                                           if b["type"] == "actions")
    with pytest.raises(ValueError):
        message_page([{"type": "video"}])
