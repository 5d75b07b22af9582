"""Turn a query's input JSON Schema (a practical subset) into a marshmallow schema.

Supported: ``type`` object/string/number/integer/boolean/array, ``properties``, ``required``,
``additionalProperties: false`` (the default for the top level), ``minimum``/``maximum``,
``exclusiveMinimum``/``exclusiveMaximum``, ``minLength``/``maxLength``, ``enum``, ``format: email``,
``items``, ``minItems``/``maxItems``, ``default`` and ``description``.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from marshmallow import RAISE, Schema, fields, validate

from plugin.errors import ConfigError

_SCALARS = {"string", "number", "integer", "boolean", "object", "array"}
_KNOWN_KEYS = {
    "type", "properties", "required", "additionalProperties", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "enum", "format", "items", "minItems", "maxItems",
    "default", "description", "title", "$schema",
}


class StrictNumber(fields.Float):
    """A JSON number: strings and booleans are refused, not coerced."""

    default_error_messages = {"invalid": "Not a valid number."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _range(spec: dict[str, Any]) -> list[validate.Validator]:
    out: list[validate.Validator] = []
    if "minimum" in spec or "maximum" in spec:
        out.append(validate.Range(min=spec.get("minimum"), max=spec.get("maximum")))
    if "exclusiveMinimum" in spec or "exclusiveMaximum" in spec:
        out.append(validate.Range(min=spec.get("exclusiveMinimum"), max=spec.get("exclusiveMaximum"),
                                  min_inclusive=False, max_inclusive=False))
    return out


def _field(spec: Any, where: str, required: bool) -> fields.Field:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: a property schema must be an object")
    unknown = set(spec) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{where}: unsupported JSON Schema keywords {sorted(unknown)}")
    kind = spec.get("type")
    if kind not in _SCALARS:
        raise ConfigError(f"{where}: 'type' must be one of {sorted(_SCALARS)}, not {kind!r}")
    validators: list[validate.Validator] = []
    if "enum" in spec:
        validators.append(validate.OneOf(spec["enum"]))
    kwargs: dict[str, Any] = {"required": required and "default" not in spec,
                              "metadata": {"description": spec.get("description", "")}}
    if "default" in spec:
        kwargs["load_default"] = spec["default"]
    if kind == "string":
        if "minLength" in spec or "maxLength" in spec:
            validators.append(validate.Length(min=spec.get("minLength"), max=spec.get("maxLength")))
        cls = fields.Email if spec.get("format") == "email" else fields.String
        return cls(validate=validators, **kwargs)
    if kind in ("number", "integer"):
        validators += _range(spec)
        if kind == "integer":
            return fields.Integer(strict=True, validate=validators, **kwargs)
        return StrictNumber(allow_nan=False, validate=validators, **kwargs)
    if kind == "boolean":
        return fields.Boolean(truthy={True}, falsy={False}, validate=validators, **kwargs)
    if kind == "array":
        if "minItems" in spec or "maxItems" in spec:
            validators.append(validate.Length(min=spec.get("minItems"), max=spec.get("maxItems")))
        inner = _field(spec["items"], f"{where}.items", True) if "items" in spec else fields.Raw()
        return fields.List(inner, validate=validators, **kwargs)
    if "properties" in spec:
        return fields.Nested(schema_from_json_schema(spec, where), validate=validators, **kwargs)
    return fields.Dict(validate=validators, **kwargs)


def check_json_schema(spec: Any, where: str) -> None:
    """Check a JSON Schema of any type (e.g. a query's output) against the supported subset; ConfigError if not."""
    _field(spec, where, True)


def schema_from_json_schema(spec: Any, where: str) -> Schema:
    """A marshmallow schema instance for an object JSON Schema; ConfigError names ``where`` when it is bad."""
    if not isinstance(spec, dict) or spec.get("type", "object") != "object":
        raise ConfigError(f"{where}: the input schema must be a JSON Schema of type 'object'")
    props = spec.get("properties", {})
    if not isinstance(props, dict):
        raise ConfigError(f"{where}: 'properties' must be an object")
    required = spec.get("required", [])
    if not isinstance(required, list) or not set(required) <= set(props):
        raise ConfigError(f"{where}: 'required' must list names from 'properties'")
    declared = {name: _field(sub, f"{where}.{name}", name in required) for name, sub in props.items()}
    # The keywords' own types too (``"enum": "xy"`` would otherwise allow "x" and "y").
    wrong = best_match(Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(spec))
    if wrong is not None:
        inner = ".".join(str(p) for p in wrong.absolute_path if p != "properties")
        raise ConfigError(f"{where}{'.' + inner if inner else ''}: {wrong.message}")
    allow_extra = spec.get("additionalProperties", False)
    cls = Schema.from_dict(declared, name=f"Input_{abs(hash(where))}")
    return cls(unknown="include" if allow_extra else RAISE)
