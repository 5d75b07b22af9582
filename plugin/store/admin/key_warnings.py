"""Start-up rules about keys that believe ``X-Workflows-User`` headers as sent: warnings for those without a host
signature, ``serve``'s refusal to guess the app key's identity, and what ``up``'s dev app key may do."""

from __future__ import annotations

from dataclasses import replace

import redis

from plugin.config import Settings
from plugin.store.admin.keys import KeyStore


def trusted_header_warnings(settings: Settings, client: redis.Redis) -> list[str]:
    """One line per app or admin key in trusted-headers mode without a host signature secret."""
    store = KeyStore(settings, client)
    risky = [f"{k.scope} key from WORKFLOWS_{k.scope.upper()}_KEY" for k in store.bootstrap_keys
             if k.scope == "app" and k.identity.trusts_headers and not k.identity.signature_secret]
    try:
        risky += [f"{r['scope']} key {r['name']!r} (id {r['id']})" for r in store.all()
                  if r["scope"] == "app" and "headers" in r["identity"]["schemes"]
                  and not r["identity"].get("has_signature_secret")]
    except redis.RedisError as exc:
        return [f"WARNING: could not read the stored API keys to check their identity settings: {exc}"]
    return [f"WARNING: the {what} trusts X-Workflows-User / X-Workflows-Groups as sent and has no host signature: "
            "anyone who can edit a request in the browser can act as anyone. Use it only with hosts that fill "
            "these headers on their server (docs/identity.md)." for what in risky]


def serve_refusal(settings: Settings) -> str | None:
    """Why ``serve`` will not start, in one line: an app key whose identity sources were not said (the old default,
    trusted headers, lets a browser name anyone). None when it may start."""
    if settings.app_key and not settings.identity.app_key_identity_given:
        return ("WORKFLOWS_APP_KEY is set but WORKFLOWS_APP_KEY_IDENTITY is not: say how its users are proven "
                "(oidc, proxy, or headers with WORKFLOWS_APP_KEY_HEADERS_SOURCE=server for a host that fills them "
                "on its server); see docs/identity.md")
    return None


def dev_app_key(settings: Settings, generated: bool, loopback: bool) -> Settings:
    """``up``'s settings with its dev app key's identity said out loud (exported to the API as given).

    The app key ``up`` generates, on an API that listens only on loopback, decides through trusted headers: the
    only browser that reaches it is the developer's own, and the sample apps and the README's "Try it" need it.
    Any other app key keeps its settings (a browser-filled headers key then reads and triggers only)."""
    identity = settings.identity
    if generated and loopback and identity.app_key.trusts_headers and not identity.app_key_identity_given:
        identity = replace(identity, app_key=replace(identity.app_key, headers_source="server"))
    return settings.with_overrides(identity=replace(identity, app_key_identity_given=True))


def app_key_mode(settings: Settings) -> str:
    """How ``up``'s banner describes the app key: where its users come from and what it may do."""
    key = settings.identity.app_key
    capabilities = ", ".join(settings.identity.app_capabilities)
    if not key.trusts_headers:
        return f"identity by {', '.join(key.schemes)}; may {capabilities}"
    if key.headers_source == "server":
        return (f"trusts X-Workflows-User headers, a dev key on this machine: may {capabilities}; see "
                "docs/identity.md for real hosts")
    return f"trusts X-Workflows-User headers filled in a browser: may {capabilities}, never decide (docs/identity.md)"
