"""The interpreter's core: scopes, step outcomes, and running steps with timeout, retry and on_error.

Workflow code: deterministic, every wait is a Temporal timer, activity, child or condition.
"""

from __future__ import annotations

import asyncio
from collections import ChainMap
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from temporalio import workflow

from plugin.engine.interpreter import spec
from plugin.engine.interpreter.templates import TemplateFailure, is_true, render, render_path
from plugin.models import AssignRequest, RequestOutcome, RunInput


class StepFailed(Exception):
    """A step failed; ``error_type`` is what ``on_error`` handlers and the run's error show."""

    def __init__(self, step: str, message: str, error_type: str = "StepFailed",
                 details: Any = None, retryable: bool = True, attempts: int | None = None) -> None:
        super().__init__(f"step {step!r}: {message}")
        self.step = step
        self.message = message
        self.error_type = error_type
        self.details = details
        self.retryable = retryable
        self.attempts = attempts  # tries made inside an activity (an http step retries there)

    def as_value(self) -> dict[str, Any]:
        """What templates see as ``error`` in an ``on_error`` handler."""
        return {"step": self.step, "message": self.message, "type": self.error_type, "details": self.details}


class RunSucceeded(Exception):
    """A ``succeed`` step ended the run with this output."""

    def __init__(self, output: Any) -> None:
        super().__init__("succeeded")
        self.output = output


class ContinueAsNewNeeded(Exception):
    """History is long: unwind to the top, collecting where to resume (one frame per level)."""

    def __init__(self, frame: Any) -> None:
        super().__init__("continue as new")
        self.frames: list[Any] = [frame]


@dataclass
class Scope:
    """What steps at one place see: step outputs so far, loop/error variables, and whether a long loop
    here may continue as new (only outside parallel branches, loop bodies and error handlers)."""

    steps: MutableMapping[str, Any]
    vars: dict[str, Any] = field(default_factory=dict)
    can_continue: bool = True

    def nested(self, own_steps: bool = False, **variables: Any) -> Scope:
        """A scope for a loop body (own step outputs), a parallel branch or an error handler."""
        steps = ChainMap({}, self.steps) if own_steps else self.steps
        return Scope(steps=steps, vars={**self.vars, **variables}, can_continue=False)


def _backoff(retry: dict[str, Any], attempt: int) -> float:
    initial = spec.duration_seconds(retry.get("initial_interval", 1))
    longest = spec.duration_seconds(retry.get("max_interval", initial * 100))
    return float(min(longest, initial * float(retry.get("backoff", 2)) ** (attempt - 1)))


class StepHost(Protocol):
    """What a runner needs of the workflow that hosts it (``NodeWorkflow``): its timeline, its synchronous answer,
    human requests and child run numbers. A protocol, so the runtime does not import the workflow that runs it."""

    def step_started(self, step: dict[str, Any], iteration: int | None) -> Any:
        """Open a timeline record for a step."""

    def step_ended(self, record: Any, status: str, attempts: int, error: dict[str, Any] | None = None) -> None:
        """Close a timeline record."""

    def respond(self, status: int, body: Any, step_id: str) -> dict[str, Any]:
        """Set the synchronous answer."""

    async def assign_request(self, options: AssignRequest) -> RequestOutcome:
        """Ask people to decide and wait until they have."""

    def next_child_number(self) -> int:
        """A sequence number for child run ids."""


class Runner:
    """Runs one definition inside a NodeWorkflow."""

    def __init__(self, host: StepHost, inp: RunInput, state: dict[str, Any],
                 outputs: dict[str, Any], executors: dict[str, Any]) -> None:
        self.host = host
        self.executors = executors
        self.inp = inp
        self.definition: dict[str, Any] = inp.definition or {}
        self.state = state
        self.top = Scope(steps=outputs)
        self.history_limit = spec.history_limit(self.definition)
        self.run_info = {"id": workflow.info().workflow_id, "query": inp.query, "started_by": inp.started_by,
                         "app": inp.app, "definition": self.definition.get("id", ""),
                         "version": inp.definition_version}

    # -- helpers executors use ---------------------------------------------------------------

    def context(self, scope: Scope) -> dict[str, Any]:
        """The names templates see."""
        return {"input": self.inp.data, "steps": scope.steps, "state": self.state, "run": self.run_info,
                **scope.vars}

    def render(self, step: dict[str, Any], name: str, value: Any, scope: Scope) -> Any:
        """Render a field's templates; a failure names the step, the field and the expression."""
        try:
            return render(value, self.context(scope))
        except TemplateFailure as exc:
            raise StepFailed(step["id"], f"{name}: {exc}", "TemplateError", retryable=False) from None

    def render_path(self, step: dict[str, Any], name: str, text: Any, scope: Scope) -> str:
        """Render a URL path: each value is one percent-encoded segment; a failure names the step and field."""
        try:
            return render_path(str(text), self.context(scope))
        except TemplateFailure as exc:
            raise StepFailed(step["id"], f"{name}: {exc}", "InvalidPathValue", retryable=False) from None

    def condition(self, step: dict[str, Any], name: str, text: str, scope: Scope) -> bool:
        """Evaluate a condition of a step."""
        try:
            return is_true(text, self.context(scope))
        except TemplateFailure as exc:
            raise StepFailed(step["id"], f"{name}: {exc}", "TemplateError", retryable=False) from None

    def seconds(self, step: dict[str, Any], name: str, value: Any) -> float:
        """A duration field in seconds; a bad value fails the step."""
        try:
            return spec.duration_seconds(value)
        except ValueError as exc:
            raise StepFailed(step["id"], f"{name}: {exc}", "InvalidValue", retryable=False) from None

    def should_continue_as_new(self) -> bool:
        """True when the history is long enough that a loop should continue as new."""
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self.history_limit

    # -- running -----------------------------------------------------------------------------

    async def run(self, cursor: list[Any] | None) -> Any:
        """Run the definition's steps (from ``cursor`` after continue-as-new) and render its output."""
        await self.run_sequence(self.definition["steps"], self.top, cursor)
        if "output" not in self.definition:
            return self.state
        return self.render({"id": "output"}, "output", self.definition["output"], self.top)

    async def run_sequence(self, steps: list[dict[str, Any]], scope: Scope,
                           resume: list[Any] | None = None) -> Any:
        """Run steps in order; returns the last step's output."""
        start = resume[0] if resume else 0
        output = None
        for index in range(start, len(steps)):
            inner = resume[1:] if resume and index == start else None
            try:
                output = await self.run_step(steps[index], scope, inner)
            except ContinueAsNewNeeded as can:
                can.frames.insert(0, index)
                raise
        return output

    async def run_step(self, step: dict[str, Any], scope: Scope, resume: list[Any] | None = None) -> Any:
        """One step with its timeout, retries and error handler; stores its output for later steps."""
        sid, kind = step["id"], step["kind"]
        record = self.host.step_started(step, scope.vars.get("index"))
        retry = step.get("retry") if kind != "http" else None  # http retries inside its activity
        attempts = 0
        try:
            while True:
                attempts += 1
                try:
                    output = await self._attempt(self.executors[kind], step, scope, resume)
                    if kind == "http" and isinstance(output, dict):  # the activity's own tries
                        attempts = int(output.get("attempts") or attempts)
                    self.host.step_ended(record, "completed", attempts)
                    break
                except StepFailed as failure:
                    error = failure
                    if kind == "http" and failure.attempts:
                        attempts = failure.attempts
                resume = None
                if retry and error.retryable and attempts < int(retry.get("max_attempts", 1)):
                    await workflow.sleep(_backoff(retry, attempts))
                    continue
                if "on_error" not in step:
                    self.host.step_ended(record, "failed", attempts, error.as_value())
                    raise error
                self.host.step_ended(record, "handled", attempts, error.as_value())
                output = await self.run_sequence(step["on_error"], scope.nested(error=error.as_value()))
                break
        except ContinueAsNewNeeded:
            self.host.step_ended(record, "continued_as_new", attempts)
            raise
        except RunSucceeded:
            self.host.step_ended(record, "completed", attempts)
            raise
        except asyncio.CancelledError:
            self.host.step_ended(record, "cancelled", attempts)
            raise
        scope.steps[sid] = {"output": output}
        if step.get("save_as"):
            self.state[step["save_as"]] = output
        return output

    async def _attempt(self, executor: Any, step: dict[str, Any], scope: Scope, resume: list[Any] | None) -> Any:
        timeout = step.get("timeout")
        if timeout is None or step["kind"] == "http":  # http applies its timeout to each request
            return await executor(self, step, scope, resume)
        seconds = self.seconds(step, "timeout", timeout)
        try:
            return await asyncio.wait_for(executor(self, step, scope, resume), seconds)
        except TimeoutError:
            raise StepFailed(step["id"], f"timed out after {timeout}", "Timeout") from None
