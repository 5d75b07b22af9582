"""Verify a user token (an IdP's ID/access token or a proxy's assertion) against its issuer's JWKS.

Each refusal carries a ``reason`` a person can act on (expired, wrong audience, unknown signing key...) and
never anything secret. JWKS are fetched with PyJWT's ``PyJWKClient`` and cached per URL; a token signed
with a key the cache does not know makes one refetch (at most one per ``REFRESH_COOLDOWN`` seconds), so an
issuer's key rotation is picked up without a restart.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import jwt
import requests
from jwt import PyJWK, PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError

from plugin.errors import ServiceUnavailable, Unauthorized, ValidationFailed
from plugin.identity.config import TokenConfig, checked_url
from plugin.models import Identity

JWKS_LIFESPAN = 300.0
JWKS_TIMEOUT = 5.0
REFRESH_COOLDOWN = 1.0
DISCOVERY_LIFESPAN = 3600.0
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")
# The key type (JWK ``kty``) each algorithm family needs: a token whose ``alg`` names another family than its
# ``kid``'s key is refused before PyJWT is asked to verify with a key of the wrong kind.
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
_GROUP = re.compile(r"^[\w.\- ]{1,100}$")

_REASONS: list[tuple[type[Exception], str, str]] = [
    (jwt.ExpiredSignatureError, "expired", "has expired; sign in again to get a fresh one"),
    (jwt.ImmatureSignatureError, "not_yet_valid", "is not valid yet (its nbf or iat is in the future)"),
    (jwt.InvalidIssuedAtError, "not_yet_valid", "has an iat in the future"),
    (jwt.InvalidIssuerError, "wrong_issuer", "was issued by another issuer than this key accepts"),
    (jwt.InvalidAudienceError, "wrong_audience", "was issued for another audience than this key accepts"),
    (jwt.MissingRequiredClaimError, "missing_claim", "lacks a required claim"),
    (jwt.InvalidSignatureError, "bad_signature", "has a signature that does not verify (altered or forged)"),
    (jwt.InvalidKeyError, "bad_signature", "is signed with a key that does not fit its algorithm"),
    (jwt.DecodeError, "malformed", "is not a well-formed JWT"),
]


class TokenRejected(Unauthorized):
    """A user token that does not prove who the user is; ``details.reason`` says why."""

    def __init__(self, reason: str, message: str, header: str) -> None:
        super().__init__(message, {"reason": reason, "header": header})


class JwksCache:
    """One PyJWKClient per JWKS URL, shared by the threads of a process; JWKS URLs found by OpenID discovery."""

    def __init__(self) -> None:
        self._clients: dict[str, PyJWKClient] = {}
        self._discovered: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def jwks_url(self, config: TokenConfig) -> str:
        """The configured JWKS URL, or the ``jwks_uri`` of the issuer's discovery document (cached an hour)."""
        if config.jwks_url:
            return config.jwks_url
        known = self._discovered.get(config.issuer)
        if known and known[1] > time.monotonic():
            return known[0]
        where = f"{config.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            response = requests.get(where, timeout=JWKS_TIMEOUT)
            response.raise_for_status()
            url = checked_url(response.json().get("jwks_uri"), "jwks_uri")
        except (requests.RequestException, ValueError, AttributeError, ValidationFailed) as exc:
            raise ServiceUnavailable(f"Could not read the issuer's discovery document at {where}; set jwks_url "
                                     "on the key or try again", {"service": "jwks"}) from exc
        self._discovered[config.issuer] = (url, time.monotonic() + DISCOVERY_LIFESPAN)
        return url

    def signing_key(self, url: str, kid: str | None, header: str) -> PyJWK:
        """The key that signed a token, refetching the JWKS once when ``kid`` is new."""
        with self._lock:
            client = self._clients.get(url)
            if client is None:
                client = PyJWKClient(url, lifespan=JWKS_LIFESPAN, timeout=JWKS_TIMEOUT,
                                     cooldown_duration=REFRESH_COOLDOWN)
                self._clients[url] = client
        try:
            if kid is None:
                keys = client.get_signing_keys()
                if len(keys) != 1:
                    raise TokenRejected("unknown_key", f"The token in {header} names no signing key (kid) and "
                                        "the issuer has several", header)
                return keys[0]
            return client.get_signing_key(kid)
        except PyJWKClientConnectionError as exc:
            raise ServiceUnavailable(f"Could not fetch the issuer's signing keys from {url}; try again",
                                     {"service": "jwks"}) from exc
        except PyJWKClientError as exc:
            raise TokenRejected("unknown_key", f"The token in {header} is signed with a key (kid {str(kid)[:40]!r}) "
                                "that the issuer's JWKS does not list", header) from exc


JWKS = JwksCache()


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted claim path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split(".") if path else []:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value if path else None


def _groups(value: Any) -> list[str]:
    items = value.replace(",", " ").split() if isinstance(value, str) else value if isinstance(value, list) else []
    return sorted({g for g in items if isinstance(g, str) and _GROUP.match(g)})


def _check_lifetime(claims: dict[str, Any], config: TokenConfig) -> None:
    """Refuse a token that lives longer than the key allows (from ``iat``, else from now)."""
    issued = claims.get("iat")
    start = issued if isinstance(issued, int | float) and not isinstance(issued, bool) else time.time()
    if float(claims["exp"]) - start > config.max_lifetime:
        raise TokenRejected("lifetime_too_long", f"The token in {config.header} is valid for longer than "
                            f"{config.max_lifetime} s, the most this key accepts (max_lifetime)", config.header)


def _fits_declared(key: PyJWK, alg: str) -> bool:
    """False when the JWKS entry names its algorithm (``alg``) and the token uses another."""
    declared = key._jwk_data.get("alg") if isinstance(getattr(key, "_jwk_data", None), dict) else None
    return declared in (None, alg)


def verify_token(token: str, config: TokenConfig, via: str, is_admin: bool = False,
                 cache: JwksCache = JWKS) -> Identity:
    """The Identity a token proves, or TokenRejected with the reason."""
    header = config.header
    try:
        unverified = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected("malformed", f"The token in {header} is not a well-formed JWT", header) from None
    alg = unverified.get("alg")
    if alg not in config.algorithms:
        raise TokenRejected("algorithm_not_allowed", f"The token in {header} is signed with {str(alg)[:20]!r}; "
                            f"this key accepts only {', '.join(config.algorithms)}", header)
    key = cache.signing_key(cache.jwks_url(config), unverified.get("kid"), header)
    if _KEY_TYPES.get(alg[:2]) != key.key_type or not _fits_declared(key, alg):
        raise TokenRejected("algorithm_not_allowed", f"The token in {header} says {alg}, which its signing key "
                            f"(a {key.key_type} key) does not use", header)
    try:
        claims = jwt.decode(token, key.key, algorithms=[alg], audience=list(config.audiences),
                            issuer=config.issuer, leeway=config.leeway,
                            options={"require": ["exp", "iss", "aud"]})
    except jwt.PyJWTError as exc:
        for kind, reason, text in _REASONS:
            if isinstance(exc, kind):
                raise TokenRejected(reason, f"The token in {header} {text}", header) from None
        raise TokenRejected("invalid", f"The token in {header} is not valid", header) from None
    except (TypeError, ValueError):  # a key PyJWT cannot use with this algorithm (e.g. another EC curve)
        raise TokenRejected("bad_signature", f"The token in {header} is signed with a key that does not fit "
                            "its algorithm", header) from None
    _check_lifetime(claims, config)
    user = claim_at(claims, config.user_claim)
    if not isinstance(user, str) or len(user) > 254 or not _EMAIL.match(user):
        raise TokenRejected("missing_claim", f"The token in {header} has no email in its {config.user_claim!r} "
                            "claim", header)
    if config.user_claim == "email" and not config.allow_unverified_email and \
            claims.get("email_verified") in (False, "false"):
        raise TokenRejected("email_not_verified", f"The token in {header} says its email is not verified "
                            "(email_verified: false); anyone may have typed that address", header)
    groups = _groups(claim_at(claims, config.groups_claim)) if config.groups_claim else []
    return Identity(user=user.lower(), groups=groups, is_admin=is_admin, via=via, issuer=str(claims.get("iss")))
