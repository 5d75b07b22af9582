"""Whether the API and the workers share one ``WORKFLOWS_DECISION_SECRET``: each worker leaves a fingerprint of
its secret (an HMAC of a fixed text, never the secret) for its task queue, and ``/readyz`` compares it with the
API's own. A mismatch means every decision would be refused by the worker's validator (403), so readiness says so
instead of ``ok``."""

from __future__ import annotations

import hashlib
import hmac

import redis

from plugin.store.inbox import PREFIX

MARK_PREFIX = f"{PREFIX}decision-secret:"
NONE = "none"


def fingerprint(secret: str | None) -> str:
    """A short, one-way fingerprint of the secret; ``none`` without one."""
    if not secret:
        return NONE
    return hmac.new(secret.encode(), b"workflows-plugin decision secret fingerprint", hashlib.sha256).hexdigest()[:16]


def publish(client: redis.Redis, task_queue: str, secret: str | None) -> None:
    """A worker on ``task_queue`` says which secret it checks decisions with."""
    client.set(f"{MARK_PREFIX}{task_queue}", fingerprint(secret))


def disagreement(client: redis.Redis, task_queue: str, secret: str | None) -> str | None:
    """Why the API's secret and the workers' differ (one line), or None when they agree or no worker said."""
    theirs = client.get(f"{MARK_PREFIX}{task_queue}")
    if theirs is None or theirs.decode() == fingerprint(secret):
        return None
    if not secret:
        return "this API has no WORKFLOWS_DECISION_SECRET but the workers check one: every decision is refused"
    if theirs.decode() == NONE:
        return "the workers have no WORKFLOWS_DECISION_SECRET: set the API's value on them too"
    return "the workers use another WORKFLOWS_DECISION_SECRET than this API: every decision is refused"
