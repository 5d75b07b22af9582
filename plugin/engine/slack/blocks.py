"""The Block Kit of a request: its message (buttons while pending, the outcome once settled) and the modal of
a request with form fields.

Pure functions over the request's JSON document (as the inbox stores it). Slack refuses a message that
breaks its documented limits (``invalid_blocks``), so every text is cut to its limit here and
tests/test_slack_blocks.py checks the result against them.
"""

from __future__ import annotations

import json
from typing import Any

# Slack's documented limits (api.slack.com/reference/block-kit).
MAX_BLOCKS = 50  # per message
MAX_MODAL_BLOCKS = 100
MAX_ACTIONS = 25  # elements per actions block
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10  # per section
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_VALUE = 2000
MAX_URL = 3000
MAX_MODAL_TITLE = 24
MAX_LABEL = 2000
MAX_INPUT_LENGTH = 3000
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_PRIVATE_METADATA = 3000
MAX_FALLBACK_TEXT = 4000

DECIDE_ACTION = "wf_decide"  # action_id prefix of a resolution's button: wf_decide:{index}
OPEN_ACTION = "wf_open"
MODAL_CALLBACK = "wf_decide_modal"
COMMENT_BLOCK = "wf_comment"
FIELD_BLOCK = "wf_field:"
DONE_WORDS = {"resolved": "Decided", "expired": "Expired", "cancelled": "Withdrawn"}


def cut(text: str, limit: int) -> str:
    """The text within ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally (``&``, ``<``, ``>`` would start entities and links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text or " ", limit), "emoji": True}


def _mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(text or " ", limit)}


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _when(iso: str | None) -> str:
    """A time as Slack shows it in each reader's own time zone (the ISO text where a client cannot)."""
    if not iso:
        return ""
    from datetime import datetime

    try:
        stamp = int(datetime.fromisoformat(iso).timestamp())
    except ValueError:
        return escape(iso)
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{escape(iso)}>"


def button_value(request_id: str, index: int) -> str:
    """What a resolution's button carries back: the request and which of its resolutions."""
    return cut(json.dumps({"request_id": request_id, "resolution": index}, separators=(",", ":")), MAX_VALUE)


def needs_modal(doc: dict[str, Any]) -> bool:
    """A request with form fields is decided in a modal, where the fields are filled in."""
    return bool(doc.get("form"))


def _outcome(doc: dict[str, Any], note: str) -> str:
    status = doc["status"]
    if note:
        return note
    if status == "resolved":
        deciding = [d for d in doc.get("decisions", []) if d.get("resolution") == doc.get("resolution")]
        who = ", ".join(f"{escape(d['actor'])} ({_from(d)})" for d in deciding) or "its due time"
        return f":white_check_mark: *{escape(doc.get('resolution') or '')}* by {who} at {_when(doc.get('resolved_at'))}"
    if status == "expired":
        return f":hourglass: Expired at {_when(doc.get('resolved_at'))}: nobody decided in time"
    return f":no_entry_sign: Withdrawn at {_when(doc.get('resolved_at'))}"


def _from(decision: dict[str, Any]) -> str:
    """Where a decision was made, in words."""
    return {"slack": "in Slack", "link": "by approval link", "oidc": "in the app", "proxy": "in the app",
            "headers": "in the app"}.get(decision.get("via") or "", "in the app")


def request_message(doc: dict[str, Any], open_url: str, note: str = "") -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of a request's message: buttons while it is pending (and ``note`` empty),
    the outcome (or ``note``, e.g. "reassigned to ...") otherwise."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(doc["name"], MAX_HEADER)}]
    if doc.get("message"):
        blocks.append({"type": "section", "text": _mrkdwn(escape(doc["message"]))})
    items = list((doc.get("metadata") or {}).items())
    for start in range(0, min(len(items), 30), MAX_FIELDS):  # at most three sections of ten fields
        fields = [_mrkdwn(f"*{escape(str(k))}*\n{escape(_value(v))}", MAX_FIELD_TEXT)
                  for k, v in items[start:start + MAX_FIELDS]]
        blocks.append({"type": "section", "fields": fields})
    context = [f"Requested by {escape(doc.get('requester') or 'the workflow')}"]
    if doc.get("due_at") and doc["status"] == "pending":
        context.append(f"Due {_when(doc['due_at'])}")
    if doc.get("required_approvals", 1) > 1:
        voters = [escape(d["actor"]) for d in doc.get("decisions", [])]
        said = f" ({', '.join(voters)})" if voters else ""
        context.append(f"{len(voters)} of {doc['required_approvals']} approvals{said}")
    if doc.get("escalated"):
        context.append("Escalated")
    blocks.append({"type": "context", "elements": [_mrkdwn(" · ".join(context))]})
    pending = doc["status"] == "pending" and not note
    if pending:
        buttons = [_resolution_button(doc, i, r) for i, r in enumerate(doc["resolutions"])]
        room = MAX_BLOCKS - len(blocks) - 1
        for start in range(0, len(buttons), MAX_ACTIONS - 1):
            if room <= 0:
                break
            blocks.append({"type": "actions", "block_id": cut(f"wf_actions:{start}", MAX_BLOCK_ID),
                           "elements": buttons[start:start + MAX_ACTIONS - 1]})
            room -= 1
        if blocks[-1]["type"] == "actions":
            blocks[-1]["elements"].append(_open_button(open_url))
    else:
        blocks.append({"type": "section", "text": _mrkdwn(_outcome(doc, note))})
        blocks.append({"type": "actions", "block_id": "wf_open", "elements": [_open_button(open_url)]})
    text = f"{doc['name']}: " + ("waiting for your decision" if pending else DONE_WORDS.get(doc["status"], "updated"))
    return cut(text, MAX_FALLBACK_TEXT), blocks[:MAX_BLOCKS]


def _resolution_button(doc: dict[str, Any], index: int, resolution: str) -> dict[str, Any]:
    button = {"type": "button", "action_id": cut(f"{DECIDE_ACTION}:{index}", MAX_ACTION_ID),
              "text": _plain(resolution, MAX_BUTTON_TEXT), "value": button_value(doc["id"], index)}
    if index == 0:
        button["style"] = "primary"
    elif resolution in doc.get("rejecting_resolutions", []):
        button["style"] = "danger"
    return button


def _open_button(url: str) -> dict[str, Any]:
    return {"type": "button", "action_id": OPEN_ACTION, "text": _plain("Open in app", MAX_BUTTON_TEXT),
            "url": cut(url, MAX_URL)}


def decision_modal(doc: dict[str, Any], index: int, where: dict[str, str]) -> dict[str, Any]:
    """The modal that decides ``doc`` as its resolution number ``index``: the form's fields and a comment.
    ``where`` (channel, ts of the message) rides along in ``private_metadata``."""
    resolution = doc["resolutions"][index]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(
        f"*{escape(doc['name'])}*\n{escape(doc.get('message') or '')}")}]
    for field in doc.get("form", [])[: MAX_MODAL_BLOCKS - 2]:
        blocks.append({"type": "input", "block_id": cut(FIELD_BLOCK + field["name"], MAX_BLOCK_ID),
                       "optional": not field.get("required", True),
                       "label": _plain(field.get("label") or field["name"], MAX_LABEL),
                       "element": _form_element(field)})
    blocks.append({"type": "input", "block_id": COMMENT_BLOCK, "optional": True, "label": _plain("Comment", MAX_LABEL),
                   "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                               "max_length": MAX_INPUT_LENGTH}})
    metadata = json.dumps({"request_id": doc["id"], "resolution": index, **where}, separators=(",", ":"))
    return {"type": "modal", "callback_id": MODAL_CALLBACK, "private_metadata": cut(metadata, MAX_PRIVATE_METADATA),
            "title": _plain(doc["name"], MAX_MODAL_TITLE), "submit": _plain(resolution, MAX_MODAL_TITLE),
            "close": _plain("Cancel", MAX_MODAL_TITLE), "blocks": blocks}


def _form_element(field: dict[str, Any]) -> dict[str, Any]:
    kind = field.get("type", "string")
    if kind in ("number", "integer"):
        return {"type": "number_input", "action_id": "value", "is_decimal_allowed": kind == "number"}
    if kind == "boolean":
        return {"type": "checkboxes", "action_id": "value",
                "options": [{"text": _plain("Yes", MAX_OPTION_TEXT), "value": "true"}]}
    if kind == "select":
        return {"type": "static_select", "action_id": "value",
                "options": [{"text": _plain(o, MAX_OPTION_TEXT), "value": cut(o, 150)}
                            for o in field.get("options", [])[:MAX_OPTIONS]]}
    return {"type": "plain_text_input", "action_id": "value",
            "max_length": min(int(field.get("max_length") or MAX_INPUT_LENGTH), MAX_INPUT_LENGTH)}


def modal_values(doc: dict[str, Any], state: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(payload, comment) from a submitted modal's ``view.state.values``, typed as the request's form says."""
    values = state.get("values") or {}
    payload: dict[str, Any] = {}
    for field in doc.get("form", []):
        entry = (values.get(FIELD_BLOCK + field["name"]) or {}).get("value") or {}
        kind = field.get("type", "string")
        if kind == "boolean":
            payload[field["name"]] = bool(entry.get("selected_options"))
        elif kind == "select":
            chosen = entry.get("selected_option")
            if chosen:
                payload[field["name"]] = chosen.get("value")
        elif entry.get("value") not in (None, ""):
            raw = entry["value"]
            if kind in ("number", "integer"):
                try:
                    number = float(raw)
                    payload[field["name"]] = int(number) if kind == "integer" and number.is_integer() else number
                except ValueError:
                    payload[field["name"]] = raw  # the form check names it
            else:
                payload[field["name"]] = raw
    comment = ((values.get(COMMENT_BLOCK) or {}).get("value") or {}).get("value") or ""
    return payload, comment
