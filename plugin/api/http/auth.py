"""Who is calling, for Flask views: ``plugin.access.callers`` reads the key and the end user from the headers
(the same rules as the events edge), and this module adds the abuse limits and keeps both in ``flask.g``."""

from __future__ import annotations

from collections.abc import Iterable

from flask import g, request

from plugin.access.callers import identity_of, key_of, no_person, person_required, presented_key
from plugin.api.http import abuse_limits
from plugin.api.http.capabilities import require
from plugin.api.services import services
from plugin.errors import PluginError, Unauthorized
from plugin.models import Identity


def authenticate(scopes: Iterable[str], admit: bool = True) -> None:
    """Check the key against the allowed scopes and the end user's proof; set ``g.key`` and ``g.identity``.

    The rules are ``plugin.access.callers`` (the events edge follows the same). Failed authentications count
    against the client address, requests against the key and the user (``plugin.api.http.abuse_limits``). With
    ``admit=False`` the view admits the request itself, joined to its own Redis call
    (``abuse_limits.take_admission``), before it reads or answers anything."""
    target = None
    allowed = tuple(scopes)
    try:
        presented = presented_key(request.headers)
        target = abuse_limits.key_target(presented)
        key = key_of(request.headers, services().keys, allowed, presented)
    except PluginError as exc:
        _refused(count_failure=isinstance(exc, Unauthorized), target=target)
        raise
    g.key = key
    try:
        g.identity = identity_of(request.headers, key)
        if allowed == ("admin",):
            require("admin")
    except PluginError:
        _refused(count_failure=False, target=target)
        raise
    # The blocked-address check and the key's and user's counts: one Redis call per request.
    if admit:
        abuse_limits.admit_request(key.id or f"bootstrap:{key.name}", g.identity.user, target)
    else:
        abuse_limits.defer_admission(key.id or f"bootstrap:{key.name}", g.identity.user, target)


def _refused(count_failure: bool, target: str | None = None) -> None:
    """A refused authentication: 429 instead when the address is blocked (so no answer tells a valid key from a
    wrong one); a failed one (401) counts against the address and what it aimed at (``target``)."""
    abuse_limits.refuse_blocked_address(target)
    if count_failure:
        abuse_limits.count_failed_auth(target)


def current_identity(required: bool = False) -> Identity:
    """The caller's identity; with ``required``, an app key must name (or prove) the user."""
    identity: Identity = g.identity
    return person_required(g.key, identity) if required else identity


def acting_person() -> Identity:
    """The identity of a person deciding (resolve, reassign, cancel): always a named user, admin keys too."""
    identity: Identity = g.identity
    if not identity.user:
        raise no_person(g.key)
    return identity


def actor_name() -> str:
    """Who to record as having done something: the user, or the key when no user is named."""
    return g.identity.user or f"key:{g.key.name}"
