"""Signed approval links: GET shows a confirmation page (link scanners that open every URL decide nothing);
only the POST from that page decides, once, as the one user the link was made for."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, jsonify, render_template_string, request

from plugin.api.http.errors import error_response
from plugin.api.requests.views import ensure_inbox, send_update
from plugin.api.services import services
from plugin.errors import Conflict, NotFound, PluginError, ValidationFailed
from plugin.finite_json import parse_form_number
from plugin.gateway_ops import requests as request_ops
from plugin.identity.links import ApprovalLink, link_signer
from plugin.models import PENDING, Identity, ResolveInput
from plugin.readmodel import offers

bp = Blueprint("links", __name__, url_prefix="/approve")

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>{{ title }}</title><style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
dt{font-weight:600}textarea,input,select{width:100%;margin:.3rem 0 1rem;font:inherit}
button{font:inherit;padding:.5rem 1.2rem}
.note{color:#555}</style></head><body><h1>{{ title }}</h1>
{% if message %}<p>{{ message }}</p>{% endif %}
{% if doc %}<p><strong>{{ doc.name }}</strong></p><p>{{ doc.message }}</p>
{% if doc.metadata %}<dl>{% for k, v in doc.metadata.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
{% endif %}{% endif %}
{% if form %}<form method="post">
{% for f in doc.form %}<label>{{ f.label or f.name }}{% if f.type == "select" %}<select name="field.{{ f.name }}">
{% for o in f.options %}<option>{{ o }}</option>{% endfor %}</select>{% elif f.type == "boolean" %}
<input type="checkbox" name="field.{{ f.name }}" value="true">{% else %}<input name="field.{{ f.name }}"
{% if f.type in ("number", "integer") %}type="number" step="any"{% endif %}>{% endif %}</label>{% endfor %}
<label>Comment<textarea name="comment" rows="4" maxlength="5000"></textarea></label>
<button type="submit">{{ resolution }}</button> <span class="note">as {{ user }}</span></form>{% endif %}
</body></html>"""


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or request.is_json


@bp.errorhandler(PluginError)
def _refused(exc: PluginError):
    """Refusals in the one error shape for programs, as a page (same status) for people."""
    if _wants_json():
        return error_response(exc.status, exc.code, exc.message, exc.details)
    return render_template_string(_PAGE, title="This link cannot be used", message=exc.message), exc.status


def _open(token: str) -> tuple[ApprovalLink, dict[str, Any]]:
    """The link and its request, refused when the link is bad, expired or no longer fits the request."""
    svc = services()
    link = link_signer(svc.settings, svc.redis).read(token)
    ensure_inbox()
    doc = svc.inbox.get(link.request_id)
    if doc is None:
        raise NotFound("The request of this link is gone")
    if link.version > doc["version"]:  # the link is newer than the inbox (a reminder's, sent before its publish)
        fresh = svc.gateway.call(lambda c: request_ops.current_request(c, link.request_id))
        if fresh is not None:
            doc = {**doc, **dataclasses.asdict(fresh)}
    if doc["status"] != PENDING:
        by = next((f" by {d['actor']}" for d in reversed(doc.get("decisions", []))), "")
        raise Conflict(f"This request is already {doc['status']}{by}; nothing left to decide",
                       {"reason": "stale", "status": doc["status"]})
    if link.acting_for and not offers.offered_to(services().absences, Identity(user=link.user), doc):
        raise Conflict(f"You no longer stand in for {link.acting_for} on this request (their absence ended or "
                       "changed, or it is already decided for them)", {"reason": "stale"})
    named = link.acting_for or link.user  # a delegate's link names the absent assignee
    if not link.fits(doc["version"], len(doc.get("decisions", []))) or named not in doc["users"]:
        raise Conflict("This link is out of date: the request changed since it was sent (reassigned, "
                       "escalated or reminded); use the newest message or the app", {"reason": "stale"})
    return link, doc


@bp.route("/<token>", methods=["GET"])
def confirm_page(token: str):
    """The confirmation page: the request's message, metadata, form and a comment box. Decides nothing."""
    link, doc = _open(token)
    page = render_template_string(_PAGE, title=f"{link.resolution}?", doc=doc, form=True,
                                  resolution=link.resolution,
                                  user=f"{link.user} for {link.acting_for}" if link.acting_for else link.user)
    return page, 200, {"Cache-Control": "no-store"}


def _payload(doc: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in doc.get("form", []):
        raw = request.form.get(f"field.{field['name']}")
        if field["type"] == "boolean":
            values[field["name"]] = raw == "true"
        elif raw not in (None, "") and field["type"] in ("number", "integer"):
            values[field["name"]] = parse_form_number(field["name"], raw, field["type"])
        elif raw not in (None, ""):
            values[field["name"]] = raw
    return values


@bp.route("/<token>", methods=["POST"])
def decide(token: str):
    """Decide as the link's user, once."""
    link, doc = _open(token)
    body = request.get_json(silent=True) if request.is_json else request.form
    comment = body.get("comment", "") if isinstance(body, dict) else None  # a form is a dict too
    if not isinstance(comment, str) or len(comment) > 5000:
        raise ValidationFailed("comment: a text of at most 5000 characters",
                               {"fields": {"comment": ["Not a text of at most 5000 characters."]}})
    payload = _payload(doc)  # before the claim: a refused form leaves the link usable
    signer = link_signer(services().settings, services().redis)
    if not signer.claim(token, link):
        raise Conflict("This link has already been used", {"reason": "used"})
    update = ResolveInput(request_id=link.request_id, resolution=link.resolution, comment=comment,
                          payload=payload, identity=Identity(user=link.user, via="link"), acting_for=link.acting_for)
    try:
        decided = send_update("resolve", update)
    except PluginError:
        signer.release(token)  # not decided: the link stays usable while it is valid
        raise
    if _wants_json():
        return jsonify(dataclasses.asdict(decided))
    return render_template_string(_PAGE, title="Done", message=f"You chose {link.resolution} on "
                                  f"{decided.name!r}. You can close this page.")
