"""Connect-ExchangeOnline on the management host: the connect plan for `exo.auth` (certificate, admin app
token or an administrator's device code), and the session that disconnects on every way out."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from roomsops.adapters.entra import tokens as auth
from roomsops.adapters.entra.device_code import device_code_token
from roomsops.adapters.exo.session import ExchangeSession, check_cert_validation, check_host, open_host
from roomsops.core.errors import AuthError, ConnectError, InputError, OperationFailed
from roomsops.core.logs import log, register_secret
from roomsops.core.settings import Settings

EXO_AUTHS = frozenset({"app-certificate", "app-token", "device-code"})


@dataclass(frozen=True)
class ConnectPlan:
    """The Connect-ExchangeOnline parameters for the configured `exo.auth` (secrets masked in repr)."""

    mode: str
    params: Mapping[str, Any] = field(repr=False)


def admin_token_provider(settings: Settings, environ: Mapping[str, str]) -> auth.TokenProvider:
    """msal credentials of the Exchange admin app (`[exo]`), never the sync app's."""
    exo = settings.exo
    if not exo.app_id or not exo.organization:
        raise InputError(
            "exo.app_id and exo.organization must be set for exo.auth = app-token",
            "set the admin app's id and the tenant's *.onmicrosoft.com domain in [exo]",
        )
    if exo.client_secret_env:
        secret = environ.get(exo.client_secret_env)
        if not secret:
            raise InputError(
                f"${exo.client_secret_env} (the admin app's client secret) is not set",
                f"set {exo.client_secret_env}, or configure exo.certificate_file",
            )
        register_secret(secret)
        credentials = auth.AppCredentials(exo.organization, exo.app_id, client_secret=secret)
    elif exo.certificate_file:
        path = settings.setting_path("exo.certificate_file", "file")
        assert path is not None  # exo.certificate_file is set here
        certificate = auth.load_certificate(path, exo.certificate_password_env, environ)
        credentials = auth.AppCredentials(exo.organization, exo.app_id, certificate=certificate)
    else:
        raise InputError(
            "exo.auth = app-token needs exo.client_secret_env or exo.certificate_file",
            "configure the admin app's credential in [exo]",
        )
    return auth.TokenProvider(credentials, settings)


def connect_plan(
    settings: Settings, environ: Mapping[str, str], notify: Callable[[str], None]
) -> ConnectPlan:
    exo = settings.exo
    if exo.auth not in EXO_AUTHS:
        raise InputError(
            f"exo.auth {exo.auth!r} is not known", "use app-certificate, app-token or device-code"
        )
    common: dict[str, Any] = {}
    if settings.cloud.exchange_environment and settings.cloud.exchange_environment != "O365Default":
        common["ExchangeEnvironmentName"] = settings.cloud.exchange_environment
    if exo.auth == "app-certificate":
        if not (exo.app_id and exo.certificate_thumbprint and exo.organization):
            raise InputError(
                "exo.auth = app-certificate needs exo.app_id, exo.certificate_thumbprint and "
                "exo.organization",
                "set them in [exo] of roomsops.toml",
            )
        return ConnectPlan(
            "app-certificate",
            {
                "AppId": exo.app_id,
                "CertificateThumbprint": exo.certificate_thumbprint,
                "Organization": exo.organization,
                **common,
            },
        )
    if exo.auth == "app-token":
        try:
            token = admin_token_provider(settings, environ).token().access_token
        except AuthError as exc:
            raise admin_auth_error(exc, settings) from None
        return ConnectPlan("app-token", {"AccessToken": token, "Organization": exo.organization, **common})
    token, upn = device_code_token(settings, notify)
    return ConnectPlan("device-code", {"AccessToken": token, "UserPrincipalName": upn, **common})


@contextlib.contextmanager
def open_exchange(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    prompt: Callable[[str], str] | None = None,
    notify: Callable[[str], None] = lambda _text: None,
) -> Iterator[ExchangeSession]:
    """A management-host runspace connected to Exchange Online; disconnects and closes on every way out."""
    check_host(settings)  # a malformed setting is refused before an admin token or a device code is asked for
    check_cert_validation(settings)
    plan = connect_plan(settings, environ, notify)
    with open_host(settings, environ, prompt, warn=lambda _text: None) as session:
        connected = False
        try:
            batch = session.run_batch(
                [
                    ("Import-Module", {"Name": "ExchangeOnlineManagement"}),
                    ("Connect-ExchangeOnline", {**plan.params, "ShowBanner": False}),
                ]
            )
            if batch.failures:
                raise ConnectError(
                    f"Connect-ExchangeOnline failed: {batch.failures[0].message}",
                    _CONNECT_REMEDIES[plan.mode].format(host=settings.powershell.host),
                    code="exo_connect",
                )
            connected = session.connected = True
            yield session
        finally:
            # Also after Ctrl-C or SIGTERM (a KeyboardInterrupt too) during the connect itself: the module may be
            # connected on the host.
            interrupted = sys.exc_info()[0]
            if connected or (interrupted is not None and issubclass(interrupted, KeyboardInterrupt)):
                _disconnect(session)


#: The token service's refusals of the admin app's token, answered with the admin app's settings ([exo] of
#: roomsops.toml): the sync app's remedies (ExchangeAppId, ExchangeClientSecret) would break the sync if followed.
_ADMIN_REMEDIES = {
    "AADSTS700016": "check exo.app_id in roomsops.toml: the admin app's Application (client) ID (the app "
    "registration's Overview page; not the sync app's id), and exo.organization",
    "AADSTS7000215": "create a new secret under the admin app's Certificates & secrets and put its Value (not "
    "the Secret ID) in the variable exo.client_secret_env names",
    "AADSTS7000222": "create a new secret under the admin app's Certificates & secrets and put its Value in the "
    "variable exo.client_secret_env names",
    "AADSTS90002": "check exo.organization in roomsops.toml (the tenant's *.onmicrosoft.com domain)",
    "AADSTS900023": "check exo.organization in roomsops.toml (the tenant's *.onmicrosoft.com domain)",
    "AADSTS700027": "upload the public part (.cer) of exo.certificate_file under Certificates & secrets of the "
    "admin app registration",
    "AADSTS7000112": "enable the admin app's enterprise application in Entra ID",
}


def admin_auth_error(exc: AuthError, settings: Settings) -> AuthError:
    """A refused token of the admin app, said to be the admin app's (exo.app_id), with its own remedy."""
    remedy = _ADMIN_REMEDIES.get(exc.code, exc.remedy)
    return AuthError(
        f"the admin app (exo.app_id {settings.exo.app_id}): {exc.message}", remedy, code=exc.code
    )


_CONNECT_REMEDIES = {
    "app-certificate": "the certificate is looked up in the certificate store of the management host {host}; "
    "import it there with its private key and register it on the admin app",
    "app-token": "the admin app needs Exchange.ManageAsApp (admin consent) and an Exchange administrator role",
    "device-code": "sign in with an Exchange administrator account",
}


def _disconnect(session: ExchangeSession) -> None:
    try:
        session.run("Disconnect-ExchangeOnline", {"Confirm": False})
    except (OperationFailed, ConnectError) as exc:  # a cmdlet error, or the connection dropped
        log.warning("Disconnect-ExchangeOnline failed: %s", exc.message)
    session.connected = False
