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


@click.group()
@click.version_option(package_name="workflows-plugin", prog_name="workflows-plugin")
def main() -> None:
    """Durable workflows with humans in the loop, on Temporal."""
    logging.basicConfig(level=os.environ.get("WORKFLOWS_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


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
    settings = _settings()
    from plugin.store.connection import connect as connect_redis
    from plugin.store.key_warnings import trusted_header_warnings

    for line in trusted_header_warnings(settings, connect_redis(settings)):
        click.echo(line, err=True)
    # Each gunicorn process writes its metrics here; a scrape of any of them reads all (start empty).
    metrics_dir = settings.data_dir / "metrics" / f"api-{settings.port}"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    args = [
        sys.executable, "-m", "gunicorn", "--config", "python:plugin.api.http.gunicorn_conf",
        "--workers", str(settings.api_workers), "--worker-class", "gthread",
        "--threads", str(settings.api_threads), "--bind", f"{settings.host}:{settings.port}",
        # an open event stream is a connection and a thread for its whole life: allow more than the threads
        "--worker-connections", str(max(1000, settings.api_threads + 64)),
        "--graceful-timeout", "10", "--timeout", "60", "--access-logfile", "-", "plugin.wsgi:app",
    ]
    os.execve(sys.executable, args, env)


@main.command()
def events() -> None:
    """Run the events edge: live event streams (GET /api/v1/events) on WORKFLOWS_EVENTS_PORT, beside the API."""
    from plugin.edge.server import run_events

    run_events(_settings())


@main.command()
def worker() -> None:
    """Run a worker for the configured workspaces until SIGINT or SIGTERM."""
    from plugin.worker import run_worker

    settings = _settings()

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


def _register_panels() -> None:
    from plugin.panels_cli import panels

    main.add_command(panels)


_register_panels()

if __name__ == "__main__":
    main()
