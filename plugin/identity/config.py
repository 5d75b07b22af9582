"""What identity sources a key accepts, and how to verify each: parsed from JSON (admin API, Redis) or env."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from plugin.errors import ValidationFailed
from plugin.identity.presets import PROXY_PRESETS

IDENTITY_HEADER = "X-Workflows-Identity"
SCHEMES = ("oidc", "proxy", "headers")
# Who fills X-Workflows-User / X-Workflows-Groups: the host's server (ToolJet Enterprise's globals.server,
# Budibase query headers, Retool), or a binding the end user's browser evaluates (and can edit).
HEADER_SOURCES = ("browser", "server")
# Asymmetric algorithms only: ``none`` and HS* (a shared secret an issuer's JWKS cannot hold) are never accepted.
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")
MIN_SIGNATURE_SECRET = 32
MAX_LEEWAY = 300
DEFAULT_MAX_LIFETIME = 24 * 3600


@dataclass(frozen=True)
class TokenConfig:
    """How to verify one kind of signed user token (an IdP's token or an identity-aware proxy's assertion)."""

    jwks_url: str  # "": read from the issuer's /.well-known/openid-configuration
    issuer: str
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...] = ("RS256",)
    user_claim: str = "email"
    groups_claim: str = "groups"
    leeway: int = 30
    header: str = IDENTITY_HEADER
    preset: str = ""
    max_lifetime: int = DEFAULT_MAX_LIFETIME  # seconds from iat (else now) to exp: longer-lived tokens are refused
    allow_unverified_email: bool = False  # believe an ``email`` user claim that says ``email_verified: false``

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (stored with the key, shown by the admin API)."""
        data = asdict(self)
        data["audiences"] = list(self.audiences)
        data["algorithms"] = list(self.algorithms)
        return data


@dataclass(frozen=True)
class KeyIdentity:
    """The identity sources a key accepts (``schemes``), their settings, and an optional host signature."""

    schemes: tuple[str, ...] = ("headers",)
    oidc: TokenConfig | None = None
    proxy: TokenConfig | None = None
    signature_secret: str | None = field(default=None, repr=False)
    headers_source: str = "browser"

    @property
    def trusts_headers(self) -> bool:
        """True when ``X-Workflows-User`` / ``X-Workflows-Groups`` are believed as sent."""
        return "headers" in self.schemes

    @property
    def browser_editable(self) -> bool:
        """True when a user named in the headers may have been typed by the end user's browser."""
        return self.trusts_headers and self.headers_source != "server"

    @property
    def proves_users(self) -> bool:
        """True when some scheme proves the user (a token or a proxy's assertion), not only names them."""
        return self.oidc is not None or self.proxy is not None

    def to_dict(self, with_secret: bool = False) -> dict[str, Any]:
        """The JSON form; the signature secret only when storing, never when showing."""
        data: dict[str, Any] = {"schemes": list(self.schemes),
                                "oidc": self.oidc.to_dict() if self.oidc else None,
                                "proxy": self.proxy.to_dict() if self.proxy else None,
                                "has_signature_secret": bool(self.signature_secret),
                                "headers_source": self.headers_source}
        if with_secret:
            data["signature_secret"] = self.signature_secret
        return data


def _fail(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid input: {field_name}: {message}", {"fields": {field_name: [message]}})


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _fail(name, "Give a list of strings.")
    return tuple(v for v in value if v)


def checked_url(value: Any, name: str) -> str:
    """An https URL, or http on this machine; raises ValidationFailed naming ``name``."""
    return _url(value, name)


def _url(value: Any, name: str) -> str:
    """An https URL (http only on this machine: a JWKS fetched in the clear could be swapped on the way)."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise _fail(name, "Give an https:// URL.")
    host = urlsplit(value).hostname or ""
    if value.startswith("http://") and host not in ("127.0.0.1", "localhost", "::1"):
        raise _fail(name, "Use https:// (http:// only for 127.0.0.1 or localhost).")
    return value


def token_config(raw: dict[str, Any], name: str, base: TokenConfig | None = None) -> TokenConfig:
    """A TokenConfig from JSON; ``base`` (global defaults or a proxy preset) fills what ``raw`` leaves out."""
    if not isinstance(raw, dict):
        raise _fail(name, "Give an object.")
    preset: dict[str, Any] = {}
    if raw.get("preset"):
        if raw["preset"] not in PROXY_PRESETS:
            raise _fail(f"{name}.preset", f"Unknown preset; choose one of {sorted(PROXY_PRESETS)}.")
        preset = dict(PROXY_PRESETS[raw["preset"]], preset=raw["preset"])
    known = set(TokenConfig.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(f"{name}.{unknown[0]}", "Unknown field.")
    merged = {**(base.to_dict() if base else {}), **preset, **{k: v for k, v in raw.items() if v is not None}}
    for required in ("issuer", "audiences"):
        if not merged.get(required):
            raise _fail(f"{name}.{required}", "Missing data for required field.")
    if not merged.get("jwks_url"):  # found through the issuer's OpenID discovery document when verifying
        _url(merged["issuer"], f"{name}.issuer")
        merged["jwks_url"] = ""
    algorithms = _strings(merged.get("algorithms") or ["RS256"], f"{name}.algorithms")
    bad = [a for a in algorithms if a not in ALGORITHMS]
    if bad or not algorithms:
        raise _fail(f"{name}.algorithms", f"{bad[0] if bad else 'none'} is not accepted; use {list(ALGORITHMS)}.")
    leeway = merged.get("leeway", 30)
    if not isinstance(leeway, int) or isinstance(leeway, bool) or not 0 <= leeway <= MAX_LEEWAY:
        raise _fail(f"{name}.leeway", f"Give whole seconds from 0 to {MAX_LEEWAY}.")
    lifetime = merged.get("max_lifetime", DEFAULT_MAX_LIFETIME)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or not 60 <= lifetime <= 30 * 24 * 3600:
        raise _fail(f"{name}.max_lifetime", "Give whole seconds from 60 to 2592000 (30 days).")
    unverified = merged.get("allow_unverified_email", False)
    if not isinstance(unverified, bool):
        raise _fail(f"{name}.allow_unverified_email", "Give true or false.")
    for text in ("issuer", "user_claim", "groups_claim", "header"):
        if text in merged and not isinstance(merged[text], str):
            raise _fail(f"{name}.{text}", "Give a string.")
    return TokenConfig(
        jwks_url=merged["jwks_url"] and _url(merged["jwks_url"], f"{name}.jwks_url"), issuer=merged["issuer"],
        audiences=_strings(merged["audiences"], f"{name}.audiences"), algorithms=algorithms,
        user_claim=merged.get("user_claim") or "email", groups_claim=merged.get("groups_claim", "groups"),
        leeway=leeway, header=merged.get("header") or IDENTITY_HEADER, preset=merged.get("preset") or "",
        max_lifetime=lifetime, allow_unverified_email=unverified)


def key_identity(raw: dict[str, Any] | None, default_oidc: TokenConfig | None = None) -> KeyIdentity:
    """A KeyIdentity from JSON, checked: every accepted scheme must be verifiable."""
    if raw is None:
        return KeyIdentity()
    if not isinstance(raw, dict):
        raise _fail("identity", "Give an object.")
    unknown = sorted(set(raw) - {"schemes", "oidc", "proxy", "signature_secret", "has_signature_secret",
                                 "headers_source"})
    if unknown:
        raise _fail(f"identity.{unknown[0]}", "Unknown field.")
    schemes = _strings(raw.get("schemes", ["headers"]), "identity.schemes")
    if not schemes or any(s not in SCHEMES for s in schemes):
        raise _fail("identity.schemes", f"Choose one or more of {list(SCHEMES)}.")
    oidc = token_config(raw["oidc"], "identity.oidc", default_oidc) if raw.get("oidc") else default_oidc
    if "oidc" in schemes and oidc is None:
        raise _fail("identity.oidc", "The oidc scheme needs an issuer and audiences, and a jwks_url unless the "
                                     "issuer serves OpenID discovery (here or in the WORKFLOWS_OIDC_* settings).")
    proxy = token_config(raw["proxy"], "identity.proxy") if raw.get("proxy") else None
    if "proxy" in schemes and proxy is None:
        raise _fail("identity.proxy", "The proxy scheme needs a preset or a header, and jwks_url, issuer, audiences.")
    secret = raw.get("signature_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret.encode()) < MIN_SIGNATURE_SECRET):
        raise _fail("identity.signature_secret", f"Use at least {MIN_SIGNATURE_SECRET} characters (as Appsmith "
                                                 "requires for its signature key).")
    source = raw.get("headers_source") or "browser"
    if source not in HEADER_SOURCES:
        raise _fail("identity.headers_source", "Give 'server' (the host fills the headers on its server) or "
                                               "'browser' (a binding the end user's browser evaluates).")
    return KeyIdentity(schemes=tuple(dict.fromkeys(schemes)), oidc=oidc if "oidc" in schemes else None,
                       proxy=proxy if "proxy" in schemes else None, signature_secret=secret or None,
                       headers_source=source)
