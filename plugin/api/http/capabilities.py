"""The capability check of each route: 403 naming the capability a key lacks (plugin.identity.capabilities).

Views call ``require`` after ``authenticate``; the check reads only what authentication already set
(``g.key``, ``g.identity``), so it costs nothing.
"""

from __future__ import annotations

from flask import g

from plugin.access.callers import check_capability


def require(capability: str) -> None:
    """Refuse (403, ``details.capability``) unless the key may do this, and, for decisions, cancels and retries,
    unless its user was proven or named by a host's server (never a header a browser can edit). The rule is
    ``plugin.access.callers.check_capability`` (the events edge follows the same)."""
    check_capability(g.key, g.identity, capability)
