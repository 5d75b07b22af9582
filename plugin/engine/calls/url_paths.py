"""A call through a connection stays under the connection's base URL.

A connection carries credentials, so a path that climbs out of its base URL (``/orders/../admin``) or adds its
own query string (``x?admin=1#``) sends them where the workspace never meant to. Two rules hold that: a value
put into a path becomes exactly one percent-encoded segment (never ``/``, ``.`` or ``..``, even encoded), and
the joined URL is checked again in the activity (scheme, host and the base URL's path prefix unchanged, no dot
segment, no query or fragment: query strings come from the step's ``query`` mapping).

Plain standard library: workflow code (templates, code workflows) imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

_DOTS = (".", "..")
_SHOWN = 60


class PathEscape(ValueError):
    """A value or a path that would leave the connection's base URL; the message says why."""


def _decoded(text: str) -> str:
    """The text percent-decoded until it no longer changes (a server may decode twice)."""
    for _ in range(4):
        plain = unquote(text)
        if plain == text:
            return plain
        text = plain
    return text


def path_segment(value: Any) -> str:
    """One value as one percent-encoded path segment; PathEscape for an empty value, ``/``, ``\\``, ``.``, ``..``."""
    text = value if isinstance(value, str) else str(value)
    shown = repr(text[:_SHOWN])
    if text == "":
        raise PathEscape("is empty, which would name the collection instead of one item")
    plain = _decoded(text)
    if "/" in plain or "\\" in plain:
        raise PathEscape(f"{shown} holds a '/' (or '\\'), so it is not one segment of the path")
    if plain in _DOTS:
        raise PathEscape(f"{shown} is a '.' or '..' segment, which would climb out of the path")
    return quote(text, safe="")


def fill_path(template: str, values: Mapping[str, Any]) -> str:
    """``"/customers/{id}"`` with each value as one segment (for code workflows)."""
    encoded = {}
    for name, value in values.items():
        try:
            encoded[name] = path_segment(value)
        except PathEscape as exc:
            raise PathEscape(f"path value {name!r}: {exc}") from None
    return template.format_map(encoded)


def join_under(base: str, path: str) -> str:
    """The base URL with a relative path, refused (PathEscape) unless the result stays under the base URL."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or path.startswith("//"):
        raise PathEscape(f"the path {path[:200]!r} must be relative to the connection's base URL")
    if "?" in path or "#" in path:
        raise PathEscape(f"the path {path[:200]!r} holds '?' or '#': give query parameters in 'query' (a mapping)")
    plain = _decoded(path)  # as a server that decodes '%2F' and '%2E' before it routes would see it
    if "\\" in plain or any(segment in _DOTS for segment in plain.split("/")):
        raise PathEscape(f"the path {path[:200]!r} holds a '.' or '..' segment (or a '\\'), which would leave "
                         "the connection's base URL")
    url = base if not path else base.rstrip("/") + "/" + path.lstrip("/")
    root, joined = urlsplit(base), urlsplit(url)
    prefix = root.path.rstrip("/")
    if (joined.scheme, joined.netloc) != (root.scheme, root.netloc) or \
            not (joined.path == root.path or joined.path.startswith(prefix + "/")):
        raise PathEscape(f"the path {path[:200]!r} leaves the connection's base URL")
    return url
