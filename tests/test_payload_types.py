"""The dataclasses that cross the workflow boundary (activity, update and workflow inputs and results) keep
evaluated annotations: the SDK's JSON converter calls ``typing.get_type_hints`` on every decode, and string
annotations (``from __future__ import annotations``) are compiled again each time (about 60% of decoding a
request). Every decision and every snapshot decodes them in the API and the worker."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

from plugin import models
from plugin.engine import run_snapshots
from plugin.engine.calls import http_types, sql_types
from plugin.engine.interpreter import workflow as node_workflow

MODULES = (models, run_snapshots, http_types, sql_types, node_workflow)


def payload_dataclasses() -> list[type]:
    return [cls for module in MODULES for _, cls in inspect.getmembers(module, inspect.isclass)
            if dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__]


@pytest.mark.parametrize("cls", payload_dataclasses(), ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_payload_dataclasses_have_evaluated_annotations(cls: type) -> None:
    strings = {name: hint for name, hint in cls.__annotations__.items() if isinstance(hint, str)}
    assert not strings, f"{cls.__qualname__} has string annotations {strings} (`from __future__ import annotations`)"
    typing.get_type_hints(cls)  # and they resolve


def test_the_modules_hold_the_request_and_snapshot_types() -> None:
    names = {cls.__qualname__ for cls in payload_dataclasses()}
    assert {"HumanRequest", "ResolveInput", "RunInput", "SnapshotUpdate", "NodeRunInput", "HttpCall"} <= names
