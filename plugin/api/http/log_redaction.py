"""Tokens that travel in URLs are credentials, so the access log never writes them: a webhook's token
(``/hooks/{query}/{token}``), a signed approval link's token (``/approve/{token}``), and a ``?token=`` (the
event stream's token for ``EventSource``, or any other). The path's shape stays readable, the secret goes."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
_HOOK = re.compile(r"(/hooks/[^/?#]+/)[^/?#]+")
_LINK = re.compile(r"(/approve/)[^/?#]+")
_QUERY = re.compile(r"([?&](?:token|access_token|key)=)[^&#]*", re.IGNORECASE)
_MARKERS = ("/hooks/", "/approve/", "token=", "key=", "TOKEN=", "KEY=")


def redact_uri(uri: str) -> str:
    """The URI (or URL) with every token in it replaced by ``[redacted]``."""
    if not uri or not any(marker in uri for marker in _MARKERS):  # the common case, at no cost
        return uri
    uri = _HOOK.sub(rf"\1{REDACTED}", uri)
    uri = _LINK.sub(rf"\1{REDACTED}", uri)
    return _QUERY.sub(rf"\1{REDACTED}", uri)


def redacted_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """A copy of a WSGI environ whose URI, path, query and referer carry no token (for any log format)."""
    out = dict(environ)
    for name in ("RAW_URI", "PATH_INFO", "HTTP_REFERER"):
        if isinstance(out.get(name), str):
            out[name] = redact_uri(out[name])
    if out.get("QUERY_STRING"):
        out["QUERY_STRING"] = redact_uri("?" + out["QUERY_STRING"])[1:]
    return out
