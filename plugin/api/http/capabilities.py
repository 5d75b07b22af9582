"""The capability check of each route: 403 naming the capability a key lacks (plugin.identity.capabilities).

Views call ``require`` after ``authenticate``; the check reads only what authentication already set
(``g.key``, ``g.identity``), so it costs nothing.
"""

from __future__ import annotations

from flask import g

from plugin.errors import Forbidden
from plugin.identity.capabilities import ACTING, describe
from plugin.store.admin.keys import ApiKey

USER_HEADER = "X-Workflows-User"


def require(capability: str) -> None:
    """Refuse (403, ``details.capability``) unless the key may do this, and, for decisions, cancels and retries,
    unless its user was proven or named by a host's server (never a header a browser can edit)."""
    key: ApiKey = g.key
    if capability not in key.capabilities:
        have = ", ".join(key.capabilities) or "none"
        raise Forbidden(f"This key may not {describe(capability)} (its capabilities: {have}); an admin can "
                        "change them on the settings page", {"capability": capability})
    if capability in ACTING and key.scope == "app" and g.identity.via == "headers" and key.identity.browser_editable:
        raise Forbidden(f"This key cannot {describe(capability)} as a user named in {USER_HEADER}: the host fills "
                        "that header in the browser, where the user can edit it. Send a user token "
                        "(X-Workflows-Identity), use signed approval links, or have an admin mark the key's headers "
                        "as filled on the host's server", {"capability": capability})
