"""The parser behind every ``@bp.arguments``: one schema instance per schema class, made once.

webargs (under flask-smorest) makes a new instance of a schema given as a class on every request; building a
marshmallow schema (copying its fields) costs more than loading the few arguments it checks. Loading with a
shared instance is safe: ``load`` keeps no state on the schema (flask-smorest shares response schemas the same
way).
"""

from __future__ import annotations

import threading

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


def install() -> None:
    """Make every flask-smorest blueprint parse with ``SchemaReusingParser`` (before blueprints are defined:
    ``@bp.arguments`` binds the parser when it decorates)."""
    if not isinstance(Blueprint.ARGUMENTS_PARSER, SchemaReusingParser):
        Blueprint.ARGUMENTS_PARSER = SchemaReusingParser()


install()  # on import: plugin.api imports this module before any blueprint module
