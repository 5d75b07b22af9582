"""`workflows-plugin check` on calendars and SLA policies: each mistake named with its file, policy or step, and
field, in plain words; a valid policy is pinned with each query's runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli import main
from plugin.workspace.check import check_workspaces
from plugin.workspace.loader import inspect_workspaces

OFFICE = {"time_zone": "Europe/Paris", "working_days": ["mon", "tue", "wed", "thu", "fri"],
          "hours": {"start": "09:00", "end": "17:00"}, "holidays": ["2026-12-25"]}
POLICY = {"calendar": "office", "due_after": "16h", "remind_every": "4h", "max_reminders": 2,
          "escalations": [{"after": "8h", "to_users": ["lead@example.com"]}, {"after": "12h", "to_groups": ["dir"]}],
          "at_expiry": {"auto_approve": "Approve"}}
STEP = {"id": "ask", "kind": "approval", "name": "Approve", "resolutions": ["Approve", "Reject"], "groups": ["g"]}


def workspace(folder: Path, *, calendars=None, policies=None, queries=None, steps=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"calendars": calendars if calendars is not None else {"office": OFFICE},
            "sla_policies": policies if policies is not None else {"standard": POLICY},
            "queries": queries if queries is not None else {"buy": {"definition": "d", "sla_policy": "standard"}}}
    (folder / "workspace.json").write_text(json.dumps(data))
    (folder / "definitions").mkdir(exist_ok=True)
    (folder / "definitions" / "d.json").write_text(json.dumps({"id": "d", "steps": steps or [STEP]}))
    return folder


def problems(folder: Path) -> list[str]:
    return check_workspaces([folder]).problems


def test_a_valid_policy_checks_clean_and_is_pinned_with_the_querys_runs(tmp_path):
    folder = workspace(tmp_path)
    loaded, found = inspect_workspaces([folder])
    assert found == []
    sla = loaded.queries["buy"].sla
    assert sla["policy"] == "standard" and sla["policies"] == {"standard": POLICY}
    assert sla["calendars"] == {"office": OFFICE} and len(sla["version"]) == 16


def test_the_version_changes_with_the_policy(tmp_path):
    first = inspect_workspaces([workspace(tmp_path / "a")])[0].queries["buy"].sla["version"]
    longer = {"standard": {**POLICY, "due_after": "24h"}}
    second = inspect_workspaces([workspace(tmp_path / "b", policies=longer)])[0].queries["buy"].sla["version"]
    assert first != second


@pytest.mark.parametrize(("change", "words"), [
    ({"calendars": {"office": {**OFFICE, "time_zone": "Europe/Pariss"}}},
     "calendars.office.time_zone: 'Europe/Pariss' is not a known time zone"),
    ({"calendars": {"office": {**OFFICE, "hours": {"start": "17:00", "end": "09:00"}}}},
     "calendars.office.hours: end 09:00 is not after start 17:00"),
    ({"calendars": {"office": {**OFFICE, "holidays": ["25/12/2026"]}}},
     "calendars.office.holidays[0]: must be a date as YYYY-MM-DD, not '25/12/2026'"),
    ({"calendars": {"office": {**OFFICE, "holidays": ["2026-02-30"]}}},
     "calendars.office.holidays[0]: '2026-02-30' is not a date of the calendar"),
    ({"calendars": {"office": {**OFFICE, "working_days": ["monday"]}}}, "calendars.office.working_days: must be"),
    ({"calendars": {}}, "sla_policies.standard: calendar 'office' is not a calendar of the workspace "
                        "(calendars: none declared)"),
    ({"queries": {"buy": {"definition": "d", "sla_policy": "gold"}}},
     "query 'buy': sla_policy: unknown SLA policy 'gold' (sla_policies: standard)"),
    ({"policies": {"standard": {**POLICY, "due_after": "2d"}}}, "due_after '2d': give business time in hours"),
    ({"policies": {"standard": {**POLICY, "due_after": "soon"}}}, "due_after 'soon' is not a duration"),
    ({"policies": {"standard": {**POLICY, "due_after": "10h"}}},
     "escalations: the level after '12h' comes at or after the due time ('10h'), so it would never happen"),
    ({"policies": {"standard": {**POLICY, "escalations": [{"after": "8h", "to_users": ["a@x.io"]},
                                                          {"after": "4h", "to_users": ["b@x.io"]}]}}},
     "escalations[1] comes after '4h', not later than the level before it ('8h')"),
    ({"policies": {"standard": {**POLICY, "escalations": [{"after": "8h"}]}}},
     "escalations[0] names nobody: give to_users or to_groups"),
    ({"policies": {"standard": {"calendar": "office", "at_expiry": {"auto_approve": "Approve"},
                                "remind_every": "1h"}}}, "at_expiry needs due_after"),
    ({"policies": {"standard": {**POLICY, "at_expiry": "approve"}}},
     "at_expiry must be \"expire\", {\"auto_approve\": \"<resolution>\"} or {\"auto_reject\": \"<resolution>\"}"),
    ({"policies": {"standard": {**POLICY, "deadline": "16h"}}}, "unknown fields ['deadline']"),
    ({"policies": {"standard": {"calendar": "office"}}}, "sets nothing: give due_after, remind_every or escalations"),
    ({"policies": {"standard": {**POLICY, "at_expiry": {"auto_approve": "Accept"}}}},
     "step 'ask': sla_policy: its query's SLA policy 'standard' would auto-approve an expired request "
     "as 'Accept', which is not among the step's resolutions ['Approve', 'Reject']"),
    ({"policies": {"standard": {**POLICY, "at_expiry": {"auto_approve": "Reject"}}}},
     "'standard' would auto-approve an expired request as 'Reject', a rejecting resolution of the step "
     "(rejecting: ['Reject']): use auto_reject"),
    ({"policies": {"standard": {**POLICY, "at_expiry": {"auto_reject": "Approve"}}}},
     "'standard' would auto-reject an expired request as 'Approve', not a rejecting resolution of the step"),
    ({"queries": {"buy": {"definition": "d"}}, "steps": [{**STEP, "sla_policy": "gold"}]},
     "step 'ask': sla_policy: unknown SLA policy 'gold' (sla_policies: standard)"),
    ({"steps": [{**STEP, "sla_policy": "standard", "resolutions": ["Yes", "No"]}]},
     "step 'ask': sla_policy: its SLA policy 'standard' would auto-approve an expired request as 'Approve'"),
    ({"steps": [{**STEP, "sla_policy": "standard", "due_in_seconds": 60}]},
     "sla_policy 'standard' sets the due time, reminders, escalation and outcome at expiry: give the policy or "
     "due_in_seconds, not both"),
])
def test_each_mistake_is_named_in_plain_words(tmp_path, change, words):
    found = problems(workspace(tmp_path, **change))
    assert sum(words in p for p in found) == 1, (words, found)
    assert not [p for p in found if "Traceback" in p or "NoneType" in p]


def test_a_step_with_its_own_timers_is_not_held_to_the_querys_policy(tmp_path):
    step = {**STEP, "resolutions": ["Yes", "No"], "due_in_seconds": 60}
    assert problems(workspace(tmp_path, steps=[step])) == []


def test_names_are_unique_across_folders(tmp_path):
    first = workspace(tmp_path / "a")
    second = workspace(tmp_path / "b", queries={})
    found = check_workspaces([first, second]).problems
    assert any("calendars.office: is also declared in" in p for p in found), found
    assert any("sla_policies.standard: is also declared in" in p for p in found), found


def test_check_command_fails_on_an_unknown_calendar(tmp_path):
    folder = workspace(tmp_path, policies={"standard": {**POLICY, "calendar": "lyon"}})
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code != 0
    assert "sla_policies.standard: calendar 'lyon' is not a calendar of the workspace (calendars: office)" in \
        result.output


def test_a_node_query_that_uses_no_policy_pins_none_and_one_whose_step_names_one_pins_them(tmp_path):
    plain = inspect_workspaces([workspace(tmp_path / "a", queries={"buy": {"definition": "d"}})])[0]
    assert plain.queries["buy"].sla == {}  # its runs record no SLA patch marker
    named = inspect_workspaces([workspace(tmp_path / "b", queries={"buy": {"definition": "d"}},
                                          steps=[{**STEP, "sla_policy": "standard"}])])[0]
    assert named.queries["buy"].sla["policy"] == "" and "standard" in named.queries["buy"].sla["policies"]


def test_auto_rejecting_by_a_rejecting_resolution_checks_clean(tmp_path):
    policies = {"standard": {**POLICY, "at_expiry": {"auto_reject": "Reject"}}}
    assert problems(workspace(tmp_path, policies=policies)) == []


def test_names_and_descriptions_are_held_to_the_schema_each_said_once(tmp_path):
    calendars = {"bad name!": OFFICE, "office": {**OFFICE, "description": 5}}
    found = problems(workspace(tmp_path, calendars=calendars))
    assert sum("calendars: a name must be 1-64 letters" in p for p in found) == 1, found
    assert sum("calendars.office.description: must be a string" in p for p in found) == 1, found
    found = problems(workspace(tmp_path / "b", calendars=[]))
    assert sum(p.endswith("calendars: must be an object, not []") for p in found) == 1, found
