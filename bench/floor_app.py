"""The floor of a request: one trivial Flask route (no hooks, no Redis), served by ``bench.bench_floor`` under the
same gunicorn settings as ``workflows-plugin serve``."""

from __future__ import annotations

from flask import Flask, Response

app = Flask(__name__)
_BODY = b'{"status": "ok"}'


@app.get("/floor")
def floor() -> Response:
    """A constant JSON body."""
    return Response(_BODY, mimetype="application/json")
