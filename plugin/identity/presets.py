"""Identity-aware proxy presets: the header each proxy signs into, its algorithms, and fixed issuer/JWKS.

A preset fills defaults; the key's own settings (the JWKS URL of your team or route, the audience) complete it.
"""

from __future__ import annotations

from typing import Any

PROXY_PRESETS: dict[str, dict[str, Any]] = {
    # Pomerium signs with ES256; JWKS at https://<route domain>/.well-known/pomerium/jwks.json, iss/aud the route.
    "pomerium": {"header": "X-Pomerium-Jwt-Assertion", "algorithms": ["ES256"], "user_claim": "email",
                 "groups_claim": "groups"},
    # Cloudflare Access: JWKS at https://<team>.cloudflareaccess.com/cdn-cgi/access/certs, aud the AUD tag.
    "cloudflare_access": {"header": "Cf-Access-Jwt-Assertion", "algorithms": ["RS256"], "user_claim": "email",
                          "groups_claim": "groups"},
    # Google IAP: fixed issuer and JWKS, ES256; aud /projects/<number>/global/backendServices/<id>.
    "google_iap": {"header": "x-goog-iap-jwt-assertion", "algorithms": ["ES256"], "user_claim": "email",
                   "groups_claim": "", "issuer": "https://cloud.google.com/iap",
                   "jwks_url": "https://www.gstatic.com/iap/verify/public_key-jwk"},
    # oauth2-proxy with --pass-authorization-header: the IdP's ID token in Authorization (send the API key
    # in X-Workflows-Key then); issuer and JWKS are the IdP's.
    "oauth2_proxy": {"header": "Authorization", "algorithms": ["RS256"], "user_claim": "email",
                     "groups_claim": "groups"},
}
