"""The registry of code workflows: a decorator that names a workflow class for the query registry."""

from __future__ import annotations

from typing import TypeVar

from temporalio import workflow

T = TypeVar("T", bound=type)

_WORKFLOWS: dict[str, type] = {}


def register_workflow(cls: T) -> T:
    """Register a ``@workflow.defn`` class so queries can name it; apply above ``@workflow.defn``."""
    defn = workflow._Definition.from_class(cls)
    if defn is None or not defn.name:
        raise TypeError(f"{cls.__qualname__} must be decorated with @workflow.defn before @register_workflow")
    existing = _WORKFLOWS.get(defn.name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"Two workflows are registered as {defn.name!r}: {existing.__qualname__}, {cls.__qualname__}")
    _WORKFLOWS[defn.name] = cls
    return cls


def registered_workflows() -> dict[str, type]:
    """Name -> class of every registered workflow."""
    return dict(_WORKFLOWS)
