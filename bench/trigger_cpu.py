"""In-process CPU of a trigger: ``POST /api/v1/queries/{name}/runs`` through the API's WSGI callable, against a raw
start of the same run (the SDK's ``start_workflow`` with the same search attributes and memo, through the same
gateway), on the real embedded stack (Temporal, Redis, worker).

No gunicorn and no HTTP client: ``time.process_time`` of this process (every thread: the request, the gateway's
loop, the Temporal client's own threads) over N calls made one after the other, alternating rounds of raw starts,
triggers answered in front of Flask (``plugin.api.queries.fast_trigger``, as served) and the same triggers answered
by Flask (the layer below it), so the differences are what the API adds to a start and what the front saves.
Rounds drain (the worker finishes the runs) before the next one, so no side pays for another's backlog.

Run: .venv/bin/python -m bench.trigger_cpu [--calls 1000] [--rounds 3]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import time
import uuid
from typing import Any

from bench.bench_runs import WORKFLOW, drain, expense
from bench.stack import app_headers, embedded_stack, load_average
from plugin.api import create_app
from plugin.gateway_ops import runs as run_ops
from plugin.models import RunInput

PATH = "/api/v1/queries/submit_expense/runs"


def environ_for(port: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The WSGI environ gunicorn would hand the app for this trigger (the body stream set per call)."""
    environ = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": PATH, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "wsgi.url_scheme": "http", "wsgi.version": (1, 0),
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": f"127.0.0.1:{port}",
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per round and side")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with embedded_stack() as stack:
        settings = stack.settings
        app = create_app(settings)
        headers = app_headers(settings.app_key)
        svc = app.extensions["workflows"]
        statuses: dict[str, int] = {}

        def start_response(status: str, _headers: list, _exc: Any = None) -> None:
            statuses[status] = statuses.get(status, 0) + 1

        def call(wsgi: Any, i: int) -> None:
            body = json.dumps({"input": expense(i)}).encode()
            environ = environ_for(settings.port, headers, body)
            environ["wsgi.input"] = io.BytesIO(body)
            for _ in wsgi(environ, start_response):
                pass

        def trigger(i: int) -> None:
            call(app, i)

        def flask_trigger(i: int) -> None:
            call(app.wsgi_app.wsgi_app, i)  # the layer below the fast triggers: Flask's own answer

        def raw(i: int) -> None:
            inp = RunInput(data=expense(i), query="submit_expense", started_by="emp@example.com")
            spec = run_ops.StartSpec(workflow=WORKFLOW, run_id=f"raw-{uuid.uuid4().hex}",
                                     task_queue=settings.task_queue, inp=inp, memo={"fingerprint": "x" * 64})
            svc.gateway.call(lambda c: run_ops.start_run(c, spec))

        for i in range(50):  # warm every path
            trigger(i)
            flask_trigger(i)
            raw(i)
        asyncio.run(drain(settings))
        figures: dict[str, list[float]] = {"raw": [], "trigger": [], "flask": []}
        print(f"load average at start: {load_average()}")
        for round_no in range(args.rounds):
            for name, one in (("raw", raw), ("trigger", trigger), ("flask", flask_trigger)):
                began = time.process_time()
                for i in range(args.calls):
                    one(i)
                us = (time.process_time() - began) * 1e6 / args.calls
                figures[name].append(us)
                asyncio.run(drain(settings))
            raw_us, trigger_us, flask_us = (figures[name][-1] for name in ("raw", "trigger", "flask"))
            print(f"round {round_no + 1}: raw start {raw_us:.0f} us, trigger {trigger_us:.0f} us "
                  f"(+{trigger_us - raw_us:.0f} us), by Flask {flask_us:.0f} us (+{flask_us - raw_us:.0f} us)  "
                  f"load {load_average()}", flush=True)
        raw_m, trig_m, flask_m = (statistics.median(figures[name]) for name in ("raw", "trigger", "flask"))
        print(f"median CPU per call over {args.rounds} x {args.calls}: raw start {raw_m:.0f} us, trigger "
              f"{trig_m:.0f} us (the API's own {trig_m - raw_m:.0f} us), by Flask {flask_m:.0f} us (the API's own "
              f"{flask_m - raw_m:.0f} us); answers {statuses}")
        svc.gateway.close()


if __name__ == "__main__":
    main()
