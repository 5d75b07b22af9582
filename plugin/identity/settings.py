"""Global identity settings from ``WORKFLOWS_*`` env: OIDC defaults, the bootstrap app key, approval links."""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin.errors import ConfigError, ValidationFailed
from plugin.identity.capabilities import checked_capabilities
from plugin.identity.config import KeyIdentity, TokenConfig, key_identity, token_config

_OIDC_ENV = {"issuer": "WORKFLOWS_OIDC_ISSUER", "jwks_url": "WORKFLOWS_OIDC_JWKS_URL",
             "audiences": "WORKFLOWS_OIDC_AUDIENCES", "algorithms": "WORKFLOWS_OIDC_ALGORITHMS",
             "user_claim": "WORKFLOWS_OIDC_USER_CLAIM", "groups_claim": "WORKFLOWS_OIDC_GROUPS_CLAIM",
             "leeway": "WORKFLOWS_OIDC_LEEWAY"}
MIN_LINK_SECRET = 32


@dataclass(frozen=True)
class IdentitySettings:
    """OIDC defaults for keys that accept user tokens, the bootstrap app key's identity sources, and what
    signed approval links need (a secret shared by API and workers, and the public base URL)."""

    oidc: TokenConfig | None = None
    app_key: KeyIdentity = field(default_factory=KeyIdentity)
    link_secret: str | None = field(default=None, repr=False)
    public_url: str | None = None
    # WORKFLOWS_APP_KEY_CAPABILITIES; None: the defaults for the app key's identity (plugin.identity.capabilities)
    app_key_capabilities: tuple[str, ...] | None = None
    # whether WORKFLOWS_APP_KEY_IDENTITY was given: `serve` refuses to guess it (docs/production.md)
    app_key_identity_given: bool = True

    @property
    def app_capabilities(self) -> tuple[str, ...]:
        """What the bootstrap app key may do."""
        return checked_capabilities(self.app_key_capabilities, "app", self.app_key)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> IdentitySettings:
        """Read and check the identity settings; ConfigError names the bad variable."""
        oidc = None
        given = {name: env[var] for name, var in _OIDC_ENV.items() if env.get(var)}
        if given:
            if "leeway" in given:
                if not given["leeway"].isdigit():
                    raise ConfigError(f"WORKFLOWS_OIDC_LEEWAY={given['leeway']!r} is not a whole number")
                given["leeway"] = int(given["leeway"])  # type: ignore[assignment]
            oidc = _checked(lambda: token_config(given, "oidc"), _OIDC_ENV)
        schemes = env.get("WORKFLOWS_APP_KEY_IDENTITY") or "headers"
        secret = env.get("WORKFLOWS_APP_KEY_SIGNATURE_SECRET") or None
        source = env.get("WORKFLOWS_APP_KEY_HEADERS_SOURCE") or "browser"
        app_key = _checked(lambda: key_identity({"schemes": schemes, "signature_secret": secret,
                                                 "headers_source": source}, oidc),
                           {"schemes": "WORKFLOWS_APP_KEY_IDENTITY", "oidc": "WORKFLOWS_OIDC_ISSUER",
                            "signature_secret": "WORKFLOWS_APP_KEY_SIGNATURE_SECRET",
                            "headers_source": "WORKFLOWS_APP_KEY_HEADERS_SOURCE"})
        raw_caps = env.get("WORKFLOWS_APP_KEY_CAPABILITIES")
        capabilities = None
        if raw_caps:
            capabilities = tuple(c.strip() for c in raw_caps.split(",") if c.strip())
            _checked(lambda: checked_capabilities(capabilities, "app", app_key, "WORKFLOWS_APP_KEY_CAPABILITIES"),
                     {})
        link_secret = env.get("WORKFLOWS_LINK_SECRET") or None
        if link_secret and len(link_secret) < MIN_LINK_SECRET:
            raise ConfigError(f"WORKFLOWS_LINK_SECRET is too short: use at least {MIN_LINK_SECRET} characters")
        public_url = (env.get("WORKFLOWS_PUBLIC_URL") or "").rstrip("/") or None
        if public_url and not public_url.startswith(("http://", "https://")):
            raise ConfigError(f"WORKFLOWS_PUBLIC_URL={public_url!r} must be an http:// or https:// URL")
        return cls(oidc=oidc, app_key=app_key, link_secret=link_secret, public_url=public_url,
                   app_key_capabilities=capabilities,
                   app_key_identity_given=bool(env.get("WORKFLOWS_APP_KEY_IDENTITY")))


def _checked(build, names: dict[str, str]):
    try:
        return build()
    except ValidationFailed as exc:
        field_name = next(iter(exc.details.get("fields", {"": []})))
        var = names.get(field_name.rsplit(".", 1)[-1], field_name)
        reason = " ".join(exc.details.get("fields", {}).get(field_name, [exc.message]))
        raise ConfigError(f"{var}: {reason}") from None
