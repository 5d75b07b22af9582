"""Helpers for the webhook tests: enable a query's webhook as an admin, sign a body the Standard Webhooks way."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook as Signer

from tests.conftest import ADMIN_KEY, auth


def enable(client, query: str = "runs_lab", **body: Any) -> dict[str, Any]:
    """Enable (afresh) the query's webhook; returns the answer with its token (and secret when signed)."""
    client.delete(f"/api/v1/queries/{query}/webhook", headers=auth(ADMIN_KEY))
    response = client.post(f"/api/v1/queries/{query}/webhook", headers=auth(ADMIN_KEY), json=body)
    assert response.status_code == 201, response.json
    return response.json


def signed_headers(secret: str, body: bytes, msg_id: str | None = None, age: timedelta = timedelta(0),
                   extra_signatures: tuple[str, ...] = ()) -> dict[str, str]:
    """Standard Webhooks headers signing ``body`` with ``secret``, as of ``age`` ago."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = datetime.now(UTC) - age
    signature = Signer(secret).sign(msg_id, at, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join([*extra_signatures, signature])}


def post_hook(client, query: str, token: str | None, data: Any = None, headers: dict[str, str] | None = None,
              in_url: bool = False, raw: bytes | None = None, environ_base: dict[str, str] | None = None):
    """POST a webhook call with the token as Bearer (or in the URL), from ``environ_base``'s address if given."""
    body = raw if raw is not None else json.dumps(data if data is not None else {}).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    path = f"/hooks/{query}"
    if token and in_url:
        path += f"/{token}"
    elif token:
        all_headers["Authorization"] = f"Bearer {token}"
    return client.post(path, data=body, headers=all_headers, environ_base=environ_base or {})
