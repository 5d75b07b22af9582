"""The ``workflows-plugin`` command: ``up`` (everything embedded), ``serve`` (API), ``events`` (the live events
edge), ``worker``."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import click

from plugin.config import Settings
from plugin.errors import ConfigError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None


def _refuse(message: str) -> None:
    """Stop with one line on stderr. No interpreter finalization: the Temporal SDK's Rust runtime threads may
    still be winding down after a failed connect, and finalizing under them aborts (SIGABRT) instead of exit 1."""
    click.echo(f"Error: {message}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def _checked_settings(role: str) -> Settings:
    """The settings, once everything the process depends on answered (else one line and exit 1)."""
    from plugin.cli.startup_checks import check_process

    settings = _settings()
    try:
        check_process(settings, role)
    except ConfigError as exc:
        _refuse(exc.message)
    return settings


@click.group()
@click.version_option(package_name="workflows-plugin", prog_name="workflows-plugin")
def main() -> None:
    """Durable workflows with humans in the loop, on Temporal."""
    from plugin.config_checks import log_level

    try:
        level = log_level(os.environ)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    os.environ["WORKFLOWS_LOG_LEVEL"] = level  # gunicorn and child processes read it too
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
def up() -> None:
    """Start Temporal, Redis, a worker and the API; Ctrl-C stops them all."""
    from plugin.embedded.up import run_up

    code = run_up(_settings())
    # Exit without interpreter finalization: the Temporal SDK's Rust runtime threads may still be winding down
    # (e.g. after a failed connect), and finalizing under them aborts the process (SIGABRT) instead of exit 1.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@main.command()
def serve() -> None:
    """Run the API under gunicorn (set WORKFLOWS_API_WORKERS and WORKFLOWS_API_THREADS)."""
    settings = _checked_settings("api")
    from plugin.store.admin.key_warnings import trusted_header_warnings
    from plugin.store.connection import connect as connect_redis

    for line in trusted_header_warnings(settings, connect_redis(settings)):
        click.echo(line, err=True)
    from plugin.embedded.processes import secure_data_dir

    try:
        secure_data_dir(settings.data_dir)  # 0700, files 0600, and a umask that keeps gunicorn's files so
    except OSError as exc:
        _refuse(f"WORKFLOWS_DATA_DIR: cannot keep {settings.data_dir} private ({exc.strerror}): use a folder "
                "this user owns or may create, e.g. a sub-folder of a mounted volume")
    # Each gunicorn process writes its metrics here; a scrape of any of them reads all (start empty).
    metrics_dir = settings.data_dir / "metrics" / f"api-{settings.port}"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    args = [
        sys.executable, "-m", "gunicorn", "--config", "python:plugin.api.http.gunicorn_conf",
        *_control_socket(settings),
        "--workers", str(settings.api_workers), "--worker-class", "gthread",
        "--threads", str(settings.api_threads), "--bind", f"{settings.host}:{settings.port}",
        # an open event stream is a connection and a thread for its whole life: allow more than the threads
        "--worker-connections", str(max(1000, settings.api_threads + 64)),
        "--graceful-timeout", "10", "--timeout", "60", "--access-logfile", "-", "plugin.wsgi:app",
    ]
    os.execve(sys.executable, args, env)


def _control_socket(settings: Settings) -> list[str]:
    """gunicorn's control socket, one per ``serve`` (by port) in its data dir: the default is one path per user,
    which a second replica on the host would take over (and remove when it stops)."""
    path = settings.data_dir / f"gunicorn-{settings.port}.ctl"
    if len(str(path)) > 100:  # a unix socket path has at most 107 bytes
        return ["--no-control-socket"]
    return ["--control-socket", str(path)]


@main.command()
def events() -> None:
    """Run the events edge: live event streams (GET /api/v1/events) on WORKFLOWS_EVENTS_PORT, beside the API."""
    from plugin.cli.startup_checks import check_events_process
    from plugin.edge.server import run_events

    settings = _settings()
    try:
        check_events_process(settings)
    except ConfigError as exc:
        _refuse(exc.message)
    run_events(settings)


@main.command()
def worker() -> None:
    """Run a worker for the configured workspaces until SIGINT or SIGTERM."""
    from plugin.worker import run_worker

    settings = _checked_settings("worker")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    try:
        asyncio.run(_main())
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None


@main.command()
def reindex() -> None:
    """Rebuild the inbox read model in Redis from the open runs in Temporal."""
    from plugin.readmodel.inbox_rebuild import rebuild_inbox
    from plugin.store.connection import connect as connect_redis
    from plugin.store.inbox import Inbox
    from plugin.temporal_gateway import connect_client

    settings = _settings()

    async def _main() -> int:
        client = await connect_client(settings)
        return await rebuild_inbox(client, Inbox(connect_redis(settings)), settings.task_queue)

    try:
        count = asyncio.run(_main())
    except Exception as exc:  # one line for the person at the terminal
        raise click.ClickException(f"reindex failed: {exc}") from None
    click.echo(f"Inbox rebuilt: {count} requests from open runs on task queue {settings.task_queue!r}")


@main.command()
@click.argument("workspaces", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
def check(workspaces: tuple[Path, ...]) -> None:
    """Validate workspace folders (default: the configured ones); list every problem, exit 1 if any."""
    from plugin.workspace.check import check_workspaces

    folders = [p.resolve() for p in workspaces] or list(_settings().workspaces)
    try:
        allow: tuple[str, ...] = Settings.from_env().http_allow_hosts
    except ConfigError as exc:  # the folders can still be checked; the allow-list is then empty
        click.echo(f"warning: {exc.message}", err=True)
        allow = ()
    report = check_workspaces(folders, allow_hosts=allow)
    for problem in report.problems:
        click.echo(problem, err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.problems:
        click.echo(f"{len(report.problems)} problem(s) in {len(folders)} workspace folder(s)", err=True)
        sys.exit(1)
    click.echo(f"OK: {report.definitions} definition(s), {report.queries} query(ies) in {len(folders)} folder(s)")


def _register_groups() -> None:
    from plugin.cli.keys import keys
    from plugin.cli.panels import panels
    from plugin.cli.samples import samples

    main.add_command(panels)
    main.add_command(samples)
    main.add_command(keys)


_register_groups()
