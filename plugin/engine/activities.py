"""Activities: all the I/O workflows do. Each is idempotent, since Temporal may run it more than once."""

from __future__ import annotations

from temporalio import activity

from plugin.engine.models import HumanRequest
from plugin.store.inbox import Inbox


class ReadModelActivities:
    """Activities that keep Redis read models in step with the workflows."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    @activity.defn(name="publish_request")
    def publish_request(self, request: HumanRequest) -> None:
        """Write a request's current version into the inbox (older versions never overwrite newer)."""
        self._inbox.put(request)

    def all(self) -> list:
        """The activity callables, for the worker."""
        return [self.publish_request]
