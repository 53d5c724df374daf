"""An administrator signs in with msal's device code flow (`exo.auth = device-code`) for the admin connection."""

from __future__ import annotations

from collections.abc import Callable

import jwt
import msal
import requests

from roomsops.adapters.entra.tokens import MICROSOFT_AUTHORITY_HOSTS, http_session, transport_error
from roomsops.core.errors import AuthError, InputError
from roomsops.core.logs import register_secret
from roomsops.core.settings import Settings


def device_code_token(settings: Settings, notify: Callable[[str], None]) -> tuple[str, str]:
    """Sign in as `exo.app_id` (a public client) in `exo.organization`; returns (access token, user principal
    name). `notify` shows the person the code and where to enter it."""
    exo = settings.exo
    if not exo.app_id or not exo.organization:
        raise InputError(
            "exo.app_id and exo.organization must be set for exo.auth = device-code",
            "set a public client app's id and the tenant's *.onmicrosoft.com domain in [exo]",
        )
    host = settings.cloud.authority_host.split("://", 1)[1].split("/", 1)[0].split(":")[0]
    authority = f"{settings.cloud.authority_host}/{exo.organization}"
    try:
        app = msal.PublicClientApplication(
            exo.app_id,
            authority=authority,
            http_client=http_session(settings),
            instance_discovery=host in MICROSOFT_AUTHORITY_HOSTS,
        )
        flow = app.initiate_device_flow(scopes=[f"{settings.cloud.ews_resource}/.default"])
        if "user_code" not in flow:
            raise AuthError(
                f"the device code flow could not start: {flow.get('error_description', flow)}",
                "check exo.app_id (public client flows must be allowed)",
            )
        notify(str(flow["message"]))
        result = app.acquire_token_by_device_flow(flow)
    except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
        raise transport_error(authority, exc) from None
    if "access_token" not in result:
        raise AuthError(
            f"the sign-in did not complete: {str(result.get('error_description', '')).splitlines()[0]}",
            "run the command again and complete the sign-in in time",
        )
    token = str(result["access_token"])
    register_secret(token)
    claims = result.get("id_token_claims") or jwt.decode(token, options={"verify_signature": False})
    upn = str(claims.get("preferred_username") or claims.get("upn") or "")
    return token, upn
