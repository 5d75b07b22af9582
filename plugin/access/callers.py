"""Who is calling, from a request's headers alone: the API key (scope) and the end user, proven the way the key says.

Both HTTP faces use it: the Flask API (``plugin.api.http.auth`` adds its abuse limits and ``flask.g``) and the
events edge (``plugin.edge``), so a key, a user token or a trusted header means the same on both. A key accepts
some of: a user token verified against an issuer's JWKS (``X-Workflows-Identity``), an identity-aware proxy's
signed assertion, and trusted ``X-Workflows-User`` / ``X-Workflows-Groups`` headers; a key with a host signature
secret also needs the host's ``X-APPSMITH-SIGNATURE`` on every call (docs/identity.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from plugin.errors import BadRequest, Forbidden, Unauthorized
from plugin.identity.capabilities import ACTING, describe
from plugin.identity.config import IDENTITY_HEADER
from plugin.identity.host_signature import SIGNATURE_HEADER, verify_host_signature
from plugin.identity.tokens import verify_token
from plugin.models import Identity
from plugin.store.admin.keys import ApiKey, KeyStore

USER_HEADER = "X-Workflows-User"
GROUPS_HEADER = "X-Workflows-Groups"
KEY_HEADER = "X-Workflows-Key"  # the API key, when a proxy (oauth2-proxy) uses Authorization for its token
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")
_GROUP = re.compile(r"^[\w.\- ]{1,100}$")


class Headers(Protocol):
    """A request's headers, read case-insensitively (Flask's and Starlette's both are)."""

    def get(self, key: str, default: str = ...) -> str | None: ...


def presented_key(headers: Headers) -> str:
    """The API key the request presents; 401 when there is none."""
    explicit = (headers.get(KEY_HEADER) or "").strip()
    if explicit:
        return explicit
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'")
    return token.strip()


def key_of(headers: Headers, keys: KeyStore, scopes: Iterable[str], presented: str | None = None) -> ApiKey:
    """The presented key's grant (``presented``, else read from the headers), checked against the allowed scopes and
    the host signature it requires.

    Raises Unauthorized (an unknown, revoked or expired key, a bad signature) or Forbidden (another scope)."""
    key = keys.lookup(presented or presented_key(headers))
    if key is None:
        raise Unauthorized("The API key is not valid (unknown, revoked or expired)")
    allowed = tuple(scopes)
    if key.scope not in allowed:
        raise Forbidden(f"A {key.scope} key cannot do this; it needs a {' or '.join(allowed)} key")
    if key.identity.signature_secret:
        verify_host_signature(headers.get(SIGNATURE_HEADER), key.identity.signature_secret)
    return key


def identity_of(headers: Headers, key: ApiKey) -> Identity:
    """The end user the request names or proves, by the rules of its key (an empty user when none is named)."""
    user = (headers.get(USER_HEADER) or "").strip()
    groups_raw = headers.get(GROUPS_HEADER) or ""
    if (user or groups_raw) and key.scope not in ("admin", "app"):
        raise Forbidden(f"{USER_HEADER} and {GROUPS_HEADER} are accepted only with an app or admin key")
    if (user or groups_raw) and not key.identity.trusts_headers:
        named = USER_HEADER if user else GROUPS_HEADER
        raise BadRequest(f"This key does not trust the {named} header: it identifies users by "
                         f"{accepted_sources(key)}; drop the header", {"header": named})
    proven = _proven(headers, key)
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


def _proven(headers: Headers, key: ApiKey) -> Identity | None:
    """The identity a user token or a proxy assertion proves, when the key accepts one and one is sent."""
    is_admin = key.scope == "admin"
    token = (headers.get(IDENTITY_HEADER) or "").strip()
    if token and key.identity.oidc is None:
        raise BadRequest(f"This key does not accept {IDENTITY_HEADER}: it identifies users by {accepted_sources(key)}",
                         {"header": IDENTITY_HEADER})
    if token and key.identity.oidc is not None:
        return verify_token(token.removeprefix("Bearer ").strip(), key.identity.oidc, "oidc", is_admin)
    proxy = key.identity.proxy
    if proxy is not None:
        value = (headers.get(proxy.header) or "").strip()
        if proxy.header.lower() == "authorization":
            scheme, _, value = value.partition(" ")
            value = value.strip() if scheme.lower() == "bearer" and headers.get(KEY_HEADER) else ""
        if value:
            return verify_token(value, proxy, "proxy", is_admin)
    return None


def accepted_sources(key: ApiKey) -> str:
    """The identity sources a key accepts, as a person reads them."""
    ways = []
    if key.identity.oidc is not None:
        ways.append(f"a user token in {IDENTITY_HEADER}")
    if key.identity.proxy is not None:
        ways.append(f"the proxy's assertion in {key.identity.proxy.header}")
    if key.identity.trusts_headers:
        ways.append(f"the {USER_HEADER} header")
    return " or ".join(ways)


def no_person(key: ApiKey) -> Unauthorized | BadRequest:
    """The refusal when a user is needed and none was named: 401 for keys that need proof, else 400."""
    if not key.identity.trusts_headers:
        proxy_only = key.identity.oidc is None and key.identity.proxy is not None
        header = key.identity.proxy.header if proxy_only and key.identity.proxy else IDENTITY_HEADER
        return Unauthorized(f"Send the end user's proof: this key identifies users by {accepted_sources(key)}",
                            {"reason": "missing_token", "header": header})
    return BadRequest(f"Name the end user in the {USER_HEADER} header (an email)", {"header": USER_HEADER})


def check_capability(key: ApiKey, identity: Identity, capability: str) -> None:
    """Refuse (403, ``details.capability``) unless the key may do this, and, for decisions, cancels and retries,
    unless its user was proven or named by a host's server (never a header a browser can edit)."""
    if capability not in key.capabilities:
        have = ", ".join(key.capabilities) or "none"
        raise Forbidden(f"This key may not {describe(capability)} (its capabilities: {have}); an admin can "
                        "change them on the settings page", {"capability": capability})
    if capability in ACTING and key.scope == "app" and identity.via == "headers" and key.identity.browser_editable:
        raise Forbidden(f"This key cannot {describe(capability)} as a user named in {USER_HEADER}: the host fills "
                        "that header in the browser, where the user can edit it. Send a user token "
                        "(X-Workflows-Identity), use signed approval links, or have an admin mark the key's headers "
                        "as filled on the host's server", {"capability": capability})


def person_required(key: ApiKey, identity: Identity) -> Identity:
    """The identity, when it names a user or is an admin's; else the refusal that asks for one."""
    if not identity.user and not identity.is_admin:
        raise no_person(key)
    return identity
