"""The follower: reads the request events of the inbox's event stream (``wf:events``: every stored version of
every request, whoever wrote it: the run's publish activity, the API after a decision, a run's end snapshot)
and signals each version of a request routed to Slack to its ``slack_request_messages`` workflow.

A Redis consumer group per task queue (``slack:{task queue}``) shares the events among the worker replicas and
keeps each one until it is acknowledged, so an event whose signal failed (Temporal down) is read again, and the
events a worker that died had read are claimed by another after a minute.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

import redis
from temporalio.client import Client

from plugin.engine.slack.routing import delivery_for
from plugin.engine.slack.workflow import CHANGED_SIGNAL, RequestChanged, SlackMessagesInput, SlackRequestMessages
from plugin.models import PENDING
from plugin.store.events import STREAM, parse_entry
from plugin.store.inbox import Inbox

log = logging.getLogger(__name__)

BLOCK_MS = 1000
BATCH = 100
CLAIM_EVERY = 60.0  # seconds between looks for events a gone worker left unacknowledged
CLAIM_IDLE_MS = 60_000


def slack_task_queue(task_queue: str) -> str:
    """The task queue of the Slack workflows: apart from the runs, so run history and inbox rebuilds skip them."""
    return f"{task_queue}.slack"


class SlackFollower:
    """Turns request events into signals for the per-request Slack workflows."""

    def __init__(self, client: Client, inbox: Inbox, routing: dict[str, Any], task_queue: str) -> None:
        self._client = client
        self._inbox = inbox
        self._redis: redis.Redis = inbox.redis
        self._routing = routing
        self._task_queue = task_queue
        self.group = f"slack:{task_queue}"
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._claimed_at = 0.0

    def _ensure_group(self) -> None:
        try:  # new groups start at the stream's end: events from before the first worker are not replayed
            self._redis.xgroup_create(STREAM, self.group, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Follow until ``stop`` is set; unacknowledged events of this consumer are taken again first."""
        await asyncio.to_thread(self._ensure_group)
        start = "0"  # this consumer's pending events first (a signal that failed before a restart)
        while not stop.is_set():
            try:
                answer = await asyncio.to_thread(self._redis.xreadgroup, self.group, self._consumer,
                                                 {STREAM: start}, BATCH, BLOCK_MS)
                entries = answer[0][1] if answer else []
                if start == "0" and not entries:
                    start = ">"
                entries += await self._orphans()
                for entry_id, fields in entries:
                    if fields:
                        event = parse_entry(entry_id, fields)
                        await self._handle(event.type, event.data)
                    await asyncio.to_thread(self._redis.xack, STREAM, self.group, entry_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis or Temporal down: the events stay pending; try again shortly
                log.exception("Slack follower: events not handled yet")
                start = "0"
                await asyncio.sleep(1)

    async def _orphans(self) -> list:
        """Events another consumer (a worker that is gone) read and never acknowledged, once a minute."""
        now = time.monotonic()
        if now - self._claimed_at < CLAIM_EVERY:
            return []
        self._claimed_at = now
        answer = await asyncio.to_thread(self._redis.xautoclaim, STREAM, self.group, self._consumer,
                                         CLAIM_IDLE_MS, "0-0", BATCH)
        return list(answer[1]) if answer else []

    async def _handle(self, kind: str, data: dict[str, Any]) -> None:
        if not kind.startswith("request.") or "request_id" not in data:
            return
        doc = await asyncio.to_thread(self._inbox.get, data["request_id"])
        if doc is None or delivery_for(self._routing, doc.get("query") or "", doc["name"]) == "off":
            return
        version = max(int(data.get("version") or 0), int(doc["version"]))
        await self._client.start_workflow(
            SlackRequestMessages.run, SlackMessagesInput(doc["id"]), id=f"slack-{doc['id']}",
            task_queue=slack_task_queue(self._task_queue), start_signal=CHANGED_SIGNAL,
            start_signal_args=[RequestChanged(version=version, final=doc["status"] != PENDING)])
