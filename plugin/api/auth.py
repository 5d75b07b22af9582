"""Who is calling: the API key (scope) and the end user the host names in headers."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import g, request

from plugin.api.services import services
from plugin.engine.models import Identity
from plugin.errors import BadRequest, Forbidden, Unauthorized
from plugin.store.keys import ApiKey

USER_HEADER = "X-Workflows-User"
GROUPS_HEADER = "X-Workflows-Groups"
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")
_GROUP = re.compile(r"^[\w.\- ]{1,100}$")


def authenticate(scopes: Iterable[str]) -> None:
    """Check the Bearer key against the allowed scopes and set ``g.key`` and ``g.identity``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'")
    key = services().keys.lookup(token.strip())
    if key is None:
        raise Unauthorized("The API key is not valid")
    allowed = tuple(scopes)
    if key.scope not in allowed:
        raise Forbidden(f"A {key.scope} key cannot do this; it needs a {' or '.join(allowed)} key")
    g.key = key
    g.identity = _identity(key)


def _identity(key: ApiKey) -> Identity:
    user = request.headers.get(USER_HEADER, "").strip()
    groups_raw = request.headers.get(GROUPS_HEADER, "")
    if (user or groups_raw) and key.scope not in ("admin", "app"):
        raise Forbidden(f"{USER_HEADER} and {GROUPS_HEADER} are accepted only with an app or admin key")
    if user and (len(user) > 254 or not _EMAIL.match(user)):
        raise BadRequest(f"{USER_HEADER} must be an email address, not {user[:60]!r}",
                         {"header": USER_HEADER})
    groups = [part.strip() for part in groups_raw.split(",") if part.strip()]
    bad = [grp for grp in groups if not _GROUP.match(grp)]
    if bad:
        raise BadRequest(f"{GROUPS_HEADER} has invalid group names: {bad[:5]}", {"header": GROUPS_HEADER})
    return Identity(user=user.lower(), groups=groups, is_admin=key.scope == "admin")


def current_identity(required: bool = False) -> Identity:
    """The caller's identity; with ``required``, an app key must name the user."""
    identity: Identity = g.identity
    if required and not identity.user and not identity.is_admin:
        raise BadRequest(f"Name the end user in the {USER_HEADER} header (an email)", {"header": USER_HEADER})
    return identity


def actor_name() -> str:
    """Who to record as having done something: the user, or the key when no user is named."""
    return g.identity.user or f"key:{g.key.name}"
