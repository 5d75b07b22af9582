"""Executors of the control-flow steps: set, delay, branch, parallel, foreach, respond, fail, succeed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from temporalio import workflow

from plugin.engine.interpreter.runtime import ContinueAsNewNeeded, Runner, RunSucceeded, Scope, StepFailed

Step = dict[str, Any]


async def run_set(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """Compute values into the state, in order (later values see earlier ones)."""
    out: dict[str, Any] = {}
    for key, value in step["values"].items():
        out[key] = r.state[key] = r.render(step, f"values.{key}", value, scope)
    return out


async def run_delay(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """A durable timer: for a duration, or until a time."""
    if "duration" in step:
        seconds = r.seconds(step, "duration", r.render(step, "duration", step["duration"], scope))
    else:
        raw = r.render(step, "until", step["until"], scope)
        try:
            until = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise StepFailed(step["id"], f"until: {raw!r} is not an ISO 8601 time", "InvalidValue",
                             retryable=False) from None
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        seconds = (until - workflow.now()).total_seconds()
    if seconds > 0:
        await workflow.sleep(seconds)
    return {"waited_seconds": max(seconds, 0.0)}


async def run_branch(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """Run the steps of the first case whose condition holds, else the ``else`` steps."""
    cases = step["cases"]
    if resume:
        taken, inner = resume[0]["case"], resume[1:]
    else:
        inner = None
        taken = next((i for i, case in enumerate(cases) if r.condition(step, f"cases[{i}].if", case["if"], scope)),
                     len(cases))
    if taken < len(cases):
        steps = cases[taken]["steps"]
    elif "else" in step:
        steps = step["else"]
    else:
        return {"case": None, "output": None}
    try:
        output = await r.run_sequence(steps, scope, inner)
    except ContinueAsNewNeeded as can:
        can.frames.insert(0, {"case": taken})
        raise
    return {"case": taken if taken < len(cases) else "else", "output": output}


async def _finish(tasks: list[asyncio.Task]) -> None:
    """Cancel tasks still running and wait until they have ended."""
    for task in tasks:
        if not task.done():
            task.cancel()
    for task in tasks:
        try:
            await task
        except (asyncio.CancelledError, StepFailed, RunSucceeded):
            pass


async def run_parallel(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """Branches at once. ``all``: wait for every branch, fail if any failed. ``first_failure``: fail at the
    first failure, cancelling the rest. ``any``: done at the first success, cancelling the rest."""
    mode = step.get("mode", "all")
    branches = step["branches"]
    tasks = [asyncio.ensure_future(r.run_sequence(b["steps"], scope.nested())) for b in branches]
    outputs: list[Any] = [None] * len(tasks)
    failures: list[dict[str, Any]] = []
    pending = list(tasks)
    try:
        while pending:
            done, pending = await workflow.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                index = tasks.index(task)
                error = task.exception()
                if isinstance(error, StepFailed):
                    failures.append({"branch": index, **error.as_value()})
                    if mode == "first_failure":
                        raise StepFailed(step["id"], f"branch {index} failed: {error.message}", error.error_type,
                                         failures, retryable=error.retryable)
                elif error is not None:
                    raise error
                else:
                    outputs[index] = task.result()
                    if mode == "any":
                        return {"winner": index, "outputs": outputs}
    finally:
        await _finish(tasks)
    if failures:
        what = "every branch" if mode == "any" else f"{len(failures)} of {len(tasks)} branches"
        raise StepFailed(step["id"], f"{what} failed; first: {failures[0]['message']}", failures[0]["type"],
                         failures, retryable=False)
    return {"winner": None, "outputs": outputs}


async def run_foreach(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """The body once per item, at most ``concurrency`` at once; continues as new between items when the
    history grows long (only where that is safe: see Scope.can_continue)."""
    var = step.get("as", "item")
    concurrency = int(step.get("concurrency", 1))
    if resume:
        items, outputs, next_index = resume[0]["items"], resume[0]["outputs"], resume[0]["next"]
    else:
        items = r.render(step, "items", step["items"], scope)
        if not isinstance(items, list):
            raise StepFailed(step["id"], f"items: gives a {type(items).__name__}, not a list", "InvalidValue",
                             retryable=False)
        outputs, next_index = [None] * len(items), 0
    running: list[asyncio.Task] = []
    started: dict[asyncio.Task, int] = {}  # task -> item index
    stopping = False
    try:
        while next_index < len(items) or running:
            while not stopping and len(running) < concurrency and next_index < len(items):
                body = scope.nested(own_steps=True, **{var: items[next_index], "index": next_index})
                task = asyncio.ensure_future(r.run_sequence(step["steps"], body))
                started[task] = next_index
                running.append(task)
                next_index += 1
            if not running:
                break
            done, running = await workflow.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                index = started.pop(task)
                error = task.exception()
                if isinstance(error, StepFailed):
                    raise StepFailed(step["id"], f"item {index} failed: {error.message}", error.error_type,
                                     {"index": index, **error.as_value()}, retryable=error.retryable)
                if error is not None:
                    raise error
                outputs[index] = task.result()
            if scope.can_continue and next_index < len(items) and r.should_continue_as_new():
                stopping = True
    finally:
        await _finish(running)
    if stopping and next_index < len(items):
        raise ContinueAsNewNeeded({"items": items, "outputs": outputs, "next": next_index})
    return outputs


async def run_respond(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """Set the answer a synchronous trigger gets (the first respond wins); the run goes on."""
    status = r.render(step, "status", step.get("status", 200), scope)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise StepFailed(step["id"], f"status: {status!r} is not an HTTP status code", "InvalidValue",
                         retryable=False)
    body = r.render(step, "body", step.get("body"), scope)
    return r.host.respond(status, body, step["id"])


async def run_fail(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """End with an error (an enclosing on_error may still handle it)."""
    message = str(r.render(step, "message", step["message"], scope))
    details = r.render(step, "details", step.get("details"), scope)
    raise StepFailed(step["id"], message, step.get("error_type", "Failed"), details, retryable=False)


async def run_succeed(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """End the run now with an output."""
    raise RunSucceeded(r.render(step, "output", step.get("output"), scope))
