"""What ``serve`` and ``worker`` check before they start: every thing a process depends on is tried once, and a
wrong setting stops the process with one line naming that setting (no traceback). An operator's first deployment
fails here, at start, instead of later in a log or in every request."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

import redis

from plugin.config import Settings
from plugin.config_checks import placeholder_secret
from plugin.errors import ConfigError
from plugin.store.admin.key_warnings import serve_refusal
from plugin.store.connection import connect as connect_redis

if TYPE_CHECKING:
    from temporalio.client import Client

TEMPORAL_CONNECT_TIMEOUT = 15.0


def check_secrets(environ: Mapping[str, str] | None = None) -> None:
    """Refuse a placeholder secret copied from the examples."""
    problem = placeholder_secret(os.environ if environ is None else environ)
    if problem:
        raise ConfigError(problem)


def check_files(settings: Settings) -> None:
    """Temporal's client certificate and key are readable files."""
    for name, path in (("WORKFLOWS_TEMPORAL_TLS_CERT", settings.temporal_tls_cert),
                       ("WORKFLOWS_TEMPORAL_TLS_KEY", settings.temporal_tls_key)):
        if path is None:
            continue
        if not path.is_file():
            raise ConfigError(f"{name}: {path} does not exist (or is not a file)")
        if not os.access(path, os.R_OK):
            raise ConfigError(f"{name}: {path} cannot be read by this user")


def check_port_free(name: str, address: str | None) -> None:
    """Nothing else listens on ``host:port`` (a port in use would fail later, with a traceback)."""
    if not address:
        return
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, int(port)))
        except OSError as exc:
            why = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
            raise ConfigError(f"{name}: {address} {why}") from None


def _redis_where(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return str(kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}")


def check_redis(settings: Settings) -> redis.Redis:
    """Redis answers PING with the URL's password; the client for the process."""
    client = connect_redis(settings)
    where = _redis_where(client)
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        text = str(exc)
        if "without any password" in text:
            raise ConfigError(f"WORKFLOWS_REDIS_URL: Redis at {where} has no password, but the URL gives one") from None
        if "Authentication required" in text or "NOAUTH" in text:
            raise ConfigError(f"WORKFLOWS_REDIS_URL: Redis at {where} needs a password: put it in the URL "
                              "(redis://:PASSWORD@host:6379/0)") from None
        raise ConfigError(f"WORKFLOWS_REDIS_URL: Redis at {where} refused the password in the URL") from None
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc):
            raise ConfigError(f"WORKFLOWS_REDIS_URL: Redis at {where} needs a password: put it in the URL "
                              "(redis://:PASSWORD@host:6379/0)") from None
        raise ConfigError(f"WORKFLOWS_REDIS_URL: Redis at {where} answered PING with an error: {exc}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        hint = " (rediss://: trust its CA with ?ssl_ca_certs=/path/ca.crt)" if "SSL" in str(exc).upper() else ""
        raise ConfigError(f"WORKFLOWS_REDIS_URL: cannot reach Redis at {where}: {_first_line(exc)}{hint}") from None
    return client


async def check_temporal(settings: Settings, client: Client | None = None) -> Client:
    """Temporal answers at the address and the namespace exists; the connected client."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.service import RPCError, RPCStatusCode

    from plugin.temporal_gateway import connect_client  # here: the events edge checks Redis only, without the SDK

    address = settings.effective_temporal_address
    if client is None:
        try:
            client = await asyncio.wait_for(connect_client(settings), TEMPORAL_CONNECT_TIMEOUT)
        except TimeoutError:
            raise ConfigError(f"WORKFLOWS_TEMPORAL_ADDRESS: Temporal at {address} did not answer within "
                              f"{TEMPORAL_CONNECT_TIMEOUT:g} s") from None
        except Exception as exc:  # the SDK raises RuntimeError with the transport's reason
            raise ConfigError(f"WORKFLOWS_TEMPORAL_ADDRESS: cannot reach Temporal at {address}: "
                              f"{_first_line(exc)}") from None
    namespace = settings.temporal_namespace
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace),
                                                         timeout=timedelta(seconds=TEMPORAL_CONNECT_TIMEOUT))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ConfigError(f"WORKFLOWS_TEMPORAL_NAMESPACE: namespace {namespace!r} does not exist on {address}: "
                              f"create it (temporal operator namespace create --namespace {namespace})") from None
        if exc.status != RPCStatusCode.PERMISSION_DENIED:  # a Cloud key may not describe: polling will tell
            raise ConfigError(f"WORKFLOWS_TEMPORAL_ADDRESS: Temporal at {address} answered "
                              f"{exc.status.name if exc.status else 'an error'}: {_first_line(exc)}") from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def check_process(settings: Settings, role: str) -> tuple[redis.Redis, Client]:
    """Every check for ``serve`` (role ``api``) or ``worker``, in the order an operator fixes them; the Redis
    and Temporal clients they made."""
    if role == "api":
        refusal = serve_refusal(settings)  # never a guessed identity for the app key
        if refusal:
            raise ConfigError(refusal)
    check_secrets()
    check_files(settings)
    if role == "api":
        check_port_free("WORKFLOWS_PORT", f"{settings.host}:{settings.port}")
        check_port_free("WORKFLOWS_METRICS_ADDRESS", settings.metrics_address)
    else:
        check_port_free("WORKFLOWS_WORKER_METRICS_ADDRESS", settings.worker_metrics_address)
    client = check_redis(settings)
    return client, asyncio.run(check_temporal(settings))


def check_events_process(settings: Settings) -> redis.Redis:
    """Every check for ``events`` (the events edge needs Redis, not Temporal); the Redis client it made."""
    check_secrets()
    check_port_free("WORKFLOWS_EVENTS_PORT", f"{settings.host}:{settings.streams.port}")
    return check_redis(settings)
