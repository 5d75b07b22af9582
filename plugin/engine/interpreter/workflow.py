"""``node_workflow``: the one deterministic interpreter of node-based (JSON) definitions.

The run's input carries the definition it started with (content and version hash), so editing or
deleting the file never changes a running run. Long loops continue as new, carrying the state, the step
outputs, the requests and the audit trail; the workflow id (the run id callers see) stays the same.

Queries: ``run_state`` (requests and audit, from PluginWorkflow), ``respond_value`` (the answer of a
``respond`` step, for synchronous triggers), ``step_timeline`` (each step's status, times and attempts).
"""

from dataclasses import asdict, dataclass
from typing import Any

from temporalio import workflow
from temporalio.converter import value_to_type
from temporalio.exceptions import ApplicationError

from plugin.engine.base import PluginWorkflow
from plugin.engine.interpreter.executors import EXECUTORS
from plugin.engine.interpreter.runtime import ContinueAsNewNeeded, Runner, RunSucceeded, StepFailed
from plugin.engine.interpreter.spec import NODE_WORKFLOW
from plugin.engine.registry import register_workflow
from plugin.models import RunInput, RunState

# The timeline keeps the most recent records (loops can run many steps).
TIMELINE_LIMIT = 1000


@dataclass
class NodeRunInput(RunInput):
    """RunInput plus where to resume after continue-as-new (None on a fresh start)."""

    resume: dict[str, Any] | None = None


@dataclass
class RespondValue:
    """What the ``respond_value`` query answers: the synchronous answer, once a respond step set it."""

    responded: bool = False
    status: int = 200
    body: Any = None
    step: str = ""


@dataclass
class StepRecord:
    """One step's entry in the timeline."""

    step: str
    name: str
    kind: str
    status: str
    started_at: str
    ended_at: str | None = None
    attempts: int = 0
    iteration: int | None = None
    error: dict[str, Any] | None = None


@register_workflow
@workflow.defn(name=NODE_WORKFLOW, sandboxed=False)
class NodeWorkflow(PluginWorkflow):
    """Runs the definition in its input, step by step."""

    def __init__(self) -> None:
        super().__init__()
        self._respond = RespondValue()
        self._timeline: list[StepRecord] = []
        self._child_seq = 0

    @workflow.run
    async def run(self, inp: NodeRunInput) -> Any:
        resume = inp.resume or {}
        self.begin(inp, value_to_type(RunState, resume["run_state"]) if resume else None)
        if resume:
            self._respond = value_to_type(RespondValue, resume["respond"])
            self._timeline = value_to_type(list[StepRecord], resume["timeline"])
            self._child_seq = resume["child_seq"]
        if not isinstance(inp.definition, dict) or not inp.definition.get("steps"):
            raise ApplicationError("node_workflow needs a definition with steps in its input",
                                   type="MissingDefinition", non_retryable=True)
        if not resume and workflow.memo_value("definition_version", "") != inp.definition_version:
            # Run detail shows the version whichever way the run was started (API, schedule, parent run).
            workflow.upsert_memo({"definition_version": inp.definition_version})
        runner = Runner(self, inp, state=dict(resume.get("state", {})), outputs=dict(resume.get("steps", {})),
                        executors=EXECUTORS)
        try:
            output = await runner.run(resume.get("cursor"))
        except RunSucceeded as done:
            output = done.output
        except StepFailed as failure:
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise ApplicationError(f"Step {failure.step!r} failed: {failure.message}",
                                   {"step": failure.step, "type": failure.error_type, "details": failure.details},
                                   type=failure.error_type, non_retryable=True) from None
        except ContinueAsNewNeeded as can:
            await workflow.wait_condition(workflow.all_handlers_finished)
            carried = {"cursor": can.frames, "state": runner.state, "steps": dict(runner.top.steps),
                       "run_state": self.run_state(), "respond": self._respond,
                       "timeline": self._timeline[-TIMELINE_LIMIT:], "child_seq": self._child_seq}
            workflow.continue_as_new(NodeRunInput(
                data=inp.data, query=inp.query, started_by=inp.started_by, app=inp.app,
                definition=inp.definition, definition_version=inp.definition_version,
                linked_definitions=inp.linked_definitions, connection_defaults=inp.connection_defaults,
                request_defaults=inp.request_defaults, sla=inp.sla, resume=carried))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return output

    # -- queries ---------------------------------------------------------------------------------

    @workflow.query
    def respond_value(self) -> RespondValue:
        """The answer for a synchronous trigger, once a ``respond`` step has run (``responded``)."""
        return self._respond

    @workflow.query
    def step_timeline(self) -> list[StepRecord]:
        """Each step run so far: status, start, end, attempts, error (the most recent 1000)."""
        return list(self._timeline)

    # -- what the runner calls -------------------------------------------------------------------

    def step_started(self, step: dict[str, Any], iteration: int | None) -> StepRecord:
        """Open a timeline record for a step."""
        record = StepRecord(step=step["id"], name=step.get("name") or step["id"], kind=step["kind"],
                            status="running", started_at=workflow.now().isoformat(), iteration=iteration)
        self._timeline.append(record)
        if len(self._timeline) > TIMELINE_LIMIT:
            del self._timeline[: len(self._timeline) - TIMELINE_LIMIT]
        return record

    def step_ended(self, record: StepRecord, status: str, attempts: int,
                   error: dict[str, Any] | None = None) -> None:
        """Close a timeline record."""
        record.status, record.attempts, record.error = status, attempts, error
        record.ended_at = workflow.now().isoformat()

    def respond(self, status: int, body: Any, step_id: str) -> dict[str, Any]:
        """Set the synchronous answer (the first respond wins); returns what the step outputs."""
        if not self._respond.responded:
            self._respond = RespondValue(responded=True, status=status, body=body, step=step_id)
        return asdict(self._respond)

    def next_child_number(self) -> int:
        """A sequence number for child run ids, unique across continue-as-new."""
        self._child_seq += 1
        return self._child_seq
