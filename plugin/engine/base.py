"""The base class of every plugin workflow: human requests, their updates, and the run-state query.

A code workflow subclasses ``PluginWorkflow``, decorates itself with ``@workflow.defn`` and
``@register_workflow``, calls ``self.begin(inp)`` first, and ``await self.assign_request(...)`` wherever a
person must decide. Several requests may be open at once (``asyncio.gather``), in loops and branches.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from plugin.engine import humans, request_timers
    from plugin.engine.request_options import check_options, new_request, with_defaults
    from plugin.engine.sla import apply as sla
    from plugin.models import (
        CANCELLED,
        EXPIRED,
        PENDING,
        RESOLVED,
        AssignRequest,
        AuditEntry,
        CancelRequestInput,
        HumanRequest,
        Identity,
        Notification,
        ReassignInput,
        RequestOutcome,
        ResolveInput,
        RunInput,
        RunState,
        request_id_for,
    )

# A killed worker reports nothing: Temporal retries its activities only on a timeout. The inbox write (one
# Redis script) gets seconds per attempt; a notification (the hook's HTTP answer may take 20 s) heartbeats
# while it runs. Activity options are not compared on replay (tests/histories/quote_order.json had 30 s).
ACTIVITY_TIMEOUT = timedelta(seconds=30)
PUBLISH_TIMEOUT = timedelta(seconds=8)
NOTIFY_HEARTBEAT_TIMEOUT = timedelta(seconds=8)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
NOTIFY_RETRY = RetryPolicy(maximum_attempts=5)
# Runs made after this change do not wait for the read-model writes of their requests: a decision's step goes
# on in the decision's own workflow task (a run whose last step was the decision completes in it, as raw
# Temporal does). The API writes the decided request right after the committed update, the run's end snapshot
# carries every request, and the write still scheduled here repairs the inbox of a run that goes on.
SETTLED_PUBLISH_PATCH = "settled-request-published-in-background"
# A run cancelled while a notification is being sent: the SDK cancels the notify activity and answers the await
# with an ActivityError, which ``_notify`` used to take for a failed notification, so the run swallowed its own
# cancellation and went on waiting with its request pending (the flaky "cancel withdraws its request" test: a
# cancel landing while "assigned" was sent). Runs that meet this after the change end cancelled, withdrawing
# the request; a replay of a run that met it before keeps its old commands.
CANCEL_DURING_NOTIFY_PATCH = "cancel-during-notify-cancels-the-run"
# Runs whose input pins SLA policies (RunInput.sla) apply them to their requests; decided before the run's first
# command (see choose_read_model_mode), and only for such runs, so others record no marker.
SLA_POLICIES_PATCH = "sla-policies-on-business-calendars"


def _now() -> str:
    return workflow.now().isoformat()


def _proof(identity: Identity) -> dict[str, str]:
    """How the actor was identified, for the audit trail (``via`` and, for tokens, the ``issuer``)."""
    return {k: v for k, v in (("via", identity.via), ("issuer", identity.issuer)) if v}


class PluginWorkflow:
    """Shared handlers and helpers; subclasses define ``@workflow.run async def run(self, inp: RunInput)``."""

    #: Patches a subclass's run checks with ``workflow.patched``: decided before the run's first command (by
    #: ``choose_read_model_mode``), since a patch met after the start snapshot's local activity can replay a
    #: task later than it was recorded and fail the run as nondeterministic.
    START_PATCHES: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._requests: dict[str, HumanRequest] = {}
        self._audit: list[AuditEntry] = []
        self._input: RunInput | None = None
        self._request_seq = 0
        self._background = False  # request writes are not awaited (SETTLED_PUBLISH_PATCH)
        self._unsent: list[workflow.ActivityHandle] = []
        self._sla_patched: bool | None = None  # SLA_POLICIES_PATCH, decided once

    # -- what subclasses call -------------------------------------------------------------------

    def begin(self, inp: RunInput, carried: RunState | None = None) -> None:
        """Remember the run's input (requests know their requester); ``carried`` restores state after
        continue-as-new."""
        self._input = inp
        if carried is not None:
            self._requests = {r.id: r for r in carried.requests}
            self._audit = list(carried.audit)
            self._request_seq = carried.request_seq

    async def assign_request(self, options: AssignRequest) -> RequestOutcome:
        """Ask people to decide and wait until they have; returns the resolution and who decided.

        Raises ApplicationError ``RequestExpired`` when the due time passes without a due resolution, and
        ``RequestCancelled`` when an admin cancels the request.
        """
        check_options(options)
        self.choose_read_model_mode()  # memoized: the snapshot interceptor has chosen it at the run's start
        inp = self._input or RunInput(data={})
        self._request_seq += 1
        info = workflow.info()
        run_id = info.workflow_id
        request_id = request_id_for(run_id, info.first_execution_run_id, self._request_seq)
        policy = sla.policy_name_for(options, inp.sla) if self._sla_policies_apply(inp) else None
        if policy is None:
            options = with_defaults(options, inp.request_defaults)
        request = new_request(options, request_id, run_id, inp.query, inp.started_by, workflow.now())
        if policy is not None:
            sla.apply_policy(request, inp.sla, policy, workflow.now())
        self._requests[request.id] = request
        self._record(request, "workflow", "request_opened", details={"name": request.name})
        try:
            await self._notify("assigned", request)
            await self._wait_until_settled(request)
        except asyncio.CancelledError:
            # The run is being cancelled: withdraw the request where people see it, then let the run end.
            if humans.cancel_pending(request, _now()):
                self._record(request, "workflow", "request_cancelled", comment="the run was cancelled")
                await self._publish(request)
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        if request.status == EXPIRED:
            raise ApplicationError(f"Request {request.name!r} expired: nobody decided by {request.due_at}",
                                   {"request_id": request.id, "step": request.name}, type="RequestExpired",
                                   non_retryable=True)
        if request.status == CANCELLED:
            raise ApplicationError(f"Request {request.name!r} was cancelled", {"request_id": request.id,
                                                                               "step": request.name},
                                   type="RequestCancelled", non_retryable=True)
        return humans.outcome_of(request)

    def note_run_cancelled(self) -> None:
        """Record in the audit that the run was cancelled (the snapshot interceptor calls this as the run ends
        cancelled), so a decision made just before the cancel reads as made, then overtaken."""
        self._audit.append(AuditEntry(at=_now(), actor="workflow", action="run_cancelled",
                                      comment="the run was cancelled"))

    def choose_read_model_mode(self, inp: RunInput | None = None) -> None:
        """Whether this run writes its requests in the background (``SETTLED_PUBLISH_PATCH``).

        The snapshot interceptor calls this before the run's first command. Not in the task that applies a
        decision: the patch marker upserts the TemporalChangeVersion search attribute, which would slow the
        decision's answer. Not after a local activity either: when the activity's marker was recorded in a
        workflow task of its own, a replay meets the patch marker one task later than the call and fails
        (seen after a worker was killed while runs were starting).
        """
        self._background = workflow.patched(SETTLED_PUBLISH_PATCH)
        for patch in self.START_PATCHES:  # memoized by the SDK: the run's own later call answers the same
            workflow.patched(patch)
        self._sla_policies_apply(inp or self._input)

    def _sla_policies_apply(self, inp: RunInput | None) -> bool:
        """Whether this run applies SLA policies (``SLA_POLICIES_PATCH``): only runs that pinned some, and not a
        replay of a run that was recorded before the change."""
        if self._sla_patched is None and inp is not None:
            self._sla_patched = bool(inp.sla.get("policies")) and workflow.patched(SLA_POLICIES_PATCH)
        return bool(self._sla_patched)

    def drop_unsent_publishes(self) -> bool:
        """The run ends in this workflow task (the snapshot interceptor calls this): drop the request writes not
        yet done, since the end snapshot carries every request; True when this run writes its requests in the
        background (runs from before that change keep their old commands)."""
        for handle in list(self._unsent):
            handle.cancel()
        return self._background

    # -- handlers -------------------------------------------------------------------------------

    @workflow.update
    async def resolve_request(self, update: ResolveInput) -> HumanRequest:
        """Apply a person's decision; answers with the request's new state."""
        request = self._requests.get(update.request_id)
        # Checked again here: several updates delivered in one task all pass their validators first.
        humans.check_resolve(request, update)
        assert request is not None
        humans.apply_decision(request, update, _now())
        self._record(request, update.identity.user, "decided", update.comment,
                     {"resolution": update.resolution, "payload": update.payload, **_proof(update.identity),
                      **({"acting_for": update.acting_for.lower()} if update.acting_for else {})})
        return request

    @resolve_request.validator
    def _validate_resolve(self, update: ResolveInput) -> None:
        humans.check_resolve(self._requests.get(update.request_id), update)

    @workflow.update
    async def reassign_request(self, update: ReassignInput) -> HumanRequest:
        """Hand a pending request to other people (an assignee delegating, or an admin)."""
        request = self._requests.get(update.request_id)
        humans.check_reassign(request, update)
        assert request is not None
        before = {"users": request.users, "groups": request.groups}
        humans.apply_reassign(request, update)
        self._record(request, update.identity.user or "admin", "reassigned", update.comment,
                     {"from": before, "to": {"users": request.users, "groups": request.groups},
                      **_proof(update.identity)})
        return request

    @reassign_request.validator
    def _validate_reassign(self, update: ReassignInput) -> None:
        humans.check_reassign(self._requests.get(update.request_id), update)

    @workflow.update
    async def cancel_request(self, update: CancelRequestInput) -> HumanRequest:
        """Withdraw a pending request (admins); the waiting step then fails with ``RequestCancelled``."""
        request = self._requests.get(update.request_id)
        humans.check_cancel(request, update)
        assert request is not None
        humans.close_request(request, CANCELLED, _now())
        self._record(request, update.identity.user or "admin", "request_cancelled", update.comment,
                     _proof(update.identity))
        return request

    @cancel_request.validator
    def _validate_cancel(self, update: CancelRequestInput) -> None:
        humans.check_cancel(self._requests.get(update.request_id), update)

    @workflow.query
    def run_state(self) -> RunState:
        """The run's requests and audit trail."""
        inp = self._input or RunInput(data={})
        return RunState(run_id=workflow.info().workflow_id, query=inp.query, started_by=inp.started_by,
                        requests=list(self._requests.values()), audit=list(self._audit),
                        request_seq=self._request_seq)

    # -- internals ------------------------------------------------------------------------------

    async def _wait_until_settled(self, request: HumanRequest) -> None:
        """Publish every change of the request, and act on its timers, until it is no longer pending."""
        published = 0
        while True:
            if request.version != published:
                published = request.version
                if self._background:  # versioned writes: the order they land in does not matter
                    handle = self._start_publish(request)
                    self._unsent.append(handle)
                    handle.add_done_callback(self._unsent.remove)
                else:
                    await self._publish(request)
                    continue  # a change may have landed while publishing
            if request.status != PENDING:
                return
            timeout = request_timers.seconds_to_next(request, workflow.now())
            try:
                await workflow.wait_condition(lambda seen=published: request.version != seen,
                                              timeout=timeout)
            except TimeoutError:
                await self._on_timers(request)

    async def _on_timers(self, request: HumanRequest) -> None:
        # One event at a time, looking again after each: a worker that wakes late still sends each reminder
        # that fell before the due time, once, in order, and only then lets the request come due.
        while request.status == PENDING and (kinds := request_timers.due_now(request, workflow.now())):
            kind = kinds[0]
            _count_deadline(request, kind)
            if kind == request_timers.REMIND:
                request.reminders_sent += 1
                request.version += 1
                self._record(request, "workflow", "reminded", details={"count": request.reminders_sent})
                await self._notify("reminder", request)
            elif kind == request_timers.ESCALATE:
                self._record(request, "workflow", "escalated", details=request_timers.escalate(request))
                await self._notify("escalated", request)
            else:
                if request.due_resolution:
                    decision = sla.system_decision(request, _now())  # auto-approve or -reject under a policy
                    if decision is not None:
                        request.decisions.append(decision)
                        self._record(request, decision.actor, "decided", decision.comment,
                                     {"resolution": decision.resolution, "via": decision.via})
                    humans.close_request(request, RESOLVED, _now(), request.due_resolution)
                    self._record(request, "workflow", "resolved_on_due",
                                 details={"resolution": request.due_resolution, **sla.expiry_details(request)})
                else:
                    humans.close_request(request, EXPIRED, _now())
                    self._record(request, "workflow", "expired", details=sla.expiry_details(request))
                await self._notify("ended", request)

    def _record(self, request: HumanRequest, actor: str, action: str, comment: str = "",
                details: dict | None = None) -> None:
        self._audit.append(AuditEntry(at=_now(), actor=actor.lower(), action=action, request_id=request.id,
                                      comment=comment, details=details or {}))

    async def _publish(self, request: HumanRequest) -> None:
        # Not a local activity: those run before the workflow task commits, and a task that is then lost
        # (seen with 50 concurrent resolves) would leave a decision in Redis that Temporal never recorded.
        await self._start_publish(request)

    def _start_publish(self, request: HumanRequest) -> workflow.ActivityHandle:
        """Schedule the inbox write of this version of the request (awaited or not by the caller)."""
        return workflow.start_activity("publish_request", request, start_to_close_timeout=PUBLISH_TIMEOUT,
                                       retry_policy=ACTIVITY_RETRY)

    async def _notify(self, kind: str, request: HumanRequest) -> None:
        note = Notification(kind=kind, request=request, recipients_users=list(request.users),
                            recipients_groups=list(request.groups))
        try:
            await workflow.execute_activity("notify", note, start_to_close_timeout=ACTIVITY_TIMEOUT,
                                            heartbeat_timeout=NOTIFY_HEARTBEAT_TIMEOUT, retry_policy=NOTIFY_RETRY)
        except ActivityError as exc:  # a notification that cannot be sent must not fail the request
            if (is_cancelled_exception(exc) and workflow.cancellation_reason() is not None
                    and workflow.patched(CANCEL_DURING_NOTIFY_PATCH)):
                raise asyncio.CancelledError("the run was cancelled while a notification was sent") from exc
            self._record(request, "workflow", "notify_failed", details={"kind": kind, "error": str(exc.cause)})


REQUEST_DEADLINES = "workflows_request_deadlines"


def _count_deadline(request: HumanRequest, kind: str) -> None:
    """Count a reminder, an escalation or a due time reached (``due``), by query: what alerts on overdue requests
    watch. The SDK's metric meter records nothing while replaying, so each is counted once."""
    workflow.metric_meter().create_counter(
        REQUEST_DEADLINES, "Request deadlines reached: reminders, escalations, due times, by query").add(
        1, {"query": request.query, "event": kind})
