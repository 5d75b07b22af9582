"""``workflows-plugin events``: the events edge under uvicorn, on ``WORKFLOWS_HOST:WORKFLOWS_EVENTS_PORT``.

Each open stream is a socket: the process raises its open-file limit to the hard limit first, so ten thousand
streams are not refused by a default soft limit of 1,024.
"""

from __future__ import annotations

import logging
import resource

import uvicorn

from plugin.config import Settings
from plugin.edge.app import create_app

log = logging.getLogger(__name__)


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard limit; returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit above %s: %s", soft, exc)
    return soft


def run_events(settings: Settings) -> None:
    """Serve the events edge until SIGINT or SIGTERM (open streams get a few seconds, then are cut)."""
    files = raise_open_files_limit()
    streams = settings.streams
    if files < streams.max_streams + 64:
        log.warning("the open-files limit (%s) is below WORKFLOWS_EVENTS_MAX_STREAMS (%s): streams past it are "
                    "refused by the kernel", files, streams.max_streams)
    uvicorn.run(create_app(settings), host=settings.host, port=streams.port, http="httptools", loop="asyncio",
                lifespan="on", access_log=False, log_level="warning", backlog=4096, timeout_graceful_shutdown=3,
                timeout_keep_alive=5)
