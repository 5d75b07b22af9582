"""How many runs a worker keeps in memory between their workflow tasks is a setting
(``WORKFLOWS_WORKER_CACHED_RUNS``, default 250: docs/performance.md "Worker memory" has the figures), handed to the
SDK's worker as its ``max_cached_workflows``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from unittest.mock import MagicMock

import pytest

from plugin.config import Settings
from plugin.errors import ConfigError
from plugin.worker import build_worker
from plugin.workspace.loader import Workspace


def test_the_default_and_a_configured_cap_are_read_and_passed_on_to_child_processes() -> None:
    assert Settings.from_env({}).worker_cached_runs == 250
    settings = Settings.from_env({"WORKFLOWS_WORKER_CACHED_RUNS": "40"})
    assert settings.worker_cached_runs == 40
    assert Settings.from_env(settings.to_env()).worker_cached_runs == 40


def test_a_cap_that_is_not_a_count_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="WORKFLOWS_WORKER_CACHED_RUNS"):
        Settings.from_env({"WORKFLOWS_WORKER_CACHED_RUNS": "many"})


def test_the_worker_keeps_at_most_the_configured_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    made: dict = {}
    monkeypatch.setattr("plugin.worker.Worker", lambda client, **kwargs: made.update(kwargs))
    workspace = MagicMock(spec=Workspace, workflows={}, connections={})
    with ThreadPoolExecutor(1) as executor:
        build_worker(MagicMock(), Settings.from_env({"WORKFLOWS_WORKER_CACHED_RUNS": "40"}), workspace, executor,
                     MagicMock())
    assert made["max_cached_workflows"] == 40
