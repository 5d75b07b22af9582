"""The pure rules behind requests: option checks, forms, timers, who may decide. No services needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from plugin.engine import humans, request_timers
from plugin.engine.request_options import check_options, form_errors, new_request
from plugin.models import AssignRequest, FormField, Identity, ResolveInput

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make(**options):
    base = {"name": "R", "resolutions": ["Approve", "Reject"], "users": ["A@x.io"]}
    return new_request(AssignRequest(**{**base, **options}), "run:1", "run", "q", "req@x.io", T0)


@pytest.mark.parametrize(("options", "problem"), [
    ({"resolutions": []}, "resolutions is empty"),
    ({"resolutions": ["A", "A"]}, "duplicates"),
    ({"users": [], "groups": []}, "at least one user or group"),
    ({"required_approvals": 0}, "at least 1"),
    ({"rejecting_resolutions": ["Nope"]}, "not among the resolutions"),
    ({"due_resolution": "Later"}, "due_resolution"),
    ({"due_in_seconds": -1}, "due_in_seconds must be greater than zero"),
    ({"escalate_after_seconds": 5}, "needs escalate_to_users"),
    ({"form": [FormField(name="x", type="date")]}, "unknown type"),
    ({"form": [FormField(name="x", type="select")]}, "without options"),
])
def test_bad_options_are_refused_naming_the_problem(options, problem):
    with pytest.raises(ApplicationError) as caught:
        check_options(AssignRequest(**{"name": "R", "resolutions": ["Approve", "Reject"], "users": ["a@x.io"],
                                       **options}))
    assert problem in caught.value.message and caught.value.non_retryable


def test_assignees_are_normalised_and_rejections_default_to_all_but_the_first():
    request = make(users=[" A@x.io ", "a@x.io", ""], groups=["ops", "ops"])
    assert request.users == ["a@x.io"] and request.groups == ["ops"]
    assert request.rejecting_resolutions == ["Reject"]


def test_form_errors_name_each_field():
    form = [FormField(name="n", type="integer"), FormField(name="ok", type="boolean"),
            FormField(name="c", type="select", options=["a", "b"]), FormField(name="s", required=False, max_length=3)]
    assert form_errors(form, {"n": 1, "ok": False, "c": "a"}) == {}
    errors = form_errors(form, {"n": 1.5, "ok": "yes", "c": "z", "s": "long", "x": 1})
    assert set(errors) == {"payload.n", "payload.ok", "payload.c", "payload.s", "payload.x"}
    assert form_errors(form, {})["payload.n"] == ["Missing data for required field."]
    assert form_errors([], {"anything": 1}) == {}, "without a form, the payload is free"


def test_reminders_stop_before_the_due_time_and_escalation_happens_once():
    request = make(due_in_seconds=10, remind_every_seconds=4, max_reminders=5, escalate_after_seconds=6,
                   escalate_to_users=["b@x.io"])
    assert request_timers.seconds_to_next(request, T0) == 4
    assert request_timers.due_now(request, T0 + timedelta(seconds=4)) == [request_timers.REMIND]
    request.reminders_sent = 1
    assert request_timers.due_now(request, T0 + timedelta(seconds=7)) == [request_timers.ESCALATE]
    request.escalated = True
    assert request_timers.due_now(request, T0 + timedelta(seconds=8)) == [request_timers.REMIND]
    request.reminders_sent = 2
    # The third reminder would fall at 12s, after the due time: only the due event is left.
    assert request_timers.upcoming(request) == [(T0 + timedelta(seconds=10), request_timers.DUE)]


def test_no_timers_means_waiting_for_people_only():
    assert request_timers.seconds_to_next(make(), T0) is None


def decide(request, user, resolution="Approve", groups=()):
    update = ResolveInput(request_id=request.id, resolution=resolution, identity=Identity(user, list(groups)))
    humans.check_resolve(request, update)
    humans.apply_decision(request, update, T0.isoformat())


def test_quorum_counts_distinct_people_and_a_rejection_ends_it():
    request = make(users=["a@x.io", "b@x.io", "c@x.io"], required_approvals=2)
    decide(request, "a@x.io")
    assert request.status == "pending" and request.version == 2
    with pytest.raises(ApplicationError, match="already decided"):
        decide(request, "a@x.io")
    decide(request, "c@x.io", "Reject")
    assert request.status == "resolved" and request.resolution == "Reject"
    outcome = humans.outcome_of(request)
    assert outcome.decided_by == ["c@x.io"] and len(outcome.decisions) == 2


@pytest.mark.parametrize(("who", "kind"), [
    (Identity("z@x.io"), "NotFound"),
    (Identity("req@x.io", [], False), "Forbidden"),
    (Identity("admin@x.io", [], True), "Forbidden"),
])
def test_who_may_not_decide(who, kind):
    request = make()
    with pytest.raises(ApplicationError) as caught:
        humans.check_resolve(request, ResolveInput(request_id=request.id, resolution="Approve", identity=who))
    assert caught.value.type == kind


def test_a_late_wake_catches_up_every_reminder_before_the_due_event():
    request = make(due_in_seconds=3.5, remind_every_seconds=1, max_reminders=5, escalate_after_seconds=1.5,
                   escalate_to_users=["b@x.io"])
    late = T0 + timedelta(seconds=9)  # the worker was away: everything is due at once
    seen = []
    while kinds := request_timers.due_now(request, late):  # the loop PluginWorkflow._on_timers runs
        seen.append(kinds[0])
        if kinds[0] == request_timers.REMIND:
            request.reminders_sent += 1
        elif kinds[0] == request_timers.ESCALATE:
            request.escalated = True
        else:
            break
    assert seen == ["reminder", "escalated", "reminder", "reminder", "due"]
