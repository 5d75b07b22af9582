"""A local identity provider for the tests: signing keys made with ``cryptography``, a JWKS served on
127.0.0.1 (rotatable), tokens made like an IdP's, and Appsmith signatures made exactly as Appsmith makes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.conftest import ADMIN_KEY, auth


class SigningKey:
    """An RSA or EC private key with a kid, and its public JWK."""

    def __init__(self, kind: str = "RSA") -> None:
        self.kid = uuid.uuid4().hex[:12]
        if kind == "RSA":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        """A token signed by this key."""
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **header})


class LocalIdp:
    """A JWKS endpoint on 127.0.0.1 whose keys a test may replace (key rotation)."""

    def __init__(self) -> None:
        self.keys = [SigningKey("RSA"), SigningKey("EC")]
        self.fetches = 0
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's name)
                if self.path.endswith("/.well-known/openid-configuration"):
                    body = json.dumps({"issuer": idp.issuer, "jwks_uri": idp.jwks_url}).encode()
                else:
                    idp.fetches += 1
                    body = json.dumps({"keys": [k.jwk for k in idp.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.jwks_url = f"{self.issuer}/jwks/{uuid.uuid4().hex[:6]}"
        self.audience = "workflows-plugin"

    def claims(self, email: str, groups: list[str] | None = None, lifetime: int = 300, **extra: Any) -> dict:
        """Claims as an IdP puts them in an ID token."""
        now = int(time.time())
        return {"iss": self.issuer, "aud": self.audience, "sub": uuid.uuid4().hex, "email": email,
                "groups": groups or [], "iat": now, "nbf": now, "exp": now + lifetime, **extra}

    def token(self, email: str, groups: list[str] | None = None, key: int = 0, **extra: Any) -> str:
        """A valid token for this person, signed by one of the served keys."""
        return self.keys[key].sign(self.claims(email, groups, **extra))

    def oidc_config(self, **changes: Any) -> dict[str, Any]:
        """The key settings that make a key accept this IdP's tokens."""
        return {"issuer": self.issuer, "jwks_url": self.jwks_url, "audiences": [self.audience],
                "algorithms": ["RS256", "ES256"], **changes}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def create_key(client, **body: Any) -> dict[str, Any]:
    """Create a key through the admin API; returns the answer (with ``secret``)."""
    response = client.post("/api/v1/keys", headers=auth(ADMIN_KEY), json={"name": "k", "scope": "app", **body})
    assert response.status_code == 201, response.json
    return response.json


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def appsmith_signature(secret: str, issued: int | None = None, issuer: str = "Appsmith", lifetime: int = 600) -> str:
    """``X-APPSMITH-SIGNATURE`` as Appsmith's server makes it (JJWT): the HMAC algorithm by key length,
    a header with only ``alg``, claims ``iss``, ``iat``, ``exp = iat + 600``, compact JSON."""
    size = len(secret.encode())
    alg, digest = ("HS512", hashlib.sha512) if size >= 64 else ("HS384", hashlib.sha384) if size >= 48 else (
        "HS256", hashlib.sha256)
    iat = int(time.time()) if issued is None else issued
    header = _b64(json.dumps({"alg": alg}, separators=(",", ":")).encode())
    payload = _b64(json.dumps({"iss": issuer, "iat": iat, "exp": iat + lifetime}, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), digest).digest()
    return f"{header}.{payload}.{_b64(signature)}"
