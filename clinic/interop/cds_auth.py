"""CDS Hooks 2.0 client authentication ("Trusting CDS Clients"): every call carries a JWT signed with the CDS
client's private key; Chairside verifies it against the public keys configured for that issuer.

Checks: a trusted ``iss``; an asymmetric ``alg`` (never ``none`` or HMAC); a ``kid`` found in the issuer's JWK
Set; the signature; ``aud`` = the URL of the endpoint called; ``exp``/``iat`` present and valid; ``jti`` present
and never seen before (replay); ``sub`` present and ``exp`` at most 5 minutes after ``iat`` (CDS Hooks 2.0). JWK
Sets are configured out of band (the spec allows it); ``jku`` is not fetched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from clinic.interop import conf
from clinic.interop.models import SeenJwt

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 300  # CDS Hooks 2.0: exp no more than 5 minutes after iat


class CdsAuthError(Exception):
    """The call is not from a trusted CDS client; the message says why (no secrets in it)."""


def expected_audience(request: HttpRequest) -> str:
    base = conf.cds_base_url()
    if base:
        return base + request.path
    return request.build_absolute_uri(request.path)


def verify_request(request: HttpRequest) -> dict[str, Any]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise CdsAuthError("A signed JWT is required (Authorization: Bearer <JWT>).")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"The JWT cannot be read ({exc.__class__.__name__}).") from exc
    issuer = unverified.get("iss")
    trusted = conf.cds_issuers()
    entry = trusted.get(issuer) if isinstance(issuer, str) else None
    if entry is None:
        raise CdsAuthError("The JWT issuer is not a trusted CDS client.")
    algorithm = header.get("alg")
    allowed = tuple(a for a in entry.get("algorithms", ALGORITHMS) if a in ALGORITHMS)
    if algorithm not in allowed:
        raise CdsAuthError(f"JWT algorithm {algorithm!r} is not accepted (use one of {', '.join(allowed)}).")
    kid = header.get("kid")
    jwk = next((k for k in entry.get("jwks", {}).get("keys", []) if k.get("kid") == kid), None)
    if not kid or jwk is None:
        raise CdsAuthError("The JWT key id (kid) is not in the issuer's configured key set.")
    try:
        key = jwt.PyJWK(jwk, algorithm=algorithm).key
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=expected_audience(request),
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise CdsAuthError("The JWT has expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise CdsAuthError("The JWT audience is not this endpoint's URL.") from exc
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"The JWT is not valid ({exc.__class__.__name__}).") from exc
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise CdsAuthError("The JWT sub claim (the CDS client's client_id) is required.")
    if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
        raise CdsAuthError(f"The JWT must expire at most {MAX_LIFETIME_SECONDS // 60} minutes after it was issued.")
    _remember_jti(str(issuer), str(claims["jti"]), int(claims["exp"]))
    return claims


def _remember_jti(issuer: str, jti: str, exp: int) -> None:
    now = timezone.now()
    SeenJwt.objects.filter(expires_at__lt=now - dt.timedelta(seconds=LEEWAY_SECONDS)).delete()
    try:
        expires = dt.datetime.fromtimestamp(exp, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise CdsAuthError("The JWT expiry (exp) is not a usable time.") from exc
    try:
        with transaction.atomic():
            SeenJwt.objects.create(issuer=issuer[:300], jti=jti[:200], expires_at=expires)
    except IntegrityError as exc:
        raise CdsAuthError("This JWT was already used (jti replay).") from exc
