"""Who is calling: the API key (scope), and the end user, proven the way the key says (docs/identity.md).

A key accepts some of: a user token verified against an issuer's JWKS (``X-Workflows-Identity``), an
identity-aware proxy's signed assertion, and trusted ``X-Workflows-User`` / ``X-Workflows-Groups`` headers;
a key with a host signature secret also needs the host's ``X-APPSMITH-SIGNATURE`` on every call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import g, request

from plugin.api.http import abuse_limits
from plugin.api.http.capabilities import require
from plugin.api.services import services
from plugin.errors import BadRequest, Forbidden, PluginError, Unauthorized
from plugin.identity.config import IDENTITY_HEADER
from plugin.identity.host_signature import SIGNATURE_HEADER, verify_host_signature
from plugin.identity.tokens import verify_token
from plugin.models import Identity
from plugin.store.admin.keys import ApiKey

USER_HEADER = "X-Workflows-User"
GROUPS_HEADER = "X-Workflows-Groups"
KEY_HEADER = "X-Workflows-Key"  # the API key, when a proxy (oauth2-proxy) uses Authorization for its token
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")
_GROUP = re.compile(r"^[\w.\- ]{1,100}$")


def _presented_key() -> str:
    explicit = request.headers.get(KEY_HEADER, "").strip()
    if explicit:
        return explicit
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'")
    return token.strip()


def authenticate(scopes: Iterable[str], admit: bool = True) -> None:
    """Check the key against the allowed scopes and the end user's proof; set ``g.key`` and ``g.identity``.

    Failed authentications count against the client address, requests against the key and the user
    (``plugin.api.http.abuse_limits``). With ``admit=False`` the view admits the request itself, joined to its own
    Redis call (``abuse_limits.take_admission``), before it reads or answers anything."""
    target = None
    try:
        presented = _presented_key()
        target = abuse_limits.key_target(presented)
        key = services().keys.lookup(presented)
        if key is None:
            raise Unauthorized("The API key is not valid (unknown, revoked or expired)")
        allowed = tuple(scopes)
        if key.scope not in allowed:
            raise Forbidden(f"A {key.scope} key cannot do this; it needs a {' or '.join(allowed)} key")
        if key.identity.signature_secret:
            verify_host_signature(request.headers.get(SIGNATURE_HEADER), key.identity.signature_secret)
    except PluginError as exc:
        _refused(count_failure=isinstance(exc, Unauthorized), target=target)
        raise
    g.key = key
    try:
        g.identity = _identity(key)
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


def _identity(key: ApiKey) -> Identity:
    user = request.headers.get(USER_HEADER, "").strip()
    groups_raw = request.headers.get(GROUPS_HEADER, "")
    if (user or groups_raw) and key.scope not in ("admin", "app"):
        raise Forbidden(f"{USER_HEADER} and {GROUPS_HEADER} are accepted only with an app or admin key")
    if (user or groups_raw) and not key.identity.trusts_headers:
        named = USER_HEADER if user else GROUPS_HEADER
        raise BadRequest(f"This key does not trust the {named} header: it identifies users by "
                         f"{_accepted(key)}; drop the header", {"header": named})
    proven = _proven(key)
    if proven is not None:
        if user and user.lower() != proven.user:
            raise BadRequest(f"{USER_HEADER} names someone else than the verified token; drop the header",
                             {"header": USER_HEADER})
        return proven
    if user and (len(user) > 254 or not _EMAIL.match(user)):
        raise BadRequest(f"{USER_HEADER} must be an email address, not {user[:60]!r}",
                         {"header": USER_HEADER})
    groups = [part.strip() for part in groups_raw.split(",") if part.strip()]
    bad = [grp for grp in groups if not _GROUP.match(grp)]
    if bad:
        raise BadRequest(f"{GROUPS_HEADER} has invalid group names: {bad[:5]}", {"header": GROUPS_HEADER})
    return Identity(user=user.lower(), groups=groups, is_admin=key.scope == "admin",
                    via="headers" if user else "")


def _proven(key: ApiKey) -> Identity | None:
    """The identity a user token or a proxy assertion proves, when the key accepts one and one is sent."""
    is_admin = key.scope == "admin"
    token = request.headers.get(IDENTITY_HEADER, "").strip()
    if token and key.identity.oidc is None:
        raise BadRequest(f"This key does not accept {IDENTITY_HEADER}: it identifies users by {_accepted(key)}",
                         {"header": IDENTITY_HEADER})
    if token and key.identity.oidc is not None:
        return verify_token(token.removeprefix("Bearer ").strip(), key.identity.oidc, "oidc", is_admin)
    proxy = key.identity.proxy
    if proxy is not None:
        value = request.headers.get(proxy.header, "").strip()
        if proxy.header.lower() == "authorization":
            scheme, _, value = value.partition(" ")
            value = value.strip() if scheme.lower() == "bearer" and request.headers.get(KEY_HEADER) else ""
        if value:
            return verify_token(value, proxy, "proxy", is_admin)
    return None


def _accepted(key: ApiKey) -> str:
    ways = []
    if key.identity.oidc is not None:
        ways.append(f"a user token in {IDENTITY_HEADER}")
    if key.identity.proxy is not None:
        ways.append(f"the proxy's assertion in {key.identity.proxy.header}")
    if key.identity.trusts_headers:
        ways.append(f"the {USER_HEADER} header")
    return " or ".join(ways)


def _no_person() -> Unauthorized | BadRequest:
    """The refusal when a user is needed and none was named: 401 for keys that need proof, else 400."""
    key: ApiKey = g.key
    if not key.identity.trusts_headers:
        proxy_only = key.identity.oidc is None and key.identity.proxy is not None
        header = key.identity.proxy.header if proxy_only and key.identity.proxy else IDENTITY_HEADER
        return Unauthorized(f"Send the end user's proof: this key identifies users by {_accepted(key)}",
                            {"reason": "missing_token", "header": header})
    return BadRequest(f"Name the end user in the {USER_HEADER} header (an email)", {"header": USER_HEADER})


def current_identity(required: bool = False) -> Identity:
    """The caller's identity; with ``required``, an app key must name (or prove) the user."""
    identity: Identity = g.identity
    if required and not identity.user and not identity.is_admin:
        raise _no_person()
    return identity


def acting_person() -> Identity:
    """The identity of a person deciding (resolve, reassign, cancel): always a named user, admin keys too."""
    identity: Identity = g.identity
    if not identity.user:
        raise _no_person()
    return identity


def actor_name() -> str:
    """Who to record as having done something: the user, or the key when no user is named."""
    return g.identity.user or f"key:{g.key.name}"
