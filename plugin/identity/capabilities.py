"""What a key may do: its capabilities, and the rule that a user a browser can edit never decides.

A key's scope says which family of routes it reaches (admin, app, webhook); its capabilities narrow that:

- ``read``: runs, steps, requests, the inbox, live events;
- ``trigger``: start runs of queries;
- ``decide``: resolve and reassign requests;
- ``cancel_retry``: cancel or retry runs, cancel requests;
- ``admin``: settings, keys, secrets, schedules, connections (admin keys only).

``decide`` and ``cancel_retry`` act *as a person*. A key that trusts ``X-Workflows-User`` as sent, from a host
that fills it in the browser (``headers_source: browser``, the default), lets any end user name anyone, so such
a user never decides, cancels or retries: only a user proven by a token or a proxy does, or headers the host
fills on its server (``headers_source: server``).
"""

from __future__ import annotations

from collections.abc import Iterable

from plugin.errors import ValidationFailed
from plugin.identity.config import KeyIdentity

CAPABILITIES = ("read", "trigger", "decide", "cancel_retry", "admin")
ACTING = ("decide", "cancel_retry")  # act as a person: never for a user a browser can edit
_BY_SCOPE = {"admin": CAPABILITIES, "app": ("read", "trigger", "decide", "cancel_retry"), "webhook": ("trigger",)}


def default_capabilities(scope: str, identity: KeyIdentity) -> tuple[str, ...]:
    """What a key of ``scope`` may do when it does not say: an app key whose users come only from headers a
    browser fills reads and triggers; one that can prove (or trust) its users also decides, cancels and retries."""
    allowed = _BY_SCOPE.get(scope, ())
    if scope == "app" and identity.browser_editable and not identity.proves_users:
        return tuple(c for c in allowed if c not in ACTING)
    return allowed


def checked_capabilities(raw: Iterable[str] | None, scope: str, identity: KeyIdentity,
                         field_name: str = "capabilities") -> tuple[str, ...]:
    """The key's capabilities (the defaults when ``raw`` is None); ValidationFailed naming the one it cannot have."""
    if raw is None:
        return default_capabilities(scope, identity)
    given = tuple(dict.fromkeys(raw))
    for capability in given:
        if capability not in CAPABILITIES:
            raise _fail(field_name, f"{capability!r} is not a capability; choose from {list(CAPABILITIES)}.")
        if capability not in _BY_SCOPE.get(scope, ()):
            raise _fail(field_name, f"A {scope} key cannot have {capability!r}.")
        if capability in ACTING and scope == "app" and identity.browser_editable and not identity.proves_users:
            raise _fail(field_name, f"This key cannot {describe(capability)}: its users are named in "
                                    "X-Workflows-User, which a browser can edit. Prove users with a token (oidc or "
                                    "proxy), or set identity.headers_source to 'server' if the host fills the "
                                    "headers on its server.")
    return given


def describe(capability: str) -> str:
    """The capability as words ("cancel or retry")."""
    return {"cancel_retry": "cancel or retry", "admin": "administer"}.get(capability, capability)


def _fail(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid input: {field_name}: {message}", {"fields": {field_name: [message]}})
