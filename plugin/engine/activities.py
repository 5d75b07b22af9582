"""Activities: all the I/O workflows do. Each is idempotent, since Temporal may run it more than once."""

from __future__ import annotations

import contextvars
import dataclasses
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from temporalio import activity
from temporalio.exceptions import ApplicationError

from plugin.engine.calls.net_guard import AllowListSource, ForbiddenAddress, Guard, guarded_session
from plugin.engine.delegation import delegates_to_notify
from plugin.identity.links import LINK_KINDS, LinkSigner
from plugin.models import HumanRequest, Notification
from plugin.store.admin.runtime_settings import RuntimeSettings
from plugin.store.inbox import Inbox
from plugin.store.requests.absences import Absences
from plugin.store.snapshots import RunSnapshots

log = logging.getLogger(__name__)

NOTIFICATION_LOG = "wf:notifications"
NOTIFICATION_LOG_SIZE = 1000
NOTIFY_REFUSED = "NotificationRefused"


class ReadModelActivities:
    """Activities that keep Redis read models in step with the workflows, and send notifications."""

    def __init__(self, inbox: Inbox, client: redis.Redis, notify_url: str | None = None,
                 snapshots: RunSnapshots | None = None, links: LinkSigner | None = None,
                 runtime: RuntimeSettings | None = None, guard: Guard | None = None) -> None:
        self._inbox = inbox
        self._absences = Absences(client)
        self._links = links
        self._snapshots = snapshots
        self._redis = client
        self._notify_url = notify_url
        self._runtime = runtime  # when given, the notification URL in force now (changed on the settings page)
        # The same SSRF guard as http steps (the HTTP allow-list of the settings): an admin cannot aim the
        # notifications, which carry live approval links, at the metadata service or another internal host.
        self._guard = guard or Guard(allow_source=AllowListSource(lambda: runtime.current().http_allow_hosts)
                                     if runtime is not None else None)
        self._http = guarded_session(self._guard)

    @activity.defn(name="publish_request")
    def publish_request(self, request: HumanRequest) -> None:
        """Write a request's current version into the inbox (older versions never overwrite newer)."""
        self._inbox.put(request)
        if self._snapshots is not None:  # the run snapshot lists its requests (issue 3)
            self._snapshots.link_request(request.run_id, request.id)

    @activity.defn(name="notify")
    def notify(self, note: Notification) -> None:
        """The notification hook: POST to the notification URL (settings page, else ``WORKFLOWS_NOTIFY_URL``)
        when set, and keep a log in Redis.

        Sent once per request version and kind, however often Temporal retries the activity. It heartbeats
        while it runs (the hook may be slow to answer; a dead worker's notification is retried soon).
        """
        with beating():
            self._send(note)

    def _send(self, note: Notification) -> None:
        # Marked once sent, not claimed before: a worker killed mid-send left a claim that made every retry
        # skip the notification (it was never sent). A retry runs only after Temporal gave up on the attempt
        # before it, so at worst a starved attempt that still answers sends it twice; never zero times.
        dedupe = f"wf:notified:{note.request.id}:{note.kind}:{note.request.version}"
        if self._redis.exists(dedupe):
            return
        # Out of office: the delegates of absent assignees are told too, while the absence lasts.
        delegates = delegates_to_notify(note.request, self._absences.active_of(note.request.users))
        body = {"kind": note.kind, "users": note.recipients_users + [d for d in delegates
                                                                      if d not in note.recipients_users],
                "groups": note.recipients_groups, "request": dataclasses.asdict(note.request)}
        if delegates:
            body["delegates"] = delegates  # delegate -> the absent assignee they stand in for
        if self._links is not None and note.kind in LINK_KINDS and note.request.users:
            # signed approval links, per assignee user and resolution, for hosts that cannot vouch for anyone
            body["links"] = self._links.links_for(note.request, delegates=delegates)
        url = self._runtime.current().notify_url if self._runtime is not None else self._notify_url
        if url:
            self._post(url, body)  # not sent: the retry sends it (it signs the links afresh)
        with self._redis.pipeline() as pipe:
            pipe.set(dedupe, 1, ex=7 * 24 * 3600)
            pipe.lpush(NOTIFICATION_LOG, json.dumps(_logged(body)))
            pipe.ltrim(NOTIFICATION_LOG, 0, NOTIFICATION_LOG_SIZE - 1)
            pipe.execute()

    def _post(self, url: str, body: dict) -> None:
        """POST through the guard, never following a redirect (the links would go wherever it points)."""
        try:
            response = self._http.post(url, json=body, timeout=10, allow_redirects=False)
        except ForbiddenAddress as exc:
            raise ApplicationError(f"the notification URL is refused: {exc}", type=NOTIFY_REFUSED,
                                   non_retryable=True) from None
        if 300 <= response.status_code < 400:
            raise ApplicationError(f"the notification URL answered {response.status_code} (a redirect): "
                                   "notifications never follow redirects; set the final URL",
                                   type=NOTIFY_REFUSED, non_retryable=True)
        response.raise_for_status()

    def all(self) -> list:
        """The activity callables, for the worker."""
        return [self.publish_request, self.notify]


@contextmanager
def beating(every: float = 1.0) -> Iterator[None]:
    """Heartbeat the running activity every ``every`` seconds while the block runs (a sync activity's own thread
    is busy in the block). The workflow sets a heartbeat timeout, so a worker killed mid-call has the activity
    retried within seconds instead of at its start-to-close timeout."""
    if not activity.in_activity():  # called directly (tests, the shell): nobody to beat to
        yield
        return
    done = threading.Event()
    context = contextvars.copy_context()  # the activity's context: the SDK's heartbeat is thread-safe

    def beat() -> None:
        while not done.wait(every):
            context.run(activity.heartbeat)

    activity.heartbeat()
    thread = threading.Thread(target=beat, name="activity-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _logged(body: dict) -> dict:
    """What the notification log keeps: who was sent links for which resolutions, never a live link (anyone
    who reads Redis could decide with it; a retry signs its own)."""
    if "links" not in body:
        return body
    return {**{k: v for k, v in body.items() if k != "links"},
            "links_sent": {user: sorted(by_resolution) for user, by_resolution in body["links"].items()}}
