"""How Exchange Online refuses an EWS request: 401 for the token, 403 for EWS switched off or blocked, SOAP faults
for impersonation and mailbox resolution. One place maps `authorize()`'s reasons to these answers.

Sources (details and verification status in FIDELITY.md): the 401 header shapes are observations of Exchange
Online answers quoted in public threads; the 403 `X-EWS-Policy-Reason` values come from Microsoft's page on
controlling access to EWS; the answer to an application access policy denial is the lab's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt

from roomsops.lab.bearer import BearerTokenError
from roomsops.lab.ews.errors import SoapFault
from roomsops.lab.web import Response

#: Office 365 Exchange Online's application id and the issuer Exchange trusts, as its Bearer challenge names them.
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
EXCHANGE_TRUSTED_ISSUERS = "00000001-0000-0000-c000-000000000000@*"

EWS_DISABLED = "EWS is disabled for this user or tenant"
EWS_BLOCKED = "EWS is blocked by policy for this user or tenant"

_DIAGNOSTICS: dict[str, tuple[int, str, str]] = {
    # reason of BearerTokenError -> (code, reason text, error_category)
    "malformed": (2000001, "OAuth token submitted with the request cannot be parsed.", "invalid_token"),
    "bad_signature": (2000001, "The token has an invalid signature.", "invalid_token"),
    "expired": (2000001, "Lifetime validation failed, the token is expired.", "invalid_token"),
    "not_yet_valid": (2000001, "Lifetime validation failed, the token is not yet valid.", "invalid_token"),
    "wrong_issuer": (2000001, "The token issuer is not trusted.", "invalid_token"),
    "wrong_audience": (2000003, "The audience claim value is invalid '{aud}'.", "invalid_resource"),
    "no_permissions": (
        2000008,
        "The token contains no permissions, or permissions can not be understood.",
        "invalid_grant",
    ),
}


def challenge(authorize_uri: str, *, error: bool) -> str:
    parts = [
        f'Bearer client_id="{EXCHANGE_APP_ID}"',
        f'trusted_issuers="{EXCHANGE_TRUSTED_ISSUERS}"',
        'token_types="app_asserted_user_v1 service_asserted_app_v1"',
        f'authorization_uri="{authorize_uri}"',
    ]
    if error:
        parts.append('error="invalid_token"')
    return ", ".join(parts)


def unauthorized(authorize_uri: str, reason: str | None, token: str | None = None) -> Response:
    """HTTP 401 with Exchange Online's Bearer challenge; `x-ms-diagnostics` says why a token was refused."""
    headers = [("WWW-Authenticate", challenge(authorize_uri, error=reason is not None))]
    if reason is not None:
        code, text, category = _DIAGNOSTICS.get(reason, _DIAGNOSTICS["malformed"])
        if "{aud}" in text:
            text = text.format(aud=_unverified_claims(token).get("aud", ""))
        headers.append(("x-ms-diagnostics", f'{code};reason="{text}";error_category="{category}"'))
    return Response(401, b"", headers)


def token_refused(authorize_uri: str, error: BearerTokenError, token: str | None) -> Response:
    return unauthorized(authorize_uri, None if error.reason == "missing" else error.reason, token)


def forbidden(policy_reason: str | None) -> Response:
    """HTTP 403, empty body; `X-EWS-Policy-Reason` when EWS itself is off or blocked for the caller."""
    headers = [("X-EWS-Policy-Reason", policy_reason)] if policy_reason else []
    return Response(403, b"", headers)


def refusal(reason: str, claims: Mapping[str, Any], address: str, authorize_uri: str) -> Response | SoapFault:
    """The answer to an `authorize()` decision that is not "ok"; unknown reasons are an access denial."""
    if reason == "no_permission":
        if not claims.get("roles"):
            # A token without any application permission is refused before EWS looks at the request.
            return unauthorized(authorize_uri, "no_permissions")
        return SoapFault("ErrorImpersonateUserDenied")
    if reason == "mailbox_not_found":
        return SoapFault("ErrorNonExistentMailbox", values={"SmtpAddress": address})
    if reason in ("ews_disabled", "ews_disabled_mailbox"):
        return forbidden(EWS_DISABLED)
    if reason == "ews_app_not_allowed":
        return forbidden(EWS_BLOCKED)
    if reason == "denied_by_policy":
        return forbidden(None)
    return SoapFault("ErrorAccessDenied")


def _unverified_claims(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims
