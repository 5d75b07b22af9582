"""flask-smorest's per-request costs, cut once for every blueprint: the parser behind every ``@bp.arguments`` (one
schema instance per schema class, made once), and ``@bp.alt_response`` without a call layer per documented status.

webargs (under flask-smorest) makes a new instance of a schema given as a class on every request; building a
marshmallow schema (copying its fields) costs more than loading the few arguments it checks. Loading with a
shared instance is safe: ``load`` keeps no state on the schema (flask-smorest shares response schemas the same
way).

``@bp.alt_response`` documents a status by wrapping the view in a function that only calls it (through
``ensure_sync``): a view documenting five statuses ran five more Python calls per request (the top own-time line of
py-spy's profile of status reads). Here the documentation is kept and the view is called directly.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from inspect import CO_COROUTINE
from typing import Any

import marshmallow as ma
from flask import Request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser


class SchemaReusingParser(FlaskParser):
    """A FlaskParser that instantiates each schema class once."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._instances: dict[type, ma.Schema] = {}
        self._lock = threading.Lock()

    def _get_schema(self, argmap: object, req: Request) -> ma.Schema:
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._instances.get(argmap)
            if schema is None:
                with self._lock:
                    schema = self._instances.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)  # type: ignore[arg-type]


_DOCUMENT_ALT_RESPONSE = Blueprint.alt_response


def _same_function(func: types.FunctionType) -> types.FunctionType:
    """A new function object running ``func``'s code (same globals, defaults and closure)."""
    copy = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__qualname__, copy.__doc__, copy.__module__ = func.__qualname__, func.__doc__, func.__module__
    copy.__annotations__ = dict(func.__annotations__)
    return copy


def alt_response(self: Blueprint, *args: Any, **kwargs: Any) -> Callable[[Callable], Callable]:
    """``Blueprint.alt_response``: the same documentation, on a copy of the view instead of a wrapper around it
    (a coroutine function, or anything that is not a plain function, keeps flask-smorest's wrapper)."""
    document = _DOCUMENT_ALT_RESPONSE(self, *args, **kwargs)

    def decorator(func: Callable) -> Callable:
        documented = document(func)
        if type(func) is not types.FunctionType or func.__code__.co_flags & CO_COROUTINE:
            return documented
        view = _same_function(func)
        view.__dict__.update(documented.__dict__)  # the documentation, and __wrapped__ as functools.wraps sets it
        return view
    return decorator


def install() -> None:
    """Make every flask-smorest blueprint parse with ``SchemaReusingParser`` and document alternative responses
    without a wrapper (before blueprints are defined: the decorators bind when they decorate)."""
    if not isinstance(Blueprint.ARGUMENTS_PARSER, SchemaReusingParser):
        Blueprint.ARGUMENTS_PARSER = SchemaReusingParser()
    if Blueprint.alt_response is _DOCUMENT_ALT_RESPONSE:
        Blueprint.alt_response = alt_response  # type: ignore[method-assign]


install()  # on import: plugin.api imports this module before any blueprint module
