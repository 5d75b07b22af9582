"""The plugin's payload converter (plugin.payloads) writes the bytes the SDK's default writes and reads back what
the SDK's default reads, for every dataclass the plugin sends through Temporal, refusing what the SDK refuses; and
the clients use it (the worker's runs go through it: its cache of plans does not grow with runs)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import random
import string
import types
import typing
from typing import Any

import pytest
from temporalio.converter import DataConverter

import plugin
from plugin import payloads
from plugin.payloads import PluginPayloadConverter
from tests.requests_helpers import act, finished, pending_requests, person, start_probe

SDK = DataConverter.default.payload_converter
OURS = PluginPayloadConverter()
SKIP_MODULES = ("plugin.cli", "plugin.embedded", "plugin.wsgi")


def _dataclasses() -> list[type]:
    """Every dataclass defined in the plugin's modules (the payloads are among them)."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(plugin.__path__, "plugin."):
        if info.name.startswith(SKIP_MODULES):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if dataclasses.is_dataclass(cls) and cls.__module__ == info.name:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


class _NotJson(Exception):
    """A hint that is not a JSON value (a settings class holding a connection, say): not a payload."""




def _json(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "int", "float", "bool", "none"] + (["list", "dict"] if depth < 2 else [])
    kind = rng.choice(kinds)
    if kind == "list":
        return [_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "dict":
        return {_text(rng): _json(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return {"str": lambda: _text(rng), "int": lambda: rng.randint(-10**6, 10**6),
            "float": lambda: rng.uniform(-1e3, 1e3), "bool": lambda: rng.random() < 0.5, "none": lambda: None}[kind]()


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + "é✓ \"\\") for _ in range(rng.randint(0, 8)))


def _value(hint: Any, rng: random.Random, depth: int = 0) -> Any:
    """A random value of the type ``hint`` (as the plugin's code would hold it)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return _json(rng)
    if hint is str:
        return _text(rng)
    if hint is bool:
        return rng.random() < 0.5
    if hint is int:
        return rng.randint(-10**6, 10**6)
    if hint is float:
        return rng.uniform(-1e3, 1e3)
    if hint is type(None):
        return None
    if origin in (typing.Union, types.UnionType):
        return _value(rng.choice(args), rng, depth)
    if origin is typing.Literal:
        return rng.choice(args)
    if origin is list:
        return [_value(args[0], rng, depth + 1) for _ in range(rng.randint(0, 2 if depth < 3 else 0))]
    if origin is tuple:
        return tuple(_value(a, rng, depth + 1) for a in args if a is not Ellipsis)
    if origin is dict or hint is dict:
        value_hint = args[1] if args else Any
        return {_text(rng): _value(value_hint, rng, depth + 1) for _ in range(rng.randint(0, 2 if depth < 3 else 0))}
    if dataclasses.is_dataclass(hint):
        return _instance(hint, rng, depth + 1)
    raise _NotJson(hint)


def _instance(cls: type, rng: random.Random, depth: int = 0) -> Any:
    hints = typing.get_type_hints(cls)
    made = cls(**{f.name: _value(hints[f.name], rng, depth) for f in dataclasses.fields(cls) if f.init})
    for f in dataclasses.fields(cls):
        if not f.init:
            object.__setattr__(made, f.name, _value(hints[f.name], rng, depth))
    return made


def _json_hint(hint: Any, seen: frozenset = frozenset()) -> bool:
    """Whether every value of ``hint`` is a JSON value (a dataclass: all its fields)."""
    if hint in (Any, str, bool, int, float, type(None), dict):
        return True
    if dataclasses.is_dataclass(hint):
        return hint in seen or all(_json_hint(h, seen | {hint}) for h in typing.get_type_hints(hint).values())
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return True
    if origin in (typing.Union, types.UnionType, list, tuple):
        return all(a is Ellipsis or _json_hint(a, seen) for a in args)
    return origin is dict and args[0] is str and _json_hint(args[1], seen)


def _payload_like(cls: type) -> bool:
    try:
        return _json_hint(cls)
    except (NameError, TypeError):  # hints that do not resolve at run time
        return False


CLASSES = [cls for cls in _dataclasses() if _payload_like(cls)]


def _decoded(converter: Any, payload: Any, cls: type) -> tuple[str, Any]:
    try:
        return "ok", converter.from_payloads([payload], [cls])[0]
    except Exception as exc:  # noqa: BLE001 - the kind of refusal is what is compared
        return type(exc).__name__, None


def test_the_plugin_has_dataclasses_to_compare():
    names = {cls.__name__ for cls in CLASSES}
    assert {"RunInput", "HumanRequest", "ResolveInput", "RunState", "SnapshotUpdate", "AssignRequest"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__qualname__)
def test_bytes_and_values_are_the_sdks(cls: type):
    rng = random.Random(f"payloads-{cls.__qualname__}")
    for _ in range(60):
        value = _instance(cls, rng)
        [sdk] = SDK.to_payloads([value])
        [ours] = OURS.to_payloads([value])
        assert ours.data == sdk.data
        assert dict(ours.metadata) == dict(sdk.metadata)
        assert _decoded(OURS, sdk, cls) == _decoded(SDK, sdk, cls) == ("ok", value)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__qualname__)
def test_what_the_sdk_refuses_is_refused(cls: type):
    """A field of the wrong type, a missing field, a list or a string for the object: both refuse, or both
    read the same value (``value_to_type`` lets an int stand for a float, say)."""
    rng = random.Random(f"refusals-{cls.__qualname__}")
    names = [f.name for f in dataclasses.fields(cls)]
    for _ in range(40):
        doc = SDK.from_payloads(SDK.to_payloads([_instance(cls, rng)]))[0]
        name = rng.choice(names)
        spoiled = rng.choice([
            {**doc, name: rng.choice([_json(rng), [1, "x"], {"a": 1}, "text", 7, None, True])},
            {k: v for k, v in doc.items() if k != name},
            rng.choice([[doc], "text", 3]),
        ])
        [payload] = SDK.to_payloads([spoiled])
        assert _decoded(OURS, payload, cls) == _decoded(SDK, payload, cls), (name, spoiled)


def test_clients_use_it(app):
    client = app.extensions["workflows"].gateway.call(lambda c: _client_of(c))
    assert client.data_converter.payload_converter_class is PluginPayloadConverter


async def _client_of(client: Any) -> Any:
    return client


def test_the_workers_runs_reuse_their_plans(client):
    """Workflow code runs in the SDK's sandbox: were the plugin's classes made anew for each run, the plans (made
    once per class) would be made again for every run, and the cache would fill with dead classes."""
    def one_run() -> None:
        boss, who = person("boss"), person("r")
        run_id = start_probe(client, who, [{"name": "Only", "users": [boss]}])
        [request] = pending_requests(client, run_id)
        assert act(client, request["id"], boss, resolution="Approve").status_code == 200
        assert finished(client, run_id)["status"] == "completed"
    one_run()
    made = payloads._plan.cache_info()
    for _ in range(3):
        one_run()
    now = payloads._plan.cache_info()
    assert now.hits > made.hits
    assert now.currsize == made.currsize, "new classes met for each run"
