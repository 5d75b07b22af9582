"""Standard Webhooks signatures (https://www.standardwebhooks.com): ``webhook-id``, ``webhook-timestamp``
and ``webhook-signature`` headers; HMAC-SHA256 over ``id.timestamp.body`` with the ``whsec_`` secret.

Verification is the ``standardwebhooks`` package's: constant-time comparison, a 5-minute tolerance either
way, and any of several space-separated signatures accepted (a sender signs with the old and the new
secret while it rotates them). Every failure is a 401 saying what is wrong.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping

from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from plugin.errors import Unauthorized

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_REASONS = {
    "Message timestamp too old": "webhook-timestamp is more than 5 minutes old; sign the call when you send it",
    "Message timestamp too new": "webhook-timestamp is more than 5 minutes in the future; check the sender's clock",
    "Invalid Signature Headers": "webhook-timestamp must be the Unix time in seconds",
    "No matching signature found": "webhook-signature does not match the body (wrong secret, or the body changed)",
}


def verify_signature(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise Unauthorized unless the headers carry a valid, fresh signature of the body."""
    present = {name: headers.get(name, "") for name in HEADERS}
    missing = [name for name, value in present.items() if not value]
    if missing:
        raise Unauthorized(f"This webhook requires a signature: send the {', '.join(missing)} header(s) "
                           "(Standard Webhooks)", {"headers": missing})
    try:
        Verifier(secret).verify(body, present, json_parse=False)
    except WebhookVerificationError as exc:
        reason = _REASONS.get(str(exc), "The webhook signature is not valid")
        raise Unauthorized(f"Bad signature: {reason}", {"header": "webhook-signature"}) from None
    except UnicodeDecodeError:
        raise Unauthorized("Bad signature: a signed body must be UTF-8 text", {"header": "webhook-signature"}) from None
    except (ValueError, binascii.Error):
        raise Unauthorized("Bad signature: webhook-signature must be 'v1,<base64>' entries separated by spaces",
                           {"header": "webhook-signature"}) from None
