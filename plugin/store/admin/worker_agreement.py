"""Whether the API and the workers agree on the settings both must share: ``WORKFLOWS_DECISION_SECRET`` (the API
signs decisions, the worker's validator checks them) and ``WORKFLOWS_PUBLIC_URL`` (workers sign approval links
that point at the API). Each worker leaves what it uses for its task queue (a fingerprint of its secret, never
the secret; its link base URL), and ``/readyz`` compares them with the API's own: a mismatch means every decision
is refused (403) or every emailed link points elsewhere, so readiness says so instead of ``ok``."""

from __future__ import annotations

import hashlib
import hmac

import redis

from plugin.store.inbox import PREFIX

MARK_PREFIX = f"{PREFIX}worker-agreement:"
NONE = "none"


def fingerprint(secret: str | None) -> str:
    """A short, one-way fingerprint of the secret; ``none`` without one."""
    if not secret:
        return NONE
    return hmac.new(secret.encode(), b"workflows-plugin decision secret fingerprint", hashlib.sha256).hexdigest()[:16]


def publish(client: redis.Redis, task_queue: str, secret: str | None, link_base: str) -> None:
    """A worker on ``task_queue`` says which decision secret it checks and where its links point."""
    client.hset(f"{MARK_PREFIX}{task_queue}", mapping={"decision_secret": fingerprint(secret), "link_base": link_base})


def disagreement(client: redis.Redis, task_queue: str, secret: str | None, link_base: str) -> str | None:
    """Why the API's settings and the workers' differ (one line), or None when they agree or no worker said."""
    raw = client.hgetall(f"{MARK_PREFIX}{task_queue}")
    theirs = {k.decode(): v.decode() for k, v in raw.items()}
    mine = fingerprint(secret)
    if theirs.get("decision_secret", mine) != mine:
        if not secret:
            return "this API has no WORKFLOWS_DECISION_SECRET but the workers check one: every decision is refused"
        if theirs["decision_secret"] == NONE:
            return "the workers have no WORKFLOWS_DECISION_SECRET: set the API's value on them too"
        return "the workers use another WORKFLOWS_DECISION_SECRET than this API: every decision is refused"
    if theirs.get("link_base", link_base) != link_base:
        return (f"the workers sign approval links for {theirs['link_base']}, this API's WORKFLOWS_PUBLIC_URL is "
                f"{link_base}: set the same WORKFLOWS_PUBLIC_URL on both")
    return None
