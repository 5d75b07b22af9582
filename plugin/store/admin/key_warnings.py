"""Start-up warnings about keys that believe ``X-Workflows-User`` headers as sent, without a host signature."""

from __future__ import annotations

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
