"""Appsmith's ``X-APPSMITH-SIGNATURE``: proof that a call came from the Appsmith server (not who the user is).

Appsmith signs a JWT with the datasource's signature key (its UTF-8 bytes as the HMAC key), choosing the
algorithm by key length as JJWT does: HS256 for 32-47 bytes, HS384 for 48-63, HS512 for 64 and more. Claims:
``iss: "Appsmith"``, ``iat`` and ``exp = iat + 600``. A signature that claims a longer life (a leaked or
forged long-lived one) or an ``iat`` in the future is refused.
"""

from __future__ import annotations

import jwt

from plugin.errors import Unauthorized

SIGNATURE_HEADER = "X-APPSMITH-SIGNATURE"
ISSUER = "Appsmith"
LEEWAY = 30
LIFETIME = 600  # Appsmith signs each call for exactly this long


def algorithm_for(secret: str) -> str:
    """The HMAC algorithm Appsmith uses for a signature key of this length."""
    size = len(secret.encode())
    return "HS512" if size >= 64 else "HS384" if size >= 48 else "HS256"


def _refuse(reason: str, message: str) -> Unauthorized:
    return Unauthorized(message, {"reason": reason, "header": SIGNATURE_HEADER})


def verify_host_signature(value: str | None, secret: str) -> None:
    """Raise 401 unless ``value`` is a valid, unexpired Appsmith signature made with ``secret``."""
    if not value:
        raise _refuse("missing_signature", f"This key requires the host's signature in {SIGNATURE_HEADER}: "
                      "turn on 'Send Appsmith signature header' on the datasource")
    algorithm = algorithm_for(secret)
    try:
        claims = jwt.decode(value, secret.encode(), algorithms=[algorithm], issuer=ISSUER, leeway=LEEWAY,
                            options={"require": ["iss", "iat", "exp"]})
    except jwt.ImmatureSignatureError:
        raise _refuse("not_yet_valid", f"The {SIGNATURE_HEADER} was issued in the future (check the clocks)") from None
    except jwt.ExpiredSignatureError:
        raise _refuse("expired", f"The {SIGNATURE_HEADER} has expired (Appsmith signs each call for 10 "
                      "minutes: check the clocks)") from None
    except jwt.InvalidIssuerError:
        raise _refuse("wrong_issuer", f"The {SIGNATURE_HEADER} was not issued by Appsmith") from None
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
        raise _refuse("bad_signature", f"The {SIGNATURE_HEADER} does not verify: the datasource's signature "
                      "key differs from the one configured on this API key") from None
    except jwt.PyJWTError:
        raise _refuse("malformed", f"The {SIGNATURE_HEADER} is not a valid signature") from None
    if claims["exp"] - claims["iat"] > LIFETIME:
        raise _refuse("lifetime_too_long", f"The {SIGNATURE_HEADER} claims to be valid for more than {LIFETIME} s, "
                      "which Appsmith never signs")
