"""``workflows-plugin up``: start Temporal, Redis, a worker and the API as children, and own them.

Progress goes to stdout as each part starts. Ctrl-C (SIGINT) or SIGTERM stops every child in order; a
child that dies is started again (``plugin.embedded.supervisor``), and ``up`` gives up only when one keeps
dying right after it starts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import signal
import sys
import time
import urllib.request
from dataclasses import replace
from typing import TextIO

import redis

from plugin.config import WILDCARD_HOSTS, Settings
from plugin.embedded.events_child import events_healthy, events_recipe, with_events_url
from plugin.embedded.processes import (
    ManagedProcess,
    StartupError,
    free_port,
    port_in_use,
    reach_host,
    secure_data_dir,
    spawn,
    start_redis,
    start_temporal,
    wait_port_free,
    wait_until,
)
from plugin.embedded.sample_services import start_sample_stubs
from plugin.embedded.supervisor import Recipe, Supervisor
from plugin.gateway_ops.health import poller_identities
from plugin.search_attributes import register_search_attributes
from plugin.store.admin.key_warnings import app_key_mode, dev_app_key
from plugin.store.admin.keys import new_key
from plugin.temporal_gateway import connect_client

_UNIX_PATH_MAX = 100


def bootstrap_keys(settings: Settings) -> Settings:
    """Use the configured keys, or the ones stored in the data dir, or make and store new ones."""
    path = settings.data_dir / "keys.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for scope in ("admin", "app"):
        if scope not in stored:
            stored[scope] = new_key(scope)
            changed = True
    if "decision_secret" not in stored:  # API and worker share it: decisions must come through the API
        stored["decision_secret"] = secrets.token_urlsafe(32)
        changed = True
    if "link_secret" not in stored:  # signs approval links; kept here so links survive a Redis flush
        stored["link_secret"] = secrets.token_urlsafe(48)
        changed = True
    if "secrets_key" not in stored:  # encrypts the secrets set through the API, in Redis
        stored["secrets_key"] = secrets.token_urlsafe(32)
        changed = True
    if changed:
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    identity = replace(settings.identity, link_secret=settings.identity.link_secret or stored["link_secret"])
    return dev_app_key(settings.with_overrides(admin_key=settings.admin_key or stored["admin"],
                                               app_key=settings.app_key or stored["app"],
                                               decision_secret=settings.decision_secret or stored["decision_secret"],
                                               secrets_keys=settings.secrets_keys or (stored["secrets_key"],),
                                               identity=identity),
                       generated=not settings.app_key, loopback=not beyond_loopback(settings.host))


def beyond_loopback(host: str) -> bool:
    """Whether listening on ``host`` lets other machines (or containers) reach the API."""
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: assume it resolves beyond loopback
        return True


def exposure_warning(settings: Settings, generated_keys: bool) -> str | None:
    """A warning when the API listens beyond loopback with keys that ``up`` generated for development."""
    if not beyond_loopback(settings.host) or not generated_keys:
        return None
    return (f"WARNING: the API listens on {settings.host}, beyond this machine, with development keys that `up` "
            f"generated and stored in {settings.data_dir / 'keys.json'}. Anyone who can reach port {settings.port} "
            "and learns a key can use it: set WORKFLOWS_ADMIN_KEY and WORKFLOWS_APP_KEY to your own secrets, or "
            "listen on 127.0.0.1.")


def local_url(settings: Settings) -> str:
    """The API's URL from this machine (a wildcard listen address is reached through loopback)."""
    return f"http://{reach_host(settings.host)}:{settings.port}"


class Stack:
    """The children of one ``up``, in start order."""

    def __init__(self, settings: Settings, out: TextIO) -> None:
        self.settings = settings
        self.out = out
        self.children: list[ManagedProcess] = []
        self.recipes: dict[str, Recipe] = {}  # how the supervisor starts each child again
        self._stopping = False
        self._started = time.monotonic()

    def say(self, line: str) -> None:
        """Progress for the person watching."""
        print(line, file=self.out, flush=True)

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self._started:.1f}s"

    def _check_ports(self) -> None:
        s = self.settings
        wanted = [(s.port, "the API", "WORKFLOWS_PORT"), (s.streams.port, "live events", "WORKFLOWS_EVENTS_PORT")]
        if not s.temporal_address:
            wanted += [(s.temporal_port, "Temporal", "WORKFLOWS_TEMPORAL_PORT"),
                       (s.temporal_ui_port, "the Temporal UI", "WORKFLOWS_TEMPORAL_UI_PORT")]
        for port, what, var in wanted:
            if port_in_use(port):
                raise StartupError(f"Port {port} (for {what}) is already in use: stop what uses it, "
                                   f"or set {var} to a free port")

    def _start_temporal(self) -> None:
        s = self.settings
        if s.temporal_address:
            self.say(f"Temporal: using {s.temporal_address} (WORKFLOWS_TEMPORAL_ADDRESS)")
            try:
                asyncio.run(asyncio.wait_for(self._temporal_answers(), 10))
            except Exception as exc:  # any failure to reach it is the one line the person needs
                raise StartupError(f"Temporal at {s.temporal_address} does not answer ({exc or type(exc).__name__}): "
                                   "start it, or unset WORKFLOWS_TEMPORAL_ADDRESS to use the embedded one") from exc
            return
        self.say(f"Starting Temporal dev server on 127.0.0.1:{s.temporal_port} ...")
        proc = self._own(Recipe("temporal", lambda: start_temporal(
            s.data_dir, s.temporal_port, s.temporal_ui_port, s.data_dir / "logs/temporal.log"),
            lambda _proc: asyncio.run(asyncio.wait_for(self._temporal_answers(), 5))))
        wait_until(proc, lambda: asyncio.run(self._temporal_answers()), 60, "accepting connections")
        self.say(f"  Temporal ready ({self._elapsed()})")

    async def _temporal_answers(self) -> bool:
        client = await connect_client(self.settings)
        await register_search_attributes(client)
        return True

    def _start_redis(self) -> None:
        s = self.settings
        if s.redis_url:
            self.say(f"Redis: using {s.redis_url} (WORKFLOWS_REDIS_URL)")
            try:
                self._ping_redis()
            except redis.RedisError as exc:
                raise StartupError(f"Redis at {s.redis_url} does not answer: {exc}") from exc
            return
        sock = s.data_dir / "redis.sock"
        if len(str(sock)) <= _UNIX_PATH_MAX:
            options: dict = {"unix_socket": sock}
            url = f"unix://{sock}"
        else:  # the socket path would be too long for the kernel; fall back to a loopback port
            options = {"port": free_port()}
            url = f"redis://127.0.0.1:{options['port']}/0"
        self.say(f"Starting Redis ({url}) ...")
        proc = self._own(Recipe("redis", lambda: start_redis(s.data_dir, s.data_dir / "logs/redis.log", **options),
                                lambda _proc: self._ping_redis()))
        self.settings = s.with_overrides(redis_url=url)
        wait_until(proc, self._ping_redis, 30, "answering PING")
        self.say(f"  Redis ready ({self._elapsed()})")

    def _ping_redis(self) -> bool:
        client = redis.Redis.from_url(self.settings.effective_redis_url, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()

    def _start_app(self) -> None:
        s = self.settings
        env = s.to_env()
        logs = s.data_dir / "logs"
        self.say("Starting worker ...")
        self._own(Recipe("worker", lambda: spawn("Worker", [sys.executable, "-m", "plugin.cli", "worker"],
                                                 logs / "worker.log", env), self._worker_polls))

        def launch_api() -> ManagedProcess:
            # A killed API's port must be free again first (its workers die with it, gunicorn_conf).
            if not wait_port_free(s.port, 10):
                raise StartupError(f"Port {s.port} (for the API) is still in use")
            return spawn("API", [sys.executable, "-m", "plugin.cli", "serve"], logs / "api.log", env)

        self.say(f"Starting API on http://{s.host}:{s.port} ...")
        api = self._own(Recipe("api", launch_api, lambda _proc: self._healthy()))
        wait_until(api, self._ready, 90, "ready (GET /readyz)")
        self.say(f"  API ready ({self._elapsed()})")
        self.say(f"Starting live events on {s.streams.public_url} ...")
        edge = self._own(events_recipe(s, env, logs))
        wait_until(edge, lambda: events_healthy(s), 30, "answering /healthz")

    def _own(self, recipe: Recipe) -> ManagedProcess:
        """Start a child and remember how to start it again."""
        proc = recipe.launch()
        self.children.append(proc)
        self.recipes[proc.name] = recipe
        return proc

    def redis_url(self) -> str:
        """Where Redis is (for the supervisor's marks)."""
        return self.settings.effective_redis_url

    def _worker_polls(self, worker: ManagedProcess) -> bool:
        """This worker process polls the task queue (its identity is ``pid@host``)."""
        async def polls() -> bool:
            client = await connect_client(self.settings)
            found = await poller_identities(client, self.settings.task_queue)
            return any(i.startswith(f"{worker.proc.pid}@") for i in found)
        return asyncio.run(asyncio.wait_for(polls(), 5))

    def _healthy(self) -> bool:
        with urllib.request.urlopen(f"{local_url(self.settings)}/healthz", timeout=3) as response:
            return response.status == 200

    def _ready(self) -> bool:
        for child in self.children:
            if not child.alive():
                raise StartupError(f"{child.name} exited with code {child.proc.returncode} while starting; "
                                   f"see {child.log_path}:\n{child.log_tail()}")
        url = f"{local_url(self.settings)}/readyz"
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200

    def start(self) -> None:
        """Start everything or raise StartupError (after stopping what did start)."""
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        self.say(f"workflows-plugin up: data in {s.data_dir}")
        try:
            self._check_ports()
            self._start_temporal()
            self._start_redis()
            self.settings = start_sample_stubs(self)
            self._start_app()
        except BaseException:
            self.stop()
            raise
        self._summary()

    def _summary(self) -> None:
        s = self.settings
        ui = s.effective_ui_url if not s.temporal_address or s.temporal_ui_url else "(set WORKFLOWS_TEMPORAL_UI_URL)"
        workspaces = ", ".join(p.name for p in s.workspaces) or "none"
        self.say("")
        self.say(f"Ready in {self._elapsed()}.")
        base = s.public_base_url
        self.say(f"  API          {base}   (OpenAPI: /openapi.json)")
        self.say(f"  Live events  {s.streams.public_url}/api/v1/events   (stream tokens point there)")
        self.say(f"  Temporal UI  {ui}")
        self.say(f"  Settings     {base}/settings   (sign in with the admin key)")
        self.say(f"  Admin key    {s.admin_key}")
        self.say(f"  App key      {s.app_key}   ({app_key_mode(s)})")
        self.say(f"  Dev host     {base}/#key={s.app_key}&user=ann@example.com   (a demo of the panels: /ui/)")
        if not (s.public_url or s.identity.public_url) and s.host.strip("[]") in WILDCARD_HOSTS:
            self.say(f"  Public URL   not set: links say {base}; set WORKFLOWS_PUBLIC_URL to what users open")
        self.say(f"  Workspaces   {workspaces}")
        self.say(f"  Host face    /manifest.json, /openapi.json (CORS origins: {', '.join(s.cors_origins) or 'none'})")
        self.say(f"  Logs         {s.data_dir / 'logs'}")
        self.say("Press Ctrl-C to stop.")

    def watch(self) -> int:
        """Supervise the children until a signal (plugin.embedded.supervisor). Returns the exit code."""
        return Supervisor(self).watch()

    def stop(self) -> None:
        """Stop the children, newest first (API, worker, then Redis and Temporal)."""
        if self._stopping:
            return
        self._stopping = True
        for child in reversed(self.children):
            child.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_up(settings: Settings, out: TextIO = sys.stdout) -> int:
    """The ``up`` command: start, print, wait, stop."""
    secure_data_dir(settings.data_dir)
    stack = Stack(with_events_url(bootstrap_keys(settings)), out)
    warning = exposure_warning(settings, generated_keys=not (settings.admin_key and settings.app_key))
    if warning:
        stack.say(warning)
    # Signals during start-up must stop the children too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
    except StartupError as exc:
        print(f"error: {exc.message}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        stack.say("Interrupted during start-up: stopped.")
        return 130
    return stack.watch()
