"""The evidence of each decision (what the person was shown, pinned by a SHA-256 recomputed here independently)
and the admins' decisions export over a time range, in JSON lines and CSV, on the real stack."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ADMIN_KEY, auth
from tests.identity_helpers import create_key
from tests.requests_helpers import act, pending_requests, person, start_probe
from tests.runs_helpers import error_of

EXPORT = "/api/v1/decisions/export"
FORM = [{"name": "cost_center", "label": "Cost center", "type": "select", "options": ["Zürich", "Genève"]}]


def sha256_of(document: dict) -> str:
    """The hash as the docs define it, written here without the plugin's code: sorted keys, no spaces, UTF-8."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def decided_request(client, approver: str, requester: str | None = None) -> tuple[dict, dict]:
    """A request with a message, metadata and a form, as shown before the decision, and the decided request."""
    run_id = start_probe(client, requester or person("req"), [{
        "name": "Laptop", "users": [approver], "message": "Buy a laptop for Renée — 1 499 €",
        "metadata": {"amount": 1499.5, "vendor": "Müller AG", "lines": [{"sku": "X1", "qty": 1}]}, "form": FORM}])
    [shown] = pending_requests(client, run_id)
    seen = client.get(f"/api/v1/requests/{shown['id']}", headers=auth(user=approver)).json
    decided = act(client, shown["id"], approver, resolution="Approve", payload={"cost_center": "Zürich"})
    assert decided.status_code == 200, decided.json
    return seen, decided.json


def test_each_decision_keeps_what_the_person_saw_and_its_hash(client):
    approver = person("ann")
    seen, decided = decided_request(client, approver)
    answer = client.get(f"/api/v1/requests/{seen['id']}/evidence", headers=auth(user=approver))
    assert answer.status_code == 200, answer.json
    [decision] = answer.json["decisions"]
    evidence = decision["evidence"]
    assert evidence == {"request_id": seen["id"], "name": "Laptop", "message": seen["message"],
                        "metadata": seen["metadata"], "form": seen["form"], "resolutions": ["Approve", "Reject"],
                        "version": seen["version"]}
    assert decision["evidence_sha256"] == sha256_of(evidence) and decision["verified"] is True
    assert decision["actor"] == approver and decision["via"] == "headers" and decision["resolution"] == "Approve"
    assert decided["decisions"][0]["evidence_sha256"] == decision["evidence_sha256"]  # the decision's own answer


def test_evidence_is_shown_only_to_those_who_may_see_the_request(client):
    approver, requester = person("ann"), person("req")
    seen, _ = decided_request(client, approver, requester)
    url = f"/api/v1/requests/{seen['id']}/evidence"
    assert client.get(url, headers=auth(user=requester)).status_code == 200
    assert client.get(url, headers=auth(ADMIN_KEY)).status_code == 200
    stranger = client.get(url, headers=auth(user=person("eve")))
    assert stranger.status_code == 404 and error_of(stranger)["code"] == "not_found"
    unknown = client.get("/api/v1/requests/nope/evidence", headers=auth(user=approver))
    assert unknown.status_code == 404
    gone = client.get("/api/v1/requests/approval_probe-gone:0123456789ab-1/evidence", headers=auth(user=approver))
    assert gone.status_code == 404
    no_read = create_key(client, name="evidence trigger-only", capabilities=["trigger"],
                         identity={"schemes": ["headers"], "headers_source": "server"})
    refused = client.get(url, headers=auth(no_read["secret"], user=approver))
    assert refused.status_code == 403 and error_of(refused)["details"] == {"capability": "read"}


def test_evidence_of_a_request_the_inbox_lost_is_read_from_its_run(client, app):
    approver = person("ann")
    seen, decided = decided_request(client, approver)
    app.extensions["workflows"].redis.delete(f"wf:req:{seen['id']}")
    answer = client.get(f"/api/v1/requests/{seen['id']}/evidence", headers=auth(user=approver))
    assert answer.status_code == 200, answer.json
    assert answer.json["decisions"][0]["evidence_sha256"] == decided["decisions"][0]["evidence_sha256"]


def _window() -> tuple[str, str]:
    now = datetime.now(UTC)
    return (now - timedelta(minutes=5)).isoformat(), (now + timedelta(minutes=5)).isoformat()


def test_admins_export_decisions_as_json_lines_and_csv(client):
    approver = person("ann")
    since, _ = _window()
    seen, decided = decided_request(client, approver)
    _, until = _window()
    params = {"since": since, "until": until, "query": "approval_probe"}
    lines = client.get(EXPORT, headers=auth(ADMIN_KEY), query_string={**params, "format": "jsonl"})
    assert lines.status_code == 200 and lines.is_streamed and lines.mimetype == "application/x-ndjson"
    rows = [json.loads(line) for line in lines.get_data(as_text=True).splitlines()]
    [mine] = [r for r in rows if r.get("request_id") == seen["id"]]
    assert mine["actor"] == approver and mine["resolution"] == "Approve" and mine["query"] == "approval_probe"
    assert mine["acting_for"] == ""  # their own decision, not a delegate's
    assert mine["evidence_sha256"] == sha256_of(mine["evidence"]) == decided["decisions"][0]["evidence_sha256"]
    assert mine["request_version"] == seen["version"]
    assert all(since <= r["decided_at"] < until for r in rows if "decided_at" in r)

    table = client.get(EXPORT, headers=auth(ADMIN_KEY), query_string={**params, "format": "csv"})
    assert table.status_code == 200 and table.mimetype == "text/csv"
    records = list(csv.DictReader(io.StringIO(table.get_data(as_text=True))))
    [row] = [r for r in records if r["request_id"] == seen["id"]]
    assert row["actor"] == approver and row["evidence_sha256"] == mine["evidence_sha256"]
    assert sha256_of(json.loads(row["evidence"])) == row["evidence_sha256"]
    assert len(records) == len(rows)

    other_query = client.get(EXPORT, headers=auth(ADMIN_KEY), query_string={**params, "query": "expense_approval"})
    assert seen["id"] not in other_query.get_data(as_text=True)
    earlier = client.get(EXPORT, headers=auth(ADMIN_KEY), query_string={
        "since": "2020-01-01T00:00:00Z", "until": "2020-02-01T00:00:00Z"})
    assert earlier.status_code == 200 and earlier.get_data(as_text=True) == ""


def test_a_comment_written_as_a_formula_is_not_a_formula_in_the_csv(client):
    approver = person("ann")
    since, _ = _window()
    run_id = start_probe(client, person("req"), [{"name": "Formula", "users": [approver]}])
    [request] = pending_requests(client, run_id)
    formula = '=HYPERLINK("http://evil.example","click")'
    assert act(client, request["id"], approver, resolution="Approve", comment=formula).status_code == 200
    _, until = _window()
    params = {"since": since, "until": until, "query": "approval_probe"}
    table = client.get(EXPORT, headers=auth(ADMIN_KEY), query_string={**params, "format": "csv"})
    [row] = [r for r in csv.DictReader(io.StringIO(table.get_data(as_text=True))) if r["request_id"] == request["id"]]
    assert row["comment"] == "'" + formula
    lines = client.get(EXPORT, headers=auth(ADMIN_KEY), query_string=params).get_data(as_text=True)
    [line] = [json.loads(x) for x in lines.splitlines() if request["id"] in x]
    assert line["comment"] == formula


def test_only_admins_export(client):
    since, until = _window()
    refused = client.get(EXPORT, headers=auth(user=person("ann")), query_string={"since": since, "until": until})
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"


@pytest.mark.parametrize("params, field", [
    ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ({"since": "2026-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ({"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ({"until": "2026-01-01T00:00:00Z"}, "since"),
    ({"since": "yesterday", "until": "2026-01-01T00:00:00Z"}, "since"),
    ({"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "format": "xlsx"}, "format"),
    ({"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "query": "a' OR 1=1"}, "query"),
])
def test_bad_export_ranges_are_422(client, params, field):
    answer = client.get(EXPORT, headers=auth(ADMIN_KEY), query_string=params)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert field in error_of(answer)["details"]["fields"] and error_of(answer)["message"]


def test_each_decision_of_a_quorum_records_the_version_it_was_made_on(client):
    a, b = person("a"), person("b")
    run_id = start_probe(client, person("req"), [{"name": "Two", "users": [a, b], "required_approvals": 2}])
    [shown] = pending_requests(client, run_id)
    first = act(client, shown["id"], a, resolution="Approve").json
    act(client, shown["id"], b, resolution="Approve")
    decisions = client.get(f"/api/v1/requests/{shown['id']}/evidence", headers=auth(user=b)).json["decisions"]
    assert [d["evidence"]["version"] for d in decisions] == [shown["version"], first["version"]]
    assert decisions[0]["evidence_sha256"] != decisions[1]["evidence_sha256"]
    assert all(d["evidence_sha256"] == sha256_of(d["evidence"]) and d["verified"] for d in decisions)
