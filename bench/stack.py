"""Start the embedded stack (Temporal dev server, Redis, worker, API) on free ports for a benchmark."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from plugin.config import Settings
from plugin.embedded.processes import free_port
from plugin.embedded.up import Stack, bootstrap_keys


@contextmanager
def embedded_stack(**overrides: object) -> Iterator[Settings]:
    """Everything ``up`` starts, in a temporary data dir on free ports; yields the settings to reach it."""
    with tempfile.TemporaryDirectory(prefix="workflows-bench-") as tmp:
        base = Settings.from_env({}).with_overrides(
            data_dir=Path(tmp), port=free_port(), temporal_port=free_port(), temporal_ui_port=free_port(),
            rate_limit_key=None, rate_limit_user=None, **overrides)  # throughput is measured, not limits
        base.data_dir.mkdir(parents=True, exist_ok=True)
        stack = Stack(bootstrap_keys(base), io.StringIO())
        stack.start()
        try:
            yield stack.settings
        finally:
            stack.stop()


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of the samples."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
