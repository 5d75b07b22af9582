"""A local stand-in of Slack's Web API on 127.0.0.1, for the Slack approval tests: the methods the plugin uses,
with Slack's documented request and answer shapes (api.slack.com/methods) and error codes.

- Every answer is HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": CODE}``, as Slack answers;
  ``ratelimited`` is HTTP 429 with ``Retry-After``; ``down`` answers 503 with an HTML page, as a failing proxy.
- A token other than the one it was made with: ``invalid_auth``. ``users.lookupByEmail`` of an unknown email:
  ``users_not_found``; ``users.info`` of an unknown user: ``user_not_found``; a channel it does not know:
  ``channel_not_found``; ``chat.update`` of an unknown message: ``message_not_found``.
- Messages over Slack's documented limits are refused with ``invalid_blocks`` (50 blocks, 25 elements per
  actions block, button text 75 characters, action_id 255), as Slack does.
- Methods are read from a JSON body, a form body or the query string (slack_sdk sends users.* as GET).
- ``/response/{n}`` stands in for the ``response_url`` of an interaction (ephemeral answers).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class SlackStub:
    """The stand-in: people, channels, what was posted, and switches for failures."""

    def __init__(self, token: str = "xoxb-test-token", team: str = "T0TEST") -> None:
        self.token = token
        self.team = team
        self.people: dict[str, dict[str, Any]] = {}  # user id -> user object
        self.channels = {"#finance-approvals": "C0FINANCE", "C0OPS": "C0OPS", "#general": "C0GENERAL"}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.responses: list[dict[str, Any]] = []  # posts to response_url
        self.down = False
        self.ratelimit_next = 0
        self.history_refused = False
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The Web API base URL (what ``WebClient(base_url=...)`` takes)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def response_url(self, n: int) -> str:
        """A response_url for an interaction payload."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/response/{n}"

    def add_person(self, email: str, user_id: str | None = None, with_email: bool = True) -> str:
        """A Slack user (its id), found by this email unless ``with_email`` is False."""
        # unique across stubs, as in Slack: the plugin caches a user's email by team and id in the shared Redis
        user_id = user_id or f"U{uuid.uuid4().hex[:10].upper()}"
        profile = {"email": email, "real_name": email.split("@")[0]} if with_email else {"real_name": "no email"}
        self.people[user_id] = {"id": user_id, "team_id": self.team, "name": email.split("@")[0], "deleted": False,
                                "is_bot": False, "profile": profile}
        return user_id

    def start(self) -> SlackStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """The parameters of each call of one method, in order."""
        with self._lock:
            return [params for name, params in self.calls if name == method]

    # -- the methods ------------------------------------------------------------------------------

    def answer(self, method: str, params: dict[str, Any], token: str) -> dict[str, Any]:
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(params)

    def m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "team_id": self.team, "user_id": "UBOT", "bot_id": "BBOT"}

    def m_users_lookupByEmail(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email", "")).lower()
        for user in self.people.values():
            if user["profile"].get("email", "").lower() == email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.people.get(str(params.get("user", "")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def m_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", ""))
        if users not in self.people:
            return {"ok": False, "error": "user_not_found"}
        self.channels.setdefault("D" + users, "D" + users)
        return {"ok": True, "channel": {"id": "D" + users}}

    def _channel(self, name: Any) -> str | None:
        return self.channels.get(str(name)) or (str(name) if str(name) in self.channels.values() else None)

    def m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        problem = block_problem(params.get("blocks"))
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = {"ts": ts, "text": params.get("text", ""), "blocks": _blocks(params.get("blocks")),
                   "thread_ts": params.get("thread_ts"), "metadata": _metadata(params.get("metadata"))}
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """A channel's messages (not thread replies) since ``oldest``, newest first; their metadata only with
        ``include_all_metadata``, as Slack answers. ``history_refused`` stands for an app without the scope."""
        if self.history_refused:
            return {"ok": False, "error": "missing_scope", "needed": "im:history"}
        channel = self._channel(params.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [{k: v for k, v in m.items() if k != "metadata" or with_metadata}
                 for (c, ts), m in self.messages.items()
                 if c == channel and not m.get("thread_ts") and float(ts) >= oldest]
        return {"ok": True, "messages": sorted(found, key=lambda m: float(m["ts"]), reverse=True)}

    def m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("channel")), str(params.get("ts")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        problem = block_problem(params.get("blocks"))
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        self.messages[key].update(text=params.get("text", ""), blocks=_blocks(params.get("blocks")))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": params.get("text", "")}

    def m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._channel(params.get("channel")) is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}

    def m_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        if len(view.get("blocks", [])) > 100 or len(view["title"]["text"]) > 24:
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {**view, "id": f"V{next(self._ts):08d}"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, body: bytes, kind: str = "application/json",
                       headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _params(self) -> dict[str, Any]:
                parts = urlsplit(self.path)
                params: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw and "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(raw))
                elif raw:
                    params.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
                return params

            def _serve(self) -> None:
                path = urlsplit(self.path).path
                params = self._params()
                if path.startswith("/response/"):
                    with stub._lock:
                        stub.responses.append({"_n": int(path.rsplit("/", 1)[-1]), **params})
                    return self._reply(200, b"ok", "text/plain")
                method = path.rsplit("/", 1)[-1]
                with stub._lock:
                    stub.calls.append((method, params))
                    if stub.down:
                        return self._reply(503, b"<html>503 Service Unavailable</html>", "text/html")
                    if stub.ratelimit_next > 0:
                        stub.ratelimit_next -= 1
                        return self._reply(429, b'{"ok":false,"error":"ratelimited"}', headers={"Retry-After": "1"})
                    token = (self.headers.get("Authorization") or "").removeprefix("Bearer ") or params.get("token", "")
                    answer = stub.answer(method, params, token)
                self._reply(200, json.dumps(answer).encode())

            do_GET = _serve
            do_POST = _serve

        return Handler


def _metadata(raw: Any) -> dict[str, Any] | None:
    return json.loads(raw) if isinstance(raw, str) else raw


def _blocks(raw: Any) -> list[dict[str, Any]]:
    return json.loads(raw) if isinstance(raw, str) else list(raw or [])


def block_problem(raw: Any) -> str:
    """What breaks Slack's documented Block Kit limits in a message's blocks ('' when nothing does)."""
    blocks = _blocks(raw)
    if len(blocks) > 50:
        return "no more than 50 items allowed [json-pointer:/blocks]"
    for i, block in enumerate(blocks):
        if block.get("type") == "actions" and len(block.get("elements", [])) > 25:
            return f"no more than 25 items allowed [json-pointer:/blocks/{i}/elements]"
        for element in block.get("elements", []):
            if element.get("type") == "button" and (len(element["text"]["text"]) > 75
                                                    or len(element.get("action_id", "")) > 255):
                return f"must be less than 76 characters [json-pointer:/blocks/{i}/elements/text]"
        if block.get("type") == "section" and len((block.get("text") or {}).get("text", "")) > 3000:
            return f"must be less than 3001 characters [json-pointer:/blocks/{i}/text]"
    return ""
