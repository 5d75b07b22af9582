"""The payload converter of every Temporal client the plugin makes: the SDK's default, with dataclasses encoded and
decoded without the SDK's per-call type analysis.

The SDK's JSON converter encodes a dataclass with ``dataclasses.asdict`` (a deep copy of it, then encoded) and
decodes one with ``value_to_type``, which resolves the class's type hints (``typing.get_type_hints``) on every
call, for the class and each nested one. On a decision that is about 0.5 ms of worker CPU for the run's end
snapshot alone (docs/performance.md, "Decisions (night of 2026-12-08)"). Here:

- **Encoding**: a dataclass becomes a shallow dict of its fields and the JSON encoder walks the rest (nested
  dataclasses come back here). The bytes are the same as the SDK's: same keys, sorted by the SDK's ``dumps``.
- **Decoding** (a ``JSONTypeConverter``, the SDK's hook for this): each dataclass's fields and resolved hints are
  worked out once per class; a field whose hint is ``Any``, ``str``, ``bool``, ``int``, ``float`` or a plain
  ``dict``/``dict[str, Any]`` is checked as ``value_to_type`` checks it; any other hint goes to ``value_to_type``
  itself (which calls back here for nested dataclasses). Errors are the SDK's: a missing required field fails in
  the class's ``__init__``, a value of the wrong type raises ``TypeError``.

Payloads stay plain ``json/plain``: other SDKs, the Temporal UI and older workers read them unchanged.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from typing import Any

from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)

_PLAIN_DICTS = (dict, dict[str, Any], typing.Dict, typing.Dict[str, Any])  # noqa: UP006 - the hints code may use


@functools.lru_cache(maxsize=512)
def _names_of(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


class FastEncoder(AdvancedJSONEncoder):
    """The SDK's encoder, with a dataclass handed over as a shallow dict of its fields (what ``asdict`` gives,
    without copying every nested value first)."""

    def default(self, o: Any) -> Any:
        """A dataclass instance as a dict of its fields; anything else as the SDK encodes it."""
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {name: getattr(o, name) for name in _names_of(type(o))}
        return super().default(o)


def _checked(kind: type | tuple[type, ...], make: Callable[[Any], Any] | None = None) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if not isinstance(value, kind):
            raise TypeError(f"Expected value to be {kind}, was {type(value)}")
        return make(value) if make is not None else value
    return convert


def _any(value: Any) -> Any:
    return value


def _none(value: Any) -> None:
    if value is not None:
        raise TypeError(f"Expected None, got value of type {type(value)}")


def _plain_dict(value: Any) -> Any:
    if not isinstance(value, collections.abc.Mapping):
        raise TypeError(f"Expected dict, value was {type(value)}")
    return dict(value)


Convert = Callable[[Any], Any]
_SIMPLE: dict[Any, Convert] = {
    Any: _any, type(None): _none, str: _checked(str), bool: _checked(bool),
    int: _checked((int, float), int), float: _checked((int, float), float),
    **{hint: _plain_dict for hint in _PLAIN_DICTS},
}


def _union(members: list[Convert], hint: Any) -> Convert:
    def convert(value: Any) -> Any:
        for member in members:  # in order, the first that takes the value (as value_to_type tries them)
            try:
                return member(value)
            except Exception:  # noqa: BLE001,S112 - the next member may take it
                continue
        raise TypeError(f"Failed converting to {hint} from {value}")
    return convert


def _list_of(item: Convert, hint: Any) -> Convert:
    def convert(value: Any) -> list[Any]:
        if not isinstance(value, collections.abc.Iterable):
            raise TypeError(f"Expected {hint}, value was {type(value)}")
        return [item(v) for v in value]
    return convert


def _dict_of(item: Convert, hint: Any) -> Convert:
    def convert(value: Any) -> dict[str, Any]:
        if not isinstance(value, collections.abc.Mapping):
            raise TypeError(f"Expected {hint}, value was {type(value)}")
        return {k: item(v) for k, v in value.items()}
    return convert


@functools.lru_cache(maxsize=1024)
def _converter(hint: Any) -> Convert | None:
    """How to convert a JSON value to ``hint`` as ``value_to_type`` does, for the hints the plugin's dataclasses
    use (None: any other hint, left to ``value_to_type``)."""
    simple = _SIMPLE.get(hint)
    if simple is not None:
        return simple
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return functools.partial(_build, hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        members = [_converter(arg) for arg in args]
        return _union(members, hint) if all(m is not None for m in members) else None  # type: ignore[misc]
    item = _converter(args[-1]) if args else None
    if item is None:
        return None
    if origin is list and len(args) == 1:
        return _list_of(item, hint)
    if origin is dict and args[0] is str:
        return _dict_of(item, hint)
    return None


@functools.lru_cache(maxsize=512)
def _plan(cls: type) -> tuple[tuple[str, bool, Convert | None, Any], ...]:
    """Per field of the dataclass: its name, whether ``__init__`` takes it, its conversion (None: use
    ``value_to_type``) and its resolved hint."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, f.init, _converter_of(hints[f.name]), hints[f.name]) for f in dataclasses.fields(cls))


def _converter_of(hint: Any) -> Convert | None:
    try:
        return _converter(hint)
    except TypeError:  # a hint that cannot be a cache key: value_to_type takes it
        return None


def _build(cls: type, value: Any) -> Any:
    """The dataclass ``cls`` built from its JSON object, as ``value_to_type`` builds it."""
    if not isinstance(value, dict):
        raise TypeError(f"Cannot convert to dataclass {cls}, value is {type(value)} not dict")
    given: dict[str, Any] = {}
    later: dict[str, Any] = {}
    for name, init, convert, hint in _plan(cls):
        if name not in value:  # a missing required field fails in __init__, as with the SDK
            continue
        try:
            converted = convert(value[name]) if convert is not None else value_to_type(hint, value[name], _FAST)
        except Exception as err:
            raise TypeError(f"Failed converting field {name} on dataclass {cls}") from err
        (given if init else later)[name] = converted
    made = cls(**given)
    for name, converted in later.items():  # init=False fields are encoded too: restored as the SDK does
        object.__setattr__(made, name, converted)
    return made


class FastDataclasses(JSONTypeConverter):
    """Decodes dataclasses with a plan made once per class (see the module's docstring)."""

    def to_typed_value(self, hint: type, value: Any) -> Any:
        """The dataclass ``hint`` built from ``value``; ``Unhandled`` for any other hint."""
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return _build(hint, value)
        return JSONTypeConverter.Unhandled


_FAST = [FastDataclasses()]


class PluginPayloadConverter(CompositePayloadConverter):
    """The SDK's default converters, its JSON one with ``FastEncoder`` and ``FastDataclasses``."""

    def __init__(self) -> None:
        super().__init__(*(
            JSONPlainPayloadConverter(encoder=FastEncoder, custom_type_converters=_FAST)
            if isinstance(c, JSONPlainPayloadConverter) else c
            for c in DefaultPayloadConverter.default_encoding_payload_converters))
