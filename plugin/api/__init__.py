"""The Flask app factory: settings, services, blueprints, one error handler, generated OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from inspect import CO_COROUTINE
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api

from plugin import finite_json
from plugin.api.http import arguments, input_limits, rate_limits  # arguments first: it installs the parser
from plugin.api.http import metrics as api_metrics
from plugin.api.http.cors import init_cors
from plugin.api.http.errors import register_error_handlers
from plugin.api.openapi.errors import ErrorShapePlugin
from plugin.api.openapi.host import HostFacePlugin
from plugin.api.queries import fast_trigger
from plugin.api.requests import fast_page, fast_resolve
from plugin.api.runs import fast_read
from plugin.api.schemas import ErrorSchema
from plugin.api.services import Services
from plugin.ast_lock import AST_ATTEMPTS, AST_LOCK, is_ast_counter_error
from plugin.config import Settings
from plugin.store.admin.keys import KeyStore
from plugin.store.admin.runtime_settings import RuntimeSettings
from plugin.store.connection import connect as connect_redis
from plugin.store.inbox import Inbox
from plugin.temporal_gateway import TemporalGateway
from plugin.workspace.loader import load_workspaces


class FiniteJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading and writing JSON numbers only (``plugin.finite_json``): a body with NaN or Infinity
    is refused with a 422 naming the field wherever it is read, and no answer carries one (a browser's
    ``JSON.parse`` refuses a whole answer for one)."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize as Flask does; a non-finite number is written as ``null``."""
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return finite_json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse as Flask does; NaN, Infinity or a number too large for a float raises a 422 naming the field
        (not a ValueError, so ``get_json(silent=True)`` does not swallow it as "not JSON")."""
        return finite_json.loads(s, **kwargs)


class PluginFlask(Flask):
    """Flask, telling plain functions from coroutine functions from their code flags (Flask asks ``inspect`` for
    every hook and view on every request), with JSON that holds only JSON numbers."""

    json_provider_class = FiniteJSONProvider

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """A plain function as it is; anything else as Flask decides (an ``async def`` is run to completion)."""
        code = getattr(func, "__code__", None)
        if code is not None and not code.co_flags & CO_COROUTINE and not hasattr(func, "_is_coroutine_marker"):
            return func
        return super().ensure_sync(func)


class PluginApi(Api):
    """flask-smorest's Api, documenting errors in the plugin's one error shape."""

    ERROR_SCHEMA = ErrorSchema


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the API app; tests may hand in settings or ready-made services."""
    for attempt in range(1, AST_ATTEMPTS + 1):
        try:
            with AST_LOCK:  # werkzeug compiles each URL rule through ast (plugin.ast_lock says why this matters)
                return _create_app(settings, services)
        except SystemError as exc:  # CPython 3.11's shared AST counter, upset by something the lock cannot hold
            if not is_ast_counter_error(exc) or attempt == AST_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _create_app(settings: Settings | None, services: Services | None) -> Flask:
    settings = settings or (services.settings if services else Settings.from_env())
    app = PluginFlask(__name__)
    app.config.update(
        API_TITLE="Workflows plugin",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=None,  # /openapi.json is served by plugin.api.openapi.document (servers, typed queries)
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    if services is None:
        client = connect_redis(settings)
        runtime = RuntimeSettings(settings, client)
        services = Services(
            settings=settings,
            workspace=load_workspaces(settings.workspaces),
            gateway=TemporalGateway(settings),
            redis=client,
            inbox=Inbox(client),
            keys=KeyStore(settings, client, runtime),
            runtime=runtime,
        )
    services.init_app(app)
    api_metrics.init_app(app)  # first, so every answer is timed from the start
    input_limits.init_app(app)  # before anything parses a body
    rate_limits.init_app(app, settings)
    arguments.install()
    init_cors(app, settings)

    api = PluginApi(app, spec_kwargs={"extra_plugins": [ErrorShapePlugin(), HostFacePlugin()]})
    from plugin.api.absences import views as absences
    from plugin.api.admin import admin_health, codec, connections, health, keys, secrets, workspaces
    from plugin.api.admin import settings as settings_api
    from plugin.api.analytics import views as analytics
    from plugin.api.decisions import bulk as bulk_decisions
    from plugin.api.decisions import evidence as decision_evidence
    from plugin.api.decisions import export as decision_export
    from plugin.api.events import views as events
    from plugin.api.openapi import document as openapi_doc
    from plugin.api.pages import app_pages, manifest, panels
    from plugin.api.queries import definitions
    from plugin.api.queries import views as queries
    from plugin.api.requests import links
    from plugin.api.requests import views as requests
    from plugin.api.runs import actions as run_actions
    from plugin.api.runs import views as runs
    from plugin.api.slack import interactions as slack_hooks
    from plugin.api.slack import settings as slack_settings
    from plugin.api.triggers import hooks, schedules, webhooks

    for module in (health, queries, definitions, runs, run_actions, requests, hooks, webhooks, schedules, keys,
                   events, api_metrics, connections, secrets, codec, settings_api, admin_health, workspaces,
                   bulk_decisions, decision_evidence, decision_export,
                   absences, analytics, slack_settings, slack_hooks):
        api.register_blueprint(module.bp)
    hooks.document_security(api)
    openapi_doc.init_app(app, api)
    app.register_blueprint(manifest.bp)
    app.register_blueprint(links.bp)  # HTML pages for people, outside the JSON API and its OpenAPI
    app.register_blueprint(panels.bp)
    app.register_blueprint(app_pages.bp)  # the sample apps' pages for the dev host
    register_error_handlers(app)
    fast_page.init_app(app)  # inbox pages in one Redis call, in front of Flask (the same rules, less work)
    fast_read.init_app(app)  # status reads from snapshots, in front of Flask (the same rules, less work)
    fast_trigger.init_app(app)  # plain triggers, in front of Flask (the same rules, less work)
    fast_resolve.init_app(app)  # plain decisions, in front of Flask (the same rules, less work)
    return app
