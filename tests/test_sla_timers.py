"""SLA policies drive a request's durable timers in business time (Temporal's time-skipping test server).

A request opened on a Friday afternoon before a Monday holiday is due on Tuesday; its reminders and escalation
levels come at business times; at expiry the policy auto-approves (a decision by ``system``) or expires it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.worker import Replayer

from plugin.models import Identity, ResolveInput, RunInput, RunState
from tests.sla_helpers import (
    PARIS,
    ApprovalProbe,
    Seen,
    next_friday_afternoon,
    office,
    pinned,
    probe_worker,
    time_skipping_env,
    time_skipping_worker,
)

POLICY = {"calendar": "office", "due_after": "8h", "remind_every": "90m", "max_reminders": 4,
          "escalations": [{"after": "2.5h", "to_users": ["Lead@Example.com"]},
                          {"after": "5h", "to_groups": ["directors"]}],
          "at_expiry": {"auto_approve": "Approve"}}
REQUEST = {"name": "Purchase", "resolutions": ["Approve", "Reject"], "users": ["boss@example.com"],
           "sla_policy": "purchase"}


def local(iso: str) -> datetime:
    """Paris wall time, to the second (the run starts a few milliseconds after the moment skipped to)."""
    return datetime.fromisoformat(iso).astimezone(PARIS).replace(tzinfo=None, microsecond=0)


async def _open_on_friday(env, queue: str, policy: dict, request: dict | None = None,
                          query_policy: str = "") -> tuple[WorkflowHandle, datetime]:
    """Skip to the next Friday 15:00 in Paris (its Monday a holiday) and start the probe there."""
    friday = next_friday_afternoon(await env.get_current_time())
    await env.sleep(friday - await env.get_current_time())
    monday = (friday + timedelta(days=3)).date()
    sla = pinned({"purchase": policy}, {"office": office([monday])}, query_policy)
    handle = await env.client.start_workflow(
        ApprovalProbe.run, RunInput(data={"requests": [request or REQUEST]}, query="purchase",
                                    started_by="alice@example.com", sla=sla),
        id=f"sla-{friday:%Y%m%d}-{queue}", task_queue=queue)
    return handle, friday.replace(tzinfo=None)


def test_friday_request_before_a_monday_holiday_is_due_tuesday_reminded_escalated_and_auto_approved():
    async def scenario() -> None:
        async with time_skipping_worker() as (env, queue, seen):
            handle, friday = await _open_on_friday(env, queue, POLICY)
            result = await handle.result()
            state: RunState = await handle.query(ApprovalProbe.run_state)
            history = await handle.fetch_history()
        tuesday = friday + timedelta(days=4)
        # The outcome: approved by the policy at the due time, recorded as a decision by "system".
        assert result["outcomes"] == [{"name": "Purchase", "resolution": "Approve", "decided_by": ["system"],
                                       "payload": {}, "comment": result["outcomes"][0]["comment"]}]
        (request,) = state.requests
        assert request.status == "resolved" and request.resolution == "Approve"
        (decision,) = request.decisions
        assert decision.actor == "system" and decision.via == "sla_policy" and "purchase" in decision.comment
        # Which policy applied and its due time, on the request (what analytics reads).
        assert request.sla is not None and request.sla.policy == "purchase" and request.sla.calendar == "office"
        assert local(request.due_at) == tuesday.replace(hour=15) == local(request.sla.due_at)
        # Friday has two working hours left; Saturday, Sunday and the Monday holiday do not count.
        assert [local(at) for at in request.sla.remind_at] == [
            friday.replace(hour=16, minute=30), tuesday.replace(hour=10), tuesday.replace(hour=11, minute=30),
            tuesday.replace(hour=13)]
        assert [local(e.at) for e in request.sla.escalations] == [tuesday.replace(hour=9, minute=30),
                                                                  tuesday.replace(hour=12)]
        # The timers fired at those moments (the audit is stamped with workflow time).
        fired = [(a.action, local(a.at)) for a in state.audit if a.action != "request_opened"]
        assert [action for action, _ in fired] == ["reminded", "escalated", "reminded", "reminded", "escalated",
                                                   "reminded", "decided", "resolved_on_due"]
        for (action, at), expected in zip(fired, [friday.replace(hour=16, minute=30),
                                                  tuesday.replace(hour=9, minute=30), tuesday.replace(hour=10),
                                                  tuesday.replace(hour=11, minute=30), tuesday.replace(hour=12),
                                                  tuesday.replace(hour=13), tuesday.replace(hour=15),
                                                  tuesday.replace(hour=15)], strict=True):
            assert expected <= at <= expected + timedelta(seconds=5), (action, at, expected)
        escalations = [a.details for a in state.audit if a.action == "escalated"]
        assert escalations == [{"users": ["lead@example.com"], "groups": [], "level": 1, "policy": "purchase"},
                               {"users": [], "groups": ["directors"], "level": 2, "policy": "purchase"}]
        assert request.users == ["boss@example.com", "lead@example.com"] and request.groups == ["directors"]
        ended = [a for a in state.audit if a.action == "resolved_on_due"][0]
        assert ended.details == {"resolution": "Approve", "policy": "purchase", "outcome": "auto_approve"}
        assert [n.kind for n in seen.notes] == ["assigned", "reminder", "escalated", "reminder", "reminder",
                                                "escalated", "reminder", "ended"]
        # The recorded history replays with today's code.
        await Replayer(workflows=[ApprovalProbe]).replay_workflow(history)

    asyncio.run(scenario())


def test_an_escalated_lead_decides_before_the_due_time_and_the_remaining_timers_stop():
    async def scenario() -> None:
        async with time_skipping_worker() as (env, queue, seen):
            handle, friday = await _open_on_friday(env, queue, POLICY)
            # Tuesday 10:45 in Paris: the first escalation (09:30) has added the lead; a reminder came at 10:00.
            tuesday_morning = (friday + timedelta(days=4, hours=-4, minutes=-15)).replace(tzinfo=PARIS)
            await env.sleep(tuesday_morning - await env.get_current_time())
            state: RunState = await handle.query(ApprovalProbe.run_state)
            assert "lead@example.com" in state.requests[0].users
            await handle.execute_update(ApprovalProbe.resolve_request, ResolveInput(
                request_id=state.requests[0].id, resolution="Reject",
                identity=Identity(user="lead@example.com", via="headers"), comment="too dear"))
            result = await handle.result()
            state = await handle.query(ApprovalProbe.run_state)
        assert result["outcomes"][0]["resolution"] == "Reject"
        assert result["outcomes"][0]["decided_by"] == ["lead@example.com"]
        actions = [a.action for a in state.audit]
        assert actions == ["request_opened", "reminded", "escalated", "reminded", "decided"]
        assert [n.kind for n in seen.notes] == ["assigned", "reminder", "escalated", "reminder"]

    asyncio.run(scenario())


def test_the_querys_policy_expires_a_request_that_nobody_decides():
    policy = {"calendar": "office", "due_after": "3h"}
    request = {k: v for k, v in REQUEST.items() if k != "sla_policy"}
    async def scenario() -> None:
        async with time_skipping_worker() as (env, queue, _):
            handle, friday = await _open_on_friday(env, queue, policy, request, query_policy="purchase")
            result = await handle.result()
            state: RunState = await handle.query(ApprovalProbe.run_state)
        assert result["outcomes"] == [{"name": "Purchase", "error": "RequestExpired"}]
        (request_state,) = state.requests
        assert request_state.status == "expired" and request_state.decisions == []
        assert local(request_state.due_at) == (friday + timedelta(days=4)).replace(hour=10)
        expired = [a for a in state.audit if a.action == "expired"][0]
        assert expired.details == {"policy": "purchase", "outcome": "expire"}
        assert local(expired.at) - (friday + timedelta(days=4)).replace(hour=10) < timedelta(seconds=5)

    asyncio.run(scenario())


def test_a_policy_whose_auto_approval_the_request_lacks_fails_the_request_in_plain_words():
    policy = {**POLICY, "at_expiry": {"auto_approve": "Accept"}}
    async def scenario() -> None:
        async with time_skipping_worker() as (env, queue, seen):
            handle, _ = await _open_on_friday(env, queue, policy)
            result = await handle.result()
        assert result["outcomes"] == [{"name": "Purchase", "error": "InvalidRequestOptions"}]
        assert seen.notes == []

    asyncio.run(scenario())


def test_a_run_begun_by_a_worker_without_sla_policies_goes_on_without_them(monkeypatch):
    """A run whose input pinned policies but whose first worker did not apply them (code from before this feature,
    in a rolling deploy) goes on as it began once today's worker picks it up: its history has no patch marker, so
    the policy stays off, and no due time comes out of nowhere."""
    from plugin.engine.base import PluginWorkflow

    async def scenario() -> tuple[RunState, dict, Any]:
        seen, queue = Seen(), f"sla-{uuid.uuid4().hex[:8]}"
        async with time_skipping_env() as env:
            with monkeypatch.context() as old_code:
                old_code.setattr(PluginWorkflow, "_sla_policies_apply", lambda self, inp: False)
                async with probe_worker(env, queue, seen, cached=False):
                    handle, _ = await _open_on_friday(env, queue, POLICY)
                    await wait_for_request(handle)
                    await env.sleep(timedelta(minutes=1))  # the run waits for people
            async with probe_worker(env, queue, seen):  # today's code, from the history
                await env.sleep(timedelta(days=7))  # far past the policy's due time
                state: RunState = await handle.query(ApprovalProbe.run_state)
                await handle.execute_update(ApprovalProbe.resolve_request, ResolveInput(
                    request_id=state.requests[0].id, resolution="Approve",
                    identity=Identity(user="boss@example.com", via="headers")))
                result = await handle.result()
                history = await handle.fetch_history()
        return state, result, history

    state, result, history = asyncio.run(scenario())
    (request,) = state.requests
    assert request.status == "pending" and request.sla is None and request.due_at is None
    assert [a.action for a in state.audit] == ["request_opened"]
    assert result["outcomes"][0]["decided_by"] == ["boss@example.com"]
    assert not [e for e in history.events if e.HasField("timer_started_event_attributes")]
    asyncio.run(Replayer(workflows=[ApprovalProbe]).replay_workflow(history))


async def wait_for_request(handle: WorkflowHandle) -> RunState:
    """The run's state once its first request is open."""
    for _ in range(100):
        state: RunState = await handle.query(ApprovalProbe.run_state)
        if state.requests:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError("no request opened")
