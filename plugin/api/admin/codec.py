"""The codec endpoint Temporal's web UI (and ``temporal`` CLI) use to show encrypted payloads to people who
may see them: POST ``/api/v1/codec/decode`` and ``/encode`` with ``{"payloads": [...]}`` in Temporal's JSON
form, with an admin key. In the UI, set the codec endpoint to ``<base URL>/api/v1/codec`` and turn on
"pass access token" with the admin key; the UI's origin (``WORKFLOWS_TEMPORAL_UI_URL``) may call it."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from google.protobuf import json_format
from marshmallow import Schema, fields
from temporalio.api.common.v1 import Payloads

from plugin.api.http.auth import authenticate
from plugin.api.services import services
from plugin.codec import AesGcmCodec, codec_for
from plugin.config_checks import url_origin
from plugin.errors import NotFound, ValidationFailed

bp = Blueprint("codec", __name__, url_prefix="/api/v1/codec",
               description="Payload codec for Temporal's web UI (decrypts payloads for admins)")


class PayloadsSchema(Schema):
    payloads = fields.List(fields.Dict(), required=True,
                           metadata={"description": "Temporal payloads: {metadata: {name: base64}, data: base64}"})


@bp.before_request
def _auth() -> None:
    if request.method != "OPTIONS":  # a browser's CORS preflight carries no credentials
        authenticate(("admin",))


@bp.after_request
def _cors(response: Response) -> Response:
    origin = request.headers.get("Origin", "")
    if origin and origin.rstrip("/").lower() == url_origin(services().settings.effective_ui_url):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-Namespace"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Vary"] = "Origin"
    return response


def _codec() -> AesGcmCodec:
    codec = codec_for(services().settings.payload_keys)
    if codec is None:
        raise NotFound("Payload encryption is off: set WORKFLOWS_PAYLOAD_KEYS to use the codec endpoint")
    return codec


def _payloads(body: Any) -> Payloads:
    try:
        return json_format.ParseDict({"payloads": (body or {}).get("payloads", [])}, Payloads())
    except (json_format.ParseError, AttributeError, TypeError) as exc:
        raise ValidationFailed(f"payloads are not Temporal payloads in JSON form: {str(exc)[:200]}",
                               {"fields": {"payloads": ["not Temporal payloads"]}}) from None


def _answer(payloads: list) -> dict[str, Any]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


@bp.route("/decode", methods=["POST"])
@bp.response(200, PayloadsSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(404, description="Payload encryption is off")
@bp.alt_response(422, description="Not payloads, or encrypted with a key this server does not have")
def decode():
    """Decrypt payloads (those that are not encrypted come back unchanged)."""
    codec = _codec()
    try:
        return _answer([codec.decrypt(p) for p in _payloads(request.get_json(silent=True)).payloads])
    except ValueError as exc:
        raise ValidationFailed(str(exc), {"fields": {"payloads": [str(exc)]}}) from None


@bp.route("/encode", methods=["POST"])
@bp.response(200, PayloadsSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(404, description="Payload encryption is off")
@bp.alt_response(422, description="Not payloads")
def encode():
    """Encrypt payloads with the active key."""
    codec = _codec()
    return _answer([codec.encrypt(p) for p in _payloads(request.get_json(silent=True)).payloads])
