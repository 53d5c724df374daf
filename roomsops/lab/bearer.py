"""Checking the lab's access tokens as a resource server does (EWS and WinRM call this on every request).

Signature with the tenant's published key, audience, issuer and tenant, expiry; returns the claims or raises.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection
from typing import Any

import jwt

from roomsops.lab.context import LabContext
from roomsops.lab.pki import SigningKey
from roomsops.lab.web import Request

CLOCK_SKEW = 300  # seconds of tolerance on token times (unverified; see FIDELITY.md)


class BearerTokenError(Exception):
    """A bearer token the resource refuses; `reason` is a stable code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        # missing | malformed | bad_signature | expired | not_yet_valid | wrong_audience | wrong_issuer
        self.reason = reason


def verify_bearer_token(
    token: str,
    signing_key: SigningKey,
    *,
    audiences: Collection[str],
    tenant_id: str,
    leeway: float = CLOCK_SKEW,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a lab-issued access token the way a resource server does; return its claims or raise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise BearerTokenError("malformed", f"not a JWT: {exc}") from None
    if header.get("alg") != "RS256":
        raise BearerTokenError("bad_signature", f"unexpected signing algorithm {header.get('alg')!r}")
    if header.get("kid", signing_key.kid) != signing_key.kid:
        raise BearerTokenError("bad_signature", "signed with a key this tenant does not publish")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key.public_key,
            algorithms=["RS256"],
            options={
                "verify_aud": False,
                "verify_iss": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "require": ["aud", "iss", "exp", "tid"],
            },
        )
    except jwt.InvalidSignatureError:
        raise BearerTokenError("bad_signature", "the token's signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise BearerTokenError("malformed", str(exc)) from None
    moment = time.time() if now is None else now
    if float(claims["exp"]) < moment - leeway:
        raise BearerTokenError("expired", f"the token expired at {_utc(float(claims['exp']))}")
    if "nbf" in claims and float(claims["nbf"]) > moment + leeway:
        raise BearerTokenError("not_yet_valid", f"the token is not valid before {_utc(float(claims['nbf']))}")
    wanted = {normalize_resource(a) for a in audiences}
    if normalize_resource(str(claims["aud"])) not in wanted:
        raise BearerTokenError("wrong_audience", f"the token is for {claims['aud']}, not for this resource")
    if claims["tid"] != tenant_id or claims["iss"] != issuer_v1(tenant_id):
        raise BearerTokenError("wrong_issuer", "the token was issued for another tenant")
    return claims


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    value = request.header("Authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def issuer_v1(tenant_id: str) -> str:
    return f"https://sts.windows.net/{tenant_id}/"


def verify_request(ctx: LabContext, request: Request, *, leeway: float = CLOCK_SKEW) -> dict[str, Any]:
    """The claims of the request's bearer token, checked against this lab's key, resources and tenant."""
    token = bearer_token(request)
    if token is None:
        raise BearerTokenError("missing", "no Authorization: Bearer token")
    return verify_bearer_token(
        token, ctx.pki.signing, audiences=ctx.resources, tenant_id=ctx.tenant.tenant_id, leeway=leeway
    )


def normalize_resource(resource: str) -> str:
    """Scheme and host lower-cased, no trailing slash: how resource identifiers compare."""
    scheme, sep, rest = resource.strip().partition("://")
    return (scheme.lower() + sep + rest.lower()).rstrip("/") if sep else resource.strip().rstrip("/")


def _utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
