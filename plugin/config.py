"""Settings read from ``WORKFLOWS_*`` environment variables, validated once at start-up."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

from plugin import assets
from plugin import config_checks as checks
from plugin.errors import ConfigError
from plugin.identity.settings import IdentitySettings
from plugin.stream_settings import StreamSettings


def _int(env: dict[str, str], name: str, default: int, low: int = 0, high: int = 65535) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range ({low}..{high})")
    return value


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{name}={value} must be greater than zero")
    return value


def _http_url(env: dict[str, str], name: str) -> str | None:
    raw = env.get(name) or None
    if raw and not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={raw!r} must be an http:// or https:// URL")
    return raw


def _allow_hosts(env: dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated ``host`` or ``host:port`` entries (``[v6]:port`` for IPv6)."""
    entries = tuple(e.strip().lower() for e in (env.get(name) or "").split(",") if e.strip())
    for entry in entries:
        host, port = entry, ""
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else rest
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(f"{name}: {entry!r} has a bad port; use host or host:port")
        if not host:
            raise ConfigError(f"{name}: {entry!r} has no host; use host or host:port")
    return entries


def _payload_keys(env: dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated ``key-id:base64-key`` entries, checked (see plugin/codec.py)."""
    from plugin.codec import parse_keys

    entries = tuple(e.strip() for e in (env.get(name) or "").split(",") if e.strip())
    parse_keys(entries, name)
    return entries


_ORIGIN_HOST = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9.\-]+)(:\d{1,5})?$")


def _origins(env: dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated browser origins (``scheme://host[:port]``), ``null`` or ``*``."""
    entries = tuple(e.strip().lower() for e in (env.get(name) or "").split(",") if e.strip())
    for entry in entries:
        scheme, sep, rest = entry.partition("://")
        if entry not in ("null", "*") and (scheme not in ("http", "https") or not _ORIGIN_HOST.match(rest)):
            raise ConfigError(f"{name}: {entry!r} is not an origin; use scheme://host[:port], null or *")
    return entries


def _bool(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={env[name]!r} is not a boolean; use true or false")
def _bind_address(env: dict[str, str], name: str) -> str | None:
    """``host:port`` to listen on, or None when unset."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name}={raw!r} must be host:port, e.g. 127.0.0.1:9464")
    return raw


def _rate_limit(env: dict[str, str], name: str, default: str) -> str | None:
    """A limit such as ``600/minute``; ``off`` for none."""
    raw = (env.get(name) or default).strip()
    if raw.lower() == "off":
        return None
    from limits import parse  # the rate-limit library's own reading of a limit

    try:
        parse(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a rate limit: write it like 600/minute, or off") from None
    return raw


def _workspaces(raw: str | None) -> tuple[Path, ...]:
    """The workspace folders: the configured ones, or every sample app."""
    if raw:
        paths = tuple(Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p)
        for path in paths:
            if not (path / "workspace.json").is_file():
                raise ConfigError(f"WORKFLOWS_WORKSPACE: {path} has no workspace.json")
        return paths
    return assets.sample_workspaces()


WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # listen on every interface: not an address anyone can open


@dataclass(frozen=True)
class Settings:
    """Everything a process of the plugin needs to know, from the environment."""

    data_dir: Path = Path(".workflows-data").resolve()
    host: str = "127.0.0.1"
    port: int = 8787
    workspaces: tuple[Path, ...] = ()
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    temporal_ui_url: str | None = None
    temporal_api_key: str | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    task_queue: str = "workflows-plugin"
    redis_url: str | None = None
    admin_key: str | None = None
    app_key: str | None = None
    api_workers: int = 2
    api_threads: int = 32  # an open event stream holds a thread: 16 streams and 16 request threads per process
    temporal_timeout: float = 10.0
    max_body_bytes: int = 256 * 1024
    notify_url: str | None = None
    # Hosts (``host`` or ``host:port``) http steps may call even though they resolve inside the network.
    http_allow_hosts: tuple[str, ...] = ()
    # Shared by API and worker: request updates carry an HMAC with it, and the worker refuses those without.
    decision_secret: str | None = None
    # Abuse limits (plugin.api.http.abuse_limits), e.g. "1200/minute"; None: no limit. from_env applies the defaults.
    rate_limit_key: str | None = None
    rate_limit_user: str | None = None
    rate_limit_failed_auth: str | None = None
    # failed authentications for one key prefix or one webhook, from every address together (see abuse_limits)
    rate_limit_failed_auth_ceiling: str | None = None
    # Payload encryption keys ``id:base64`` (the first encrypts); empty: payloads are not encrypted.
    payload_keys: tuple[str, ...] = ()
    # The URL hosts reach the API at (servers in /openapi.json, base_url in /manifest.json); else the request's.
    public_url: str | None = None
    # Browser origins allowed to call the API (CORS); ``null`` (sandboxed iframes) only when listed.
    cors_origins: tuple[str, ...] = ()
    cors_credentials: bool = False
    # Who is acting: OIDC defaults, the bootstrap app key's identity sources, approval links (docs/identity.md).
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    # Prometheus: the API's /metrics without a key on this address; the worker's SDK exporter on this one.
    metrics_address: str | None = None
    worker_metrics_address: str | None = None
    # Seconds a stopping worker lets running activities finish (inside the platform's grace period).
    worker_shutdown_grace: float = 50.0
    # Runs the worker keeps in memory between their workflow tasks (the SDK's sticky cache); an evicted run is
    # rebuilt from its history at its next task (docs/production.md, "Worker memory").
    worker_cached_runs: int = 250
    # Workflow tasks a worker runs at once (each holds a thread of the SDK's executor and an activation's memory).
    worker_workflow_tasks: int = 8
    # Keys that encrypt the secrets set through the API, in Redis (plugin.store.admin.shared_secrets); first encrypts.
    secrets_keys: tuple[str, ...] = field(default=(), repr=False)
    # Live event streams: the events edge's port and public URL, caps per user, key and process.
    streams: StreamSettings = field(default_factory=StreamSettings)

    @property
    def effective_temporal_address(self) -> str:
        """Where Temporal is: the configured address or the embedded dev server."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def effective_ui_url(self) -> str:
        """Base URL of the Temporal web UI, for links from run detail."""
        return self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}"

    @property
    def public_base_url(self) -> str:
        """Where people reach the API (links in mails, banners, pages): ``WORKFLOWS_PUBLIC_URL``, else the
        address it listens on. A wildcard listen address (0.0.0.0, ::) is not an address anyone can open, so
        this machine's name stands in for it; set ``WORKFLOWS_PUBLIC_URL`` to the name your users know."""
        public = self.public_url or self.identity.public_url
        if public:
            return public
        host = self.host.strip("[]")
        if host in WILDCARD_HOSTS:
            host = socket.getfqdn() or "127.0.0.1"
            host = "127.0.0.1" if host in ("localhost", "localhost.localdomain") else host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def effective_redis_url(self) -> str:
        """Where Redis is: the configured URL or the embedded server's socket."""
        return self.redis_url or f"unix://{self.data_dir / 'redis.sock'}"

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (used by tests and by ``up``)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read and validate the ``WORKFLOWS_*`` variables; raise ConfigError naming the bad one."""
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("WORKFLOWS_DATA_DIR") or ".workflows-data").expanduser().resolve()
        tls_cert = env.get("WORKFLOWS_TEMPORAL_TLS_CERT")
        tls_key = env.get("WORKFLOWS_TEMPORAL_TLS_KEY")
        if bool(tls_cert) != bool(tls_key):
            raise ConfigError("WORKFLOWS_TEMPORAL_TLS_CERT and WORKFLOWS_TEMPORAL_TLS_KEY must be set together")
        for name in ("WORKFLOWS_ADMIN_KEY", "WORKFLOWS_APP_KEY", "WORKFLOWS_DECISION_SECRET"):
            if env.get(name) and len(env[name]) < 16:
                raise ConfigError(f"{name} is too short: use at least 16 characters")
        cors_origins = _origins(env, "WORKFLOWS_CORS_ORIGINS")
        cors_credentials = _bool(env, "WORKFLOWS_CORS_CREDENTIALS")
        if cors_credentials and {"*", "null"} & set(cors_origins):
            # 'null' is every sandboxed iframe, data: URL and file: page: as open as '*' for credentials
            raise ConfigError("WORKFLOWS_CORS_CREDENTIALS cannot be used with '*' or 'null' in "
                              "WORKFLOWS_CORS_ORIGINS: list the real origins")
        redis_url = env.get("WORKFLOWS_REDIS_URL") or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"WORKFLOWS_REDIS_URL={redis_url!r} must start with redis://, rediss:// or unix://")
        return cls(
            data_dir=data_dir,
            host=env.get("WORKFLOWS_HOST") or "127.0.0.1",
            port=_int(env, "WORKFLOWS_PORT", 8787, 1),
            workspaces=_workspaces(env.get("WORKFLOWS_WORKSPACE")),
            temporal_address=env.get("WORKFLOWS_TEMPORAL_ADDRESS") or None,
            temporal_namespace=env.get("WORKFLOWS_TEMPORAL_NAMESPACE") or "default",
            temporal_port=_int(env, "WORKFLOWS_TEMPORAL_PORT", 7233, 1),
            temporal_ui_port=_int(env, "WORKFLOWS_TEMPORAL_UI_PORT", 8233, 1),
            temporal_ui_url=checks.temporal_ui_url(env),
            temporal_api_key=env.get("WORKFLOWS_TEMPORAL_API_KEY") or None,
            temporal_tls_cert=Path(tls_cert) if tls_cert else None,
            temporal_tls_key=Path(tls_key) if tls_key else None,
            task_queue=env.get("WORKFLOWS_TASK_QUEUE") or "workflows-plugin",
            redis_url=redis_url,
            admin_key=env.get("WORKFLOWS_ADMIN_KEY") or None,
            app_key=env.get("WORKFLOWS_APP_KEY") or None,
            api_workers=_int(env, "WORKFLOWS_API_WORKERS", 2, 1, 64),
            api_threads=_int(env, "WORKFLOWS_API_THREADS", 32, 1, 4096),  # an open event stream holds a thread
            temporal_timeout=_float(env, "WORKFLOWS_TEMPORAL_TIMEOUT", 10.0),
            max_body_bytes=_int(env, "WORKFLOWS_MAX_BODY_BYTES", 256 * 1024, 1024, 64 * 1024 * 1024),
            notify_url=_http_url(env, "WORKFLOWS_NOTIFY_URL"),
            http_allow_hosts=_allow_hosts(env, "WORKFLOWS_HTTP_ALLOW_HOSTS"),
            decision_secret=env.get("WORKFLOWS_DECISION_SECRET") or None,
            rate_limit_key=_rate_limit(env, "WORKFLOWS_RATE_LIMIT_KEY", "12000/minute"),
            rate_limit_user=_rate_limit(env, "WORKFLOWS_RATE_LIMIT_USER", "1200/minute"),
            rate_limit_failed_auth=_rate_limit(env, "WORKFLOWS_RATE_LIMIT_FAILED_AUTH", "30/minute"),
            rate_limit_failed_auth_ceiling=_rate_limit(env, "WORKFLOWS_RATE_LIMIT_FAILED_AUTH_CEILING", "120/minute"),
            payload_keys=_payload_keys(env, "WORKFLOWS_PAYLOAD_KEYS"),
            public_url=(_http_url(env, "WORKFLOWS_PUBLIC_URL") or "").rstrip("/") or None,
            cors_origins=cors_origins,
            cors_credentials=cors_credentials,
            identity=IdentitySettings.from_env(env),
            metrics_address=_bind_address(env, "WORKFLOWS_METRICS_ADDRESS"),
            worker_metrics_address=_bind_address(env, "WORKFLOWS_WORKER_METRICS_ADDRESS"),
            worker_shutdown_grace=checks.seconds(env, "WORKFLOWS_WORKER_SHUTDOWN_GRACE", 50.0, 3600.0),
            worker_cached_runs=_int(env, "WORKFLOWS_WORKER_CACHED_RUNS", 250, 0, 100_000),
            worker_workflow_tasks=_int(env, "WORKFLOWS_WORKER_WORKFLOW_TASKS", 8, 2, 1000),  # 2: the SDK's least
            secrets_keys=checks.secrets_keys(env),
            streams=StreamSettings.from_env(env),
        )

    def to_env(self) -> dict[str, str]:
        """The environment that makes a child process see the same settings."""
        env = {
            "WORKFLOWS_DATA_DIR": str(self.data_dir),
            "WORKFLOWS_HOST": self.host,
            "WORKFLOWS_PORT": str(self.port),
            "WORKFLOWS_WORKSPACE": os.pathsep.join(str(p) for p in self.workspaces),
            "WORKFLOWS_TEMPORAL_ADDRESS": self.effective_temporal_address,
            "WORKFLOWS_TEMPORAL_NAMESPACE": self.temporal_namespace,
            "WORKFLOWS_TEMPORAL_UI_URL": self.effective_ui_url,
            "WORKFLOWS_TASK_QUEUE": self.task_queue,
            "WORKFLOWS_REDIS_URL": self.effective_redis_url,
            "WORKFLOWS_API_WORKERS": str(self.api_workers),
            "WORKFLOWS_API_THREADS": str(self.api_threads),
            "WORKFLOWS_TEMPORAL_TIMEOUT": str(self.temporal_timeout),
            "WORKFLOWS_MAX_BODY_BYTES": str(self.max_body_bytes),
        }
        optional = {
            "WORKFLOWS_ADMIN_KEY": self.admin_key,
            "WORKFLOWS_APP_KEY": self.app_key,
            "WORKFLOWS_TEMPORAL_API_KEY": self.temporal_api_key,
            "WORKFLOWS_NOTIFY_URL": self.notify_url,
            "WORKFLOWS_HTTP_ALLOW_HOSTS": ",".join(self.http_allow_hosts),
            "WORKFLOWS_DECISION_SECRET": self.decision_secret,
            "WORKFLOWS_RATE_LIMIT_KEY": self.rate_limit_key or "off",
            "WORKFLOWS_RATE_LIMIT_USER": self.rate_limit_user or "off",
            "WORKFLOWS_RATE_LIMIT_FAILED_AUTH": self.rate_limit_failed_auth or "off",
            "WORKFLOWS_RATE_LIMIT_FAILED_AUTH_CEILING": self.rate_limit_failed_auth_ceiling or "off",
            "WORKFLOWS_PAYLOAD_KEYS": ",".join(self.payload_keys),
            "WORKFLOWS_PUBLIC_URL": self.public_url,
            "WORKFLOWS_CORS_ORIGINS": ",".join(self.cors_origins),
            "WORKFLOWS_CORS_CREDENTIALS": "true" if self.cors_credentials else None,
            "WORKFLOWS_LINK_SECRET": self.identity.link_secret,
            "WORKFLOWS_APP_KEY_IDENTITY": ",".join(self.identity.app_key.schemes)
            if self.app_key and self.identity.app_key_identity_given else None,
            "WORKFLOWS_APP_KEY_HEADERS_SOURCE": self.identity.app_key.headers_source
            if self.app_key and self.identity.app_key.trusts_headers else None,
            "WORKFLOWS_APP_KEY_CAPABILITIES": ",".join(self.identity.app_key_capabilities or ()),
            "WORKFLOWS_METRICS_ADDRESS": self.metrics_address,
            "WORKFLOWS_WORKER_METRICS_ADDRESS": self.worker_metrics_address,
            "WORKFLOWS_TEMPORAL_TLS_CERT": str(self.temporal_tls_cert) if self.temporal_tls_cert else None,
            "WORKFLOWS_TEMPORAL_TLS_KEY": str(self.temporal_tls_key) if self.temporal_tls_key else None,
            "WORKFLOWS_WORKER_SHUTDOWN_GRACE": f"{self.worker_shutdown_grace:g}",
            "WORKFLOWS_WORKER_CACHED_RUNS": str(self.worker_cached_runs),
            "WORKFLOWS_WORKER_WORKFLOW_TASKS": str(self.worker_workflow_tasks),
            "WORKFLOWS_SECRETS_ENCRYPTION_KEY": ",".join(self.secrets_keys),
        }
        env.update({k: v for k, v in optional.items() if v})
        env.update(self.streams.to_env())
        return env
