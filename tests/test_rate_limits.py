"""The app-wide rate limiter: counters in the real Redis, 429 in the error shape with Retry-After."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import Blueprint, Flask

from plugin.api.http import rate_limits
from plugin.api.http.error_details import details_problems
from plugin.api.http.errors import register_error_handlers
from plugin.api.http.rate_limits import keyed, limiter, storage_uri


@pytest.fixture
def limited_app(settings) -> Flask:
    app = Flask(__name__)
    rate_limits.init_app(app, settings)
    register_error_handlers(app)
    scope = f"test-{uuid.uuid4().hex[:8]}"

    @app.post("/hit/<who>")
    def by_hit(who: str):
        rate_limits.hit("2/minute", scope, who)
        return {"ok": True}

    @app.get("/decorated")
    @limiter.limit("1/minute", key_func=keyed(scope, lambda: "same caller"))
    def decorated():
        return {"ok": True}

    return app


def test_the_embedded_redis_socket_is_spelled_the_way_limits_reads_it():
    assert storage_uri("unix:///data/redis.sock") == "redis+unix:///data/redis.sock"
    assert storage_uri("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_hit_allows_the_limit_then_answers_429_with_retry_after_per_identity(limited_app, redis_url):
    client = limited_app.test_client()
    assert [client.post("/hit/ann").status_code for _ in range(2)] == [200, 200]
    over = client.post("/hit/ann")
    assert over.status_code == 429
    assert over.json["error"]["code"] == "rate_limited" and "2 per 1 minute" in over.json["error"]["message"]
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.json["error"]["details"]["retry_after"] == int(over.headers["Retry-After"])
    assert details_problems("rate_limited", over.json["error"]["details"]) == []  # as README's table says
    assert client.post("/hit/bob").status_code == 200  # another identity has its own counter
    assert redis.Redis.from_url(redis_url).keys(f"{rate_limits.KEY_PREFIX}*"), "counters live in Redis"


def test_a_decorated_limit_answers_the_same_error_shape(limited_app):
    client = limited_app.test_client()
    assert client.get("/decorated").status_code == 200
    over = client.get("/decorated")
    assert over.status_code == 429 and over.json["error"]["code"] == "rate_limited"
    assert set(over.json["error"]) == {"code", "message", "details"}
    assert 1 <= int(over.headers["Retry-After"]) <= 60


def test_a_limit_counted_after_the_answer_still_counts(settings):
    app = Flask(__name__)
    rate_limits.init_app(app, settings)
    register_error_handlers(app)
    scope = f"test-{uuid.uuid4().hex[:8]}"

    @app.get("/failing")
    @limiter.limit("1/minute", key_func=keyed(scope, lambda: "same caller"),
                   deduct_when=lambda response: response.status_code >= 500)
    def failing():  # its own name: the shared limiter keeps decorated limits by the view's qualified name
        return {"ok": False}, 503

    client = app.test_client()
    assert client.get("/failing").status_code == 503  # counted after the answer (the limiter's after-request)
    assert client.get("/failing").status_code == 429


def test_a_route_without_a_limit_never_touches_the_limiter(limited_app, monkeypatch):
    def consulted(*args, **kwargs):
        raise AssertionError("the limiter was consulted for a route without a limit")
    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", consulted)
    answer = limited_app.test_client().post("/hit/carol")  # hit() counts by itself, not through the hooks
    assert answer.status_code == 200 and "X-RateLimit-Limit" not in answer.headers


def test_a_blueprint_wide_limit_is_still_checked_before_its_views(settings):
    app = Flask(__name__)
    rate_limits.init_app(app, settings)
    register_error_handlers(app)
    bp = Blueprint(f"limited-{uuid.uuid4().hex[:8]}", __name__)

    @bp.get("/limited")
    def limited():
        return {"ok": True}

    limiter.limit("1/minute", key_func=keyed(bp.name, lambda: "same caller"))(bp)
    app.register_blueprint(bp)
    try:
        client = app.test_client()
        assert client.get("/limited").status_code == 200
        over = client.get("/limited")
        assert over.status_code == 429 and over.json["error"]["code"] == "rate_limited"
    finally:
        limiter.limit_manager._blueprint_limits.pop(bp.name, None)  # the limiter is shared by every app


def test_each_app_counts_in_its_own_redis_whichever_was_made_last(settings, redis_url):
    """Two apps in one process (as in the tests): one made later on a Redis that is down must not make the first
    one's hit and abuse-limit counting fail (they count in their own app's storage)."""
    from plugin.embedded.processes import free_port

    first = Flask(__name__)
    rate_limits.init_app(first, settings)
    register_error_handlers(first)
    scope = f"test-{uuid.uuid4().hex[:8]}"

    @first.post("/hit")
    def by_hit():
        rate_limits.hit("5/minute", scope, "ann")
        rate_limits.check_and_count(rate_limits.Counter("5/minute", scope + "-under", "ann", ""),
                                    [rate_limits.Counter("5/minute", scope + "-count", "ann", "")])
        return {"ok": True}

    later = Flask(__name__)
    rate_limits.init_app(later, settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    assert first.test_client().post("/hit").status_code == 200
    assert rate_limits.strategy(later).storage is not rate_limits.strategy(first).storage


def test_a_decorated_limit_counts_in_its_own_app_s_redis_whichever_was_made_last(settings, redis_url):
    first = Flask(__name__)
    rate_limits.init_app(first, settings)
    register_error_handlers(first)
    scope = f"test-{uuid.uuid4().hex[:8]}"

    @first.get("/decorated-own")
    @limiter.limit("1/minute", key_func=keyed(scope, lambda: "same caller"))
    def decorated_own():
        return {"ok": True}

    other_db = redis_url.rsplit("/", 1)[0] + "/6"
    redis.Redis.from_url(other_db).flushdb()
    later = Flask(__name__)
    rate_limits.init_app(later, settings.with_overrides(redis_url=other_db))
    client = first.test_client()
    assert client.get("/decorated-own").status_code == 200
    assert client.get("/decorated-own").status_code == 429
    assert redis.Redis.from_url(redis_url).keys(f"{rate_limits.KEY_PREFIX}*{scope}*"), "counted in its own Redis"
    assert not redis.Redis.from_url(other_db).keys(f"{rate_limits.KEY_PREFIX}*"), "not in the app made last"
    assert limiter.storage is not None  # outside a request: the app made last, as Flask-Limiter does
