"""A third-party API stand-in on 127.0.0.1 that checks credentials, with an OAuth2 token endpoint, and a
workspace folder declaring connections to it (and to a SQLite file)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

BEARER = "bearer-" + uuid.uuid4().hex
PASSWORD = "pw-" + uuid.uuid4().hex
API_KEY = "key-" + uuid.uuid4().hex
CLIENT_SECRET = "cs-" + uuid.uuid4().hex


class AuthStub:
    """``/token`` grants client-credentials tokens; every other path answers 200 with what it saw when the
    credentials are right (``/echo-auth`` also echoes the Authorization header back), else 401."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self.revoked: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                seen = {"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                        "headers": dict(self.headers), "body": raw}
                stub.requests.append(seen)
                status, payload = stub.answer(seen)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 302:
                    self.send_header("Location", payload["location"])
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.hostport = self.url.removeprefix("http://")
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, seen: dict[str, Any]) -> tuple[int, Any]:
        """The stand-in API's rules."""
        auth = seen["headers"].get("Authorization", "")
        if seen["path"] == "/token":
            expected = "Basic " + base64.b64encode(f"client-1:{CLIENT_SECRET}".encode()).decode()
            form = parse_qs(seen["body"])
            if auth != expected or form.get("grant_type") != ["client_credentials"]:
                return 401, {"error": "invalid_client"}
            token = "tok-" + uuid.uuid4().hex
            self.tokens.append(token)
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        if "/teapot-" in seen["path"]:  # a keyless API, busy three times, then fine
            return (418, {"busy": True}) if len(self.hits(seen["path"])) <= 3 else (200, {"ok": True})
        if seen["path"].startswith("/public/latest/"):  # a keyless exchange-rate API
            return 200, {"result": "success", "rates": {"USD": 1.25}}
        if seen["path"].endswith("/redirect"):
            return 302, {"location": self.url + "/elsewhere"}
        accepted = {f"Bearer {BEARER}", "Basic " + base64.b64encode(f"ann:{PASSWORD}".encode()).decode()}
        accepted |= {f"Bearer {t}" for t in self.tokens if t not in self.revoked}
        if auth not in accepted and seen["headers"].get("X-Api-Key") != API_KEY:
            return 401, {"error": "who are you?"}
        if seen["path"].endswith("/echo-auth"):
            return 200, {"you_sent": auth or seen["headers"].get("X-Api-Key")}
        if seen["path"].endswith("/echo-encoded"):  # an API that quotes the credential back, encoded
            sent = auth or seen["headers"].get("X-Api-Key", "")
            secret = sent.split(" ", 1)[-1]
            if sent.startswith("Basic "):
                secret = base64.b64decode(secret).decode().split(":", 1)[1]
            return 200, {"b64": base64.b64encode(secret.encode()).decode(),
                         "b64_urlsafe": base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
                         "b64_inside": base64.b64encode(f"user=x;token={secret};".encode()).decode(),
                         "url": quote(sent, safe=""), "url_token": f"https://x.example/cb?token={quote(secret)}",
                         "query_form": urlencode({"auth": sent})}
        if seen["path"].endswith("/deny-echo"):  # an API that refuses and quotes the credentials back
            return 403, {"error": f"{auth} may not do this"}
        return 200, {"path": seen["path"], "query": seen["query"], "default": seen["headers"].get("X-Default")}

    def hits(self, path: str) -> list[dict[str, Any]]:
        """Requests received on a path."""
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_connections(base_url: str) -> dict[str, Any]:
    """One http connection per auth type, all to the stub."""
    return {
        "api_bearer": {"kind": "http", "base_url": base_url + "/v1", "headers": {"X-Default": "yes"},
                       "auth": {"type": "bearer", "token": {"$secret": "STUB_BEARER"}}},
        "api_basic": {"kind": "http", "base_url": base_url,
                      "auth": {"type": "basic", "username": "ann", "password": {"$secret": "STUB_PASSWORD"}}},
        "api_key": {"kind": "http", "base_url": base_url,
                    "auth": {"type": "api_key", "header": "X-Api-Key", "value": {"$secret": "STUB_API_KEY"}}},
        "api_oauth": {"kind": "http", "base_url": base_url, "timeout": "10s",
                      "auth": {"type": "oauth2_client_credentials", "token_url": base_url + "/token",
                               "client_id": "client-1", "client_secret": {"$secret": "STUB_CLIENT_SECRET"},
                               "scope": "read"}},
        "api_patient": {"kind": "http", "base_url": base_url,
                        "retry": {"max_attempts": 4, "initial_interval": "100ms", "retry_on_status": [418]}},
        "api_unset": {"kind": "http", "base_url": base_url,
                      "auth": {"type": "bearer", "token": {"$secret": "NEVER_SET_ANYWHERE"}}},
    }


SECRETS = {"STUB_BEARER": BEARER, "STUB_PASSWORD": PASSWORD, "STUB_API_KEY": API_KEY,
           "STUB_CLIENT_SECRET": CLIENT_SECRET}


def write_workspace(folder: Path, connections: dict[str, Any], definitions: dict[str, dict[str, Any]]) -> Path:
    """A workspace folder with the connections and one query per definition (same name)."""
    (folder / "definitions").mkdir(parents=True, exist_ok=True)
    queries = {name: {"label": name, "definition": name} for name in definitions}
    (folder / "workspace.json").write_text(json.dumps({"name": "connections tests", "queries": queries,
                                                       "connections": connections}))
    for name, content in definitions.items():
        (folder / "definitions" / f"{name}.json").write_text(json.dumps({"id": name, **content}))
    return folder


def history_text(history) -> str:
    """A history as JSON text followed by every payload's data, decoded."""
    return payload_text(history.to_json_dict())


def payload_text(value: object) -> str:
    """A JSON value (a history in Temporal's JSON form) as text followed by every payload's data, decoded."""
    found: list[str] = [json.dumps(value)]

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "data" and isinstance(item, str):
                    found.append(base64.b64decode(item).decode("utf-8", errors="replace"))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(value)
    return "\n".join(found)
