"""The base class of every plugin workflow: human requests, the resolve update, the run-state query.

A code workflow subclasses ``PluginWorkflow``, decorates itself with ``@workflow.defn`` and
``@register_workflow``, and calls ``await self.assign_request(...)`` wherever a person must decide.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from plugin.engine import humans
    from plugin.engine.models import (
        PENDING,
        AssignRequest,
        AuditEntry,
        HumanRequest,
        RequestOutcome,
        ResolveInput,
        RunInput,
        RunState,
    )

PUBLISH_TIMEOUT = timedelta(seconds=30)


def _now() -> str:
    return workflow.now().isoformat()


class PluginWorkflow:
    """Shared handlers and helpers; subclasses define ``@workflow.run async def run(self, inp: RunInput)``."""

    def __init__(self) -> None:
        self._requests: dict[str, HumanRequest] = {}
        self._audit: list[AuditEntry] = []
        self._input: RunInput | None = None
        self._request_seq = 0

    # -- what subclasses call -------------------------------------------------------------------

    def begin(self, inp: RunInput) -> None:
        """Remember the run's input; call first thing in ``run`` so requests know their requester."""
        self._input = inp

    async def assign_request(self, options: AssignRequest) -> RequestOutcome:
        """Ask people to decide and wait until they have; returns the resolution and who decided."""
        humans.check_options(options)
        inp = self._input or RunInput(data={})
        self._request_seq += 1
        run_id = workflow.info().workflow_id
        request = humans.new_request(
            options, f"{run_id}:{self._request_seq}", run_id, inp.query, inp.started_by, _now()
        )
        self._requests[request.id] = request
        self._audit.append(AuditEntry(at=request.created_at, actor="workflow", action="request_opened",
                                      request_id=request.id, details={"name": request.name}))
        published = 0
        while True:
            if request.version != published:
                published = request.version
                await self._publish(request)
            if request.status != PENDING and request.version == published:
                break
            await workflow.wait_condition(lambda seen=published: request.version != seen)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return humans.outcome_of(request)

    # -- handlers -------------------------------------------------------------------------------

    @workflow.update
    async def resolve_request(self, update: ResolveInput) -> HumanRequest:
        """Apply a person's decision; answers with the request's new state."""
        request = self._requests.get(update.request_id)
        # Checked again here: several updates delivered in one task all pass their validators first.
        humans.check_resolve(request, update)
        assert request is not None
        now = _now()
        humans.apply_decision(request, update, now)
        self._audit.append(AuditEntry(at=now, actor=update.identity.user.lower(), action="decided",
                                      request_id=request.id, comment=update.comment,
                                      details={"resolution": update.resolution}))
        return request

    @resolve_request.validator
    def _validate_resolve(self, update: ResolveInput) -> None:
        humans.check_resolve(self._requests.get(update.request_id), update)

    @workflow.query
    def run_state(self) -> RunState:
        """The run's requests and audit trail."""
        inp = self._input or RunInput(data={})
        return RunState(run_id=workflow.info().workflow_id, query=inp.query, started_by=inp.started_by,
                        requests=list(self._requests.values()), audit=list(self._audit))

    # -- internals ------------------------------------------------------------------------------

    async def _publish(self, request: HumanRequest) -> None:
        await workflow.execute_activity(
            "publish_request", request, start_to_close_timeout=PUBLISH_TIMEOUT,
        )
