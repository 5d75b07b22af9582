"""One small workflow per request sent to Slack (``slack-{request id}``, on its own task queue): it keeps
Slack's messages in step with the request, one sync activity at a time, retried with backoff while Slack is
down, apart from the request's run (which never waits for Slack: the request stays decidable in the app, by
link, in Slack once it is back).

The follower (plugin/engine/slack/follower.py) signals it with each stored version of the request
(signal-with-start, so the first change starts it); it ends once the request's final version is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from plugin.engine.slack.sync import SYNC_ACTIVITY, SlackSyncInput

CHANGED_SIGNAL = "request_changed"
# Slack down: tries after 1, 2, 4 ... s, then every 5 minutes, for a day (then the next change tries again).
SLACK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                          maximum_interval=timedelta(minutes=5))
SYNC_TIMEOUT = timedelta(seconds=60)
SYNC_DEADLINE = timedelta(days=1)


@dataclass
class SlackMessagesInput:
    """Which request's messages this run keeps."""

    request_id: str


@dataclass
class RequestChanged:
    """A stored version of the request (``final``: it is no longer pending)."""

    version: int
    final: bool = False


@workflow.defn(name="slack_request_messages")
class SlackRequestMessages:
    """Syncs Slack with each newer version of one request until its final version is shown."""

    def __init__(self) -> None:
        self._wanted = 0
        self._final = False

    @workflow.signal(name=CHANGED_SIGNAL)
    def changed(self, change: RequestChanged) -> None:
        """Remember the newest version to show."""
        self._wanted = max(self._wanted, change.version)
        self._final = self._final or change.final

    @workflow.run
    async def run(self, inp: SlackMessagesInput) -> int:
        """Sync until the final version is shown; the last version synced."""
        synced = 0
        while True:
            await workflow.wait_condition(lambda seen=synced: self._wanted > seen or self._final)
            if self._wanted <= synced:
                return synced
            target = self._wanted
            try:
                await workflow.execute_activity(SYNC_ACTIVITY, SlackSyncInput(inp.request_id, target),
                                                start_to_close_timeout=SYNC_TIMEOUT,
                                                schedule_to_close_timeout=SYNC_DEADLINE, retry_policy=SLACK_RETRY)
            except ActivityError:  # a day of Slack being down or refusing: the next change tries again
                workflow.logger.warning("Slack messages of %s not synced for a day", inp.request_id)
            synced = target
