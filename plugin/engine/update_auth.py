"""Proof that a request update (a decision, a reassignment, a cancellation) came through the API.

Anyone who can reach Temporal's port could send ``resolve_request`` with any identity in it. With a secret
shared by the API and the worker (``WORKFLOWS_DECISION_SECRET``; ``up`` makes one), the API puts an HMAC of
the update into its ``mac`` field, and the worker's interceptor refuses, in the update's validator, any update
whose MAC does not match: the refusal leaves no history, like every refused decision.

The MAC covers the update's name and every field of its input but ``mac`` (request id, resolution, identity,
comment, payload, and any field added later), as canonical JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

SIGNED_UPDATES = ("resolve_request", "reassign_request", "cancel_request")


def update_mac(secret: str, update_name: str, arg: Any) -> str:
    """The hex HMAC-SHA256 of the update's name and its input without the ``mac`` field."""
    fields = {k: v for k, v in dataclasses.asdict(arg).items() if k != "mac"}
    text = json.dumps({"update": update_name, "input": fields}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, default=str)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def signed(secret: str | None, update_name: str, arg: Any) -> Any:
    """The update input with its MAC set (unchanged when no secret is configured)."""
    if not secret:
        return arg
    return dataclasses.replace(arg, mac=update_mac(secret, update_name, arg))


def verify(secret: str, update_name: str, arg: Any) -> bool:
    """True when the input carries the MAC the API would have given it."""
    mac = getattr(arg, "mac", "")
    return isinstance(mac, str) and hmac.compare_digest(mac, update_mac(secret, update_name, arg))


class UpdateAuthInterceptor(Interceptor):
    """Install on the worker with the shared secret: request updates without a valid MAC are refused."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        secret = self._secret

        class _Inbound(WorkflowInboundInterceptor):
            def handle_update_validator(self, input: HandleUpdateInput) -> None:
                if input.update in SIGNED_UPDATES and not (input.args and verify(secret, input.update, input.args[0])):
                    workflow.logger.warning("refused %s without a valid API signature", input.update)
                    raise ApplicationError("This change did not come through the Workflows API", type="Forbidden")
                super().handle_update_validator(input)

        return _Inbound
