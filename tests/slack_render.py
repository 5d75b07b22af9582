"""A small local renderer of the Block Kit the plugin sends (header, section with text and fields, context,
actions with buttons; modals with inputs), as HTML that looks roughly like Slack, and the screenshots of
docs/slack.md taken from it with Chromium.

It is an approximation of Slack's own rendering (no Block Kit Builder without the internet): fonts, spacing and
emoji differ; what it shows is exactly the blocks the plugin produces.

Run: ``.venv/bin/python -m tests.slack_render`` (writes docs/screenshots/slack-*.png).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

# Slack draws these as emoji images; the local fonts have no colour emoji, so plain symbols stand in.
EMOJI = {":white_check_mark:": "✔", ":hourglass:": "⌛", ":no_entry_sign:": "⊘", ":arrow_right:": "→",
         ":bell:": "♪", ":warning:": "⚠", ":information_source:": "ℹ"}
OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CSS = """body{font:15px/1.46668 -apple-system,'Segoe UI',Lato,Arial,sans-serif;background:#fff;margin:0;padding:16px;
color:#1d1c1d;width:620px}.msg{display:flex;gap:8px}.avatar{width:36px;height:36px;border-radius:6px;background:#4a154b;
color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center}.who{font-weight:900}
.app{font-size:10px;background:#e8e8e8;color:#616061;padding:1px 3px;border-radius:2px;margin-left:4px}
.when{color:#616061;font-size:12px;margin-left:6px}.hdr{font-size:18px;font-weight:900;margin:4px 0}
.sec{margin:6px 0}.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;margin:6px 0}
.ctx{color:#616061;font-size:12px;margin:6px 0}.acts{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.btn{border:1px solid #ddd;border-radius:4px;padding:3px 12px;font-weight:700;font-size:13px;background:#fff}
.btn.primary{background:#007a5a;color:#fff;border-color:#007a5a}.btn.danger{background:#e01e5a;color:#fff;
border-color:#e01e5a}.btn.link::after{content:' ↗'}code{background:#f6f6f6;border:1px solid #ddd;padding:0 3px}
.modal{border:1px solid #ddd;border-radius:8px;box-shadow:0 4px 16px #0002;width:520px}.mh{font-size:22px;
font-weight:900;padding:16px 20px;border-bottom:1px solid #ddd}.mb{padding:12px 20px}.mf{display:flex;
justify-content:flex-end;gap:8px;padding:12px 20px;border-top:1px solid #ddd}.in{margin:12px 0}
.in label{font-weight:700;display:block;margin-bottom:4px}.box{border:1px solid #aaa;border-radius:4px;
padding:8px;color:#888;min-height:18px}.note{color:#616061;font-size:11px;margin-top:18px;border-top:1px dashed #ddd;
padding-top:6px}.opt{font-weight:400;color:#616061}"""


def mrkdwn(text: str) -> str:
    """Slack mrkdwn as HTML (the text is already entity-escaped for &, < and >, as Slack wants it)."""
    out = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", lambda m: m.group(1).replace("T", " ")[:16], text)
    out = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", out)
    out = re.sub(r"(?<!\w)_([^_\n]+)_(?!\w)", r"<i>\1</i>", out)
    out = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", out)
    for code, char in EMOJI.items():
        out = out.replace(code, char)
    return out.replace("\n", "<br>")


def text_of(obj: dict[str, Any]) -> str:
    return mrkdwn(obj["text"]) if obj["type"] == "mrkdwn" else html.escape(obj["text"])


def block_html(block: dict[str, Any]) -> str:
    """One block as HTML; a block type the renderer does not know is an error (nothing is skipped silently)."""
    kind = block["type"]
    if kind == "header":
        return f'<div class="hdr">{text_of(block["text"])}</div>'
    if kind == "section":
        parts = [f'<div class="sec">{text_of(block["text"])}</div>'] if "text" in block else []
        if block.get("fields"):
            cells = "".join(f"<div>{text_of(f)}</div>" for f in block["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        return "".join(parts)
    if kind == "context":
        return '<div class="ctx">' + " ".join(text_of(e) for e in block["elements"]) + "</div>"
    if kind == "actions":
        return '<div class="acts">' + "".join(
            f'<span class="btn {e.get("style", "")}{" link" if e.get("url") else ""}">{text_of(e["text"])}</span>'
            for e in block["elements"]) + "</div>"
    if kind == "input":
        element = block["element"]
        hints = {"static_select": "Select an option ▾", "number_input": "0", "checkboxes": "☐ Yes"}
        hint = hints.get(element["type"], "")
        optional = '<span class="opt"> (optional)</span>' if block.get("optional") else ""
        return f'<div class="in"><label>{text_of(block["label"])}{optional}</label><div class="box">{hint}</div></div>'
    raise ValueError(f"the renderer does not know block type {kind!r}")


def message_page(blocks: list[dict[str, Any]], app: str = "Workflows") -> str:
    """A Slack-like message from the app with these blocks."""
    body = "".join(block_html(b) for b in blocks)
    return (f"<!doctype html><meta charset='utf-8'><style>{CSS}</style><div class='msg'><div class='avatar'>W</div>"
            f"<div><span class='who'>{app}</span><span class='app'>APP</span><span class='when'>10:02 AM</span>{body}"
            "<div class='note'>Local approximation of Slack's rendering of the plugin's Block Kit JSON "
            "(tests/slack_render.py)</div></div></div>")


def modal_page(view: dict[str, Any]) -> str:
    """A Slack-like modal."""
    body = "".join(block_html(b) for b in view["blocks"])
    return (f"<!doctype html><meta charset='utf-8'><style>{CSS}</style><div class='modal'><div class='mh'>"
            f"{text_of(view['title'])}</div><div class='mb'>{body}</div><div class='mf'><span class='btn'>"
            f"{text_of(view['close'])}</span><span class='btn primary'>{text_of(view['submit'])}</span></div></div>"
            "<div class='note'>Local approximation of Slack's rendering (tests/slack_render.py)</div>")


def examples() -> dict[str, str]:
    """Pages of the messages and the modal the plugin sends, for one expense request in its states."""
    from plugin.engine.slack.blocks import decision_modal, request_message

    doc = {"id": "submit_expense-7f3a:9c2e4b1d0a77-1", "run_id": "submit_expense-7f3a", "query": "submit_expense",
           "name": "Manager approval",
           "message": "Ann Lee asks to be reimbursed 640.00 for Conference travel (Berlin).",
           "metadata": {"employee": "ann@example.com", "amount": 640, "description": "Conference travel (Berlin)"},
           "resolutions": ["Approve", "Reject"], "users": ["bob@example.com"], "groups": ["managers"],
           "required_approvals": 1, "rejecting_resolutions": ["Reject"], "requester": "ann@example.com",
           "created_at": "2026-12-07T10:00:00+00:00", "status": "pending", "resolution": None, "resolved_at": None,
           "decisions": [], "version": 1, "form": [], "due_at": "2026-12-12T10:00:00+00:00", "escalated": False}
    url = "http://127.0.0.1:8787/ui/inbox/?request=submit_expense-7f3a"
    decided = {**doc, "status": "resolved", "resolution": "Approve", "resolved_at": "2026-12-07T10:41:00+00:00",
               "decisions": [{"actor": "bob@example.com", "resolution": "Approve", "at": "2026-12-07T10:41:00+00:00",
                              "via": "slack"}]}
    quorum = {**doc, "name": "Finance approval", "groups": ["finance"], "users": [], "required_approvals": 2,
              "decisions": [{"actor": "carol@example.com", "resolution": "Approve", "at": "x", "via": "slack"}],
              "form": [{"name": "cost_center", "label": "Cost center", "type": "select", "required": True,
                        "options": ["R&D", "Sales", "Operations"]},
                       {"name": "amount_approved", "label": "Amount approved", "type": "number", "required": False}]}
    pages = {
        "slack-request": message_page(request_message(doc, url)[1]),
        "slack-quorum": message_page(request_message(quorum, url)[1]),
        "slack-decided": message_page(request_message(decided, url)[1]),
        "slack-expired": message_page(request_message({**doc, "status": "expired", "escalated": True,
                                                       "resolved_at": "2026-12-12T10:00:00+00:00"}, url)[1]),
        "slack-modal": modal_page(decision_modal(quorum, 0, {"channel": "C0FINANCE", "ts": "1700000000.000100"})),
    }
    return pages


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.panels_browser import CHROMIUM, CHROMIUM_ARGS

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 660, "height": 300})
        for name, content in examples().items():
            page.set_content(content)
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
