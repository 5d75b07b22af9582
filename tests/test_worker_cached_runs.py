"""How many runs a worker keeps in memory between their workflow tasks is a setting
(``WORKFLOWS_WORKER_CACHED_RUNS``, default 250: docs/performance.md "Worker memory" has the figures), handed to the
SDK's worker as its ``max_cached_workflows``; so is how many workflow tasks it runs at once
(``WORKFLOWS_WORKER_WORKFLOW_TASKS``, default 8)."""

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


def test_workflow_tasks_at_once_default_to_eight_and_a_cache_needs_two() -> None:
    assert Settings.from_env({}).worker_workflow_tasks == 8
    assert Settings.from_env(Settings.from_env({"WORKFLOWS_WORKER_WORKFLOW_TASKS": "20"}).to_env()) \
        .worker_workflow_tasks == 20
    with pytest.raises(ConfigError, match="WORKFLOWS_WORKER_WORKFLOW_TASKS=1 is out of range"):
        Settings.from_env({"WORKFLOWS_WORKER_WORKFLOW_TASKS": "1"})


def test_the_worker_keeps_at_most_the_configured_runs_and_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    made: dict = {}
    monkeypatch.setattr("plugin.worker.Worker", lambda client, **kwargs: made.update(kwargs))
    workspace = MagicMock(spec=Workspace, workflows={}, connections={})
    with ThreadPoolExecutor(1) as executor:
        settings = Settings.from_env({"WORKFLOWS_WORKER_CACHED_RUNS": "40", "WORKFLOWS_WORKER_WORKFLOW_TASKS": "5"})
        build_worker(MagicMock(), settings, workspace, executor, MagicMock())
    assert made["max_cached_workflows"] == 40
    assert made["max_concurrent_workflow_tasks"] == 5
