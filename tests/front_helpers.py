"""Helpers for the tests of reads answered in front of Flask (``plugin.api.front``): the apps they use, a count of
the requests handed on to Flask, and an answer reduced to what both ways must agree on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

from plugin.config import Settings
from tests.conftest import serve_app

ORIGIN = "https://apps.example.com"
IGNORED = {"Date", "Server"}


@pytest.fixture(scope="module")
def fast_app(settings: Settings, worker) -> Iterator[Flask]:
    """An app with an allowed browser origin (credentials allowed)."""
    yield from serve_app(settings.with_overrides(cors_origins=(ORIGIN,), cors_credentials=True))


@pytest.fixture(scope="module")
def limited_app(settings: Settings, worker) -> Iterator[Flask]:
    """An app allowing 6 requests per user and minute."""
    yield from serve_app(settings.with_overrides(rate_limit_user="6/minute"))


class Counting:
    """What is behind a front layer, counting the requests it is handed (so a test knows which way answered)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app, self.calls = wsgi_app, 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        return self.wsgi_app(environ, start_response)


def ways_through(app: Flask, front: type) -> Iterator[tuple[Client, Client, Counting]]:
    """(a client of the whole app, a client of what is behind the ``front`` layer, the count of requests handed
    behind it), for the length of a fixture."""
    layer = app.wsgi_app
    while not isinstance(layer, front):
        layer = layer.wsgi_app
    behind = layer.wsgi_app
    counting = layer.wsgi_app = Counting(behind)
    try:
        yield Client(app.wsgi_app), Client(behind), counting
    finally:
        layer.wsgi_app = behind


def answer(client: Client, path: str, headers: dict[str, str], address: str) -> tuple[int, bytes, list]:
    """Status, body and headers (sorted, without Date and Server) of a GET from ``address``."""
    response = client.get(path, headers=headers, environ_base={"REMOTE_ADDR": address})
    kept = sorted((k, v) for k, v in response.headers.items() if k not in IGNORED)
    return response.status_code, response.get_data(), kept


def front_ways(front: type) -> tuple[Any, Any]:
    """The ``ways`` and ``limited_ways`` fixtures of a test module (``ways_through`` of ``fast_app`` and of
    ``limited_app``) for the ``front`` layer it tests: ``ways, limited_ways = front_ways(FastReads)``."""

    @pytest.fixture
    def ways(fast_app: Flask) -> Iterator[tuple[Client, Client, Counting]]:
        yield from ways_through(fast_app, front)

    @pytest.fixture
    def limited_ways(limited_app: Flask) -> Iterator[tuple[Client, Client, Counting]]:
        yield from ways_through(limited_app, front)

    return ways, limited_ways
