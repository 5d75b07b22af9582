"""A request's lock lives only as long as its holder: renewed while held, gone a few seconds after the holding
process is killed (a SIGKILLed gunicorn master left decisions blocked for 30 s, then 503)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import redis

from plugin.store.requests.request_locks import RequestLocks
from tests.requests_helpers import act, pending_requests, person, run_detail, start_probe

HOLDER = """
import sys, time
import redis
from plugin.store.requests.request_locks import RequestLocks
token, _ = RequestLocks(redis.Redis.from_url(sys.argv[1])).acquire(sys.argv[2], 5)
print("held" if token else "not held", flush=True)
time.sleep(600)
"""


def test_a_held_lock_outlives_its_ttl_and_is_free_once_released(settings):
    client = redis.Redis.from_url(settings.redis_url)
    locks, other = RequestLocks(client, ttl_ms=600), RequestLocks(client, ttl_ms=600)
    token, _ = locks.acquire("lock-probe-renewed", 0)
    assert token is not None
    time.sleep(1.5)  # two and a half TTLs: only the renewals keep it
    assert other.acquire("lock-probe-renewed", 0)[0] is None, "a held lock must not lapse"
    locks.release("lock-probe-renewed", token)
    again, _ = other.acquire("lock-probe-renewed", 0)
    assert again is not None
    other.release("lock-probe-renewed", again)


def test_a_decision_goes_through_seconds_after_the_lock_holder_is_killed(client, settings):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Killed holder", "users": [boss]}])
    request_id = pending_requests(client, run_id)[0]["id"]
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, settings.redis_url, request_id],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        time.sleep(4)  # the holder's renewals keep the lock past its TTL while it lives
        assert RequestLocks(redis.Redis.from_url(settings.redis_url)).acquire(request_id, 0)[0] is None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    killed = time.monotonic()
    decided = act(client, request_id, boss, resolution="Approve")
    took = time.monotonic() - killed
    assert decided.status_code == 200, decided.json
    assert took < 5, f"the decision waited {took:.1f} s for a dead holder's lock"
    assert run_detail(client, run_id)["requests"][0]["status"] == "resolved"
