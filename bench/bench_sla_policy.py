"""What applying an SLA policy costs in workflow code: the business-time arithmetic a request's opening runs.

``.venv/bin/python -m bench.bench_sla_policy [--repeat 2000]``

Pure Python, no services: times ``apply_policy`` (every due, reminder and escalation moment of one request) for a
typical policy (16 business hours on an office calendar with holidays: 3 reminders, 2 levels) and a large one
(400 business hours: 50 reminders, 5 levels, i.e. about ten weeks of working days walked 56 times), and prints the
median and p99 per request. This runs inside the workflow task that opens the request, so it adds to that task.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from plugin.engine.request_options import new_request
from plugin.engine.sla.apply import apply_policy
from plugin.models import AssignRequest

OFFICE = {"time_zone": "Europe/Paris", "hours": {"start": "09:00", "end": "17:00"},
          "holidays": [(date(2026, 1, 1) + timedelta(days=n * 17)).isoformat() for n in range(40)]}
POLICIES = {
    "typical": {"calendar": "office", "due_after": "16h", "remind_every": "4h", "max_reminders": 3,
                "escalations": [{"after": "8h", "to_users": ["a@x.io"]}, {"after": "12h", "to_groups": ["g"]}],
                "at_expiry": {"auto_approve": "Approve"}},
    "large": {"calendar": "office", "due_after": "400h", "remind_every": "7h", "max_reminders": 50,
              "escalations": [{"after": f"{n * 60}h", "to_groups": [f"g{n}"]} for n in range(1, 6)],
              "at_expiry": "expire"},
}


def measure(name: str, repeat: int) -> list[float]:
    """Seconds per request opened under the named policy."""
    pinned = {"policies": POLICIES, "calendars": {"office": OFFICE}, "version": "bench"}
    options = AssignRequest(name="R", resolutions=["Approve", "Reject"], users=["u@x.io"], sla_policy=name)
    start = datetime(2026, 12, 18, 14, 30, tzinfo=UTC)
    took = []
    for n in range(repeat):
        request = new_request(options, f"r:{n}", "r", "q", "req@x.io", start)
        began = time.perf_counter()
        apply_policy(request, pinned, name, start + timedelta(minutes=n))
        took.append(time.perf_counter() - began)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.repeat} requests per policy")
    for name in POLICIES:
        took = sorted(measure(name, args.repeat))
        p99 = took[int(len(took) * 0.99) - 1]
        print(f"{name:8} median {statistics.median(took) * 1e3:.3f} ms  p99 {p99 * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
