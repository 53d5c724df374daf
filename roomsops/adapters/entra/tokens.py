"""App-only OAuth with msal: the sync app's credentials, token acquisition, Azure AD errors mapped.

One `TokenProvider` per app and process: msal's cache serves repeated requests, and a 401 from a
resource drops the cached token so the next request fetches a fresh one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import msal
import requests
from cryptography.hazmat.primitives import serialization

from roomsops.adapters import net
from roomsops.adapters.appsettings import keys as appconfig
from roomsops.adapters.appsettings.document import read_document
from roomsops.adapters.certs import load_certificate as load_certificate_objects
from roomsops.adapters.certs import normalize_guid, normalize_thumbprint
from roomsops.adapters.net import http_session
from roomsops.core.errors import AuthError, ConnectError, InputError
from roomsops.core.logs import MASK, log, register_secret
from roomsops.core.settings import Settings

#: Authority hosts Microsoft's instance discovery knows; any other host is a private one (the lab).
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.microsoft.com",
        "login.windows.net",
    }
)
FULL_ACCESS = "full_access_as_app"
#: How an administrator takes the tenant-wide grant away in Entra ID (RBAC setups: it defeats every scope).
FULL_ACCESS_REMOVAL = (
    "Entra admin center → App registrations → the sync app → API permissions: on full_access_as_app "
    "(Office 365 Exchange Online) choose Revoke admin consent, then Remove permission; check under Enterprise "
    "applications → the app → Permissions that it is gone. Tokens issued before keep the role until they "
    "expire (about an hour); 'roomsops auth test' shows the roles of a new token."
)

# Azure AD error codes → (cause, remedy). Codes from Microsoft's AADSTS error code reference.
AADSTS: dict[int, tuple[str, str]] = {
    7000215: (
        "the client secret is wrong",
        "create a new secret under Certificates & secrets, copy its Value (not the Secret ID) and run "
        "'roomsops config set ExchangeClientSecret -'",
    ),
    7000222: (
        "the client secret has expired",
        "create a new secret under Certificates & secrets and run 'roomsops config set ExchangeClientSecret -'",
    ),
    700016: (
        "no app with this app id exists in the tenant",
        "check ExchangeAppId (Application (client) ID on the app's Overview page) and ExchangeTenantId",
    ),
    90002: (
        "the tenant does not exist",
        "check ExchangeTenantId (Directory (tenant) ID on the app's Overview page)",
    ),
    900023: ("the tenant id is not valid", "check ExchangeTenantId (a GUID)"),
    700027: (
        "the certificate is not registered for this app (or the signature does not verify)",
        "upload the certificate's public part (.cer) under Certificates & secrets of the app registration",
    ),
    700024: (
        "the client assertion is not within its valid time range",
        "check this machine's clock (time sync)",
    ),
    7000112: ("the app is disabled", "enable the enterprise application in Entra ID"),
    1002012: ("the requested scope is not valid", "check cloud.ews_url: the scope is <EWS host>/.default"),
    70011: ("the requested scope is not valid", "check cloud.ews_url: the scope is <EWS host>/.default"),
    500011: (
        "the resource (Office 365 Exchange Online) is not known in the tenant",
        "check cloud.ews_url and that the tenant has Exchange Online",
    ),
    90055: (
        "the token service is throttling (too many requests)",
        "wait a few minutes, then run again; lower sync.concurrency if it keeps happening",
    ),
}


@dataclass(frozen=True)
class CertificateCredential:
    """A certificate with its private key, for the JWT client assertion."""

    thumbprint: str
    path: Path
    private_key_pem: str = field(repr=False)
    certificate_pem: str = field(repr=False)
    not_after: datetime


@dataclass(frozen=True)
class AppCredentials:
    """An app registration's id, tenant and its one credential (secret or certificate)."""

    tenant_id: str
    app_id: str
    client_secret: str | None = field(default=None, repr=False)
    certificate: CertificateCredential | None = None

    @property
    def kind(self) -> str:
        return "certificate" if self.certificate else "client secret"


def credentials_from_app_settings(
    path: Path, settings: Settings, environ: Mapping[str, str]
) -> AppCredentials:
    """The sync app's credentials from RoomsAppSettings.config (+ auth.certificate_file for a thumbprint)."""
    doc = read_document(path)
    # What ROOMS reads: any spelling of a key (.NET compares keys case-insensitively), the last <add> winning.
    tenant_raw, app_raw = doc.effective(appconfig.TENANT_ID), doc.effective(appconfig.APP_ID)
    for key, value in ((appconfig.TENANT_ID, tenant_raw), (appconfig.APP_ID, app_raw)):
        if not value:
            raise InputError(
                f"{key} is missing in {path}", "run 'roomsops config init' or 'roomsops config check'"
            )
    assert tenant_raw is not None and app_raw is not None
    tenant_id = normalize_guid(tenant_raw, "tenant id").value
    app_id = normalize_guid(app_raw, "app id").value
    secret, thumbprint = doc.effective(appconfig.CLIENT_SECRET), doc.effective(appconfig.CERT_THUMBPRINT)
    if (secret is None) == (thumbprint is None):
        raise InputError(
            f"{path} must hold exactly one of ExchangeClientSecret and ExchangeCertThumbprint",
            "run 'roomsops config check' for details",
        )
    if secret is not None:
        if not secret:
            raise InputError(
                f"ExchangeClientSecret is empty in {path}", "roomsops config set ExchangeClientSecret -"
            )
        register_secret(secret)
        return AppCredentials(tenant_id, app_id, client_secret=secret)
    assert thumbprint is not None
    wanted = normalize_thumbprint(thumbprint).value
    if not settings.auth.certificate_file:
        raise InputError(
            f"ExchangeCertThumbprint is {wanted}, but roomsops has no certificate file",
            "export the certificate with its key and set auth.certificate_file (PEM or PFX)",
        )
    certificate_file = settings.setting_path(
        "auth.certificate_file", "file"
    )  # missing: exit 2, key and source
    assert certificate_file is not None
    certificate = load_certificate(certificate_file, settings.auth.certificate_password_env, environ)
    if certificate.thumbprint != wanted:
        raise InputError(
            f"auth.certificate_file has thumbprint {certificate.thumbprint}, "
            f"ExchangeCertThumbprint is {wanted}",
            "run 'roomsops config check' for details",
        )
    return AppCredentials(tenant_id, app_id, certificate=certificate)


def load_certificate(path: Path, password_env: str, environ: Mapping[str, str]) -> CertificateCredential:
    """A certificate file (PEM or PFX) with its private key, as msal wants it."""
    password = None
    if password_env:
        if password_env not in environ:
            raise InputError(
                f"${password_env} (the certificate's password) is not set",
                f"set {password_env}, or change auth.certificate_password_env",
            )
        register_secret(environ[password_env])
        password = environ[password_env].encode("utf-8")
    loaded = load_certificate_objects(
        path, password, password_source=f"${password_env or 'auth.certificate_password_env'}"
    )
    if loaded.private_key is None:
        raise InputError(f"{path} holds no private key", "export the certificate with its private key")
    key_pem = loaded.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    cert_pem = loaded.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return CertificateCredential(
        thumbprint=loaded.info.thumbprint,
        path=path,
        private_key_pem=key_pem,
        certificate_pem=cert_pem,
        not_after=loaded.info.not_after,
    )


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    expires_on: datetime
    claims: Mapping[str, Any]

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.claims.get("roles", ()))


def _error_from_msal(result: Mapping[str, Any], authority: str) -> AuthError:
    codes = list(result.get("error_codes") or [])
    description = str(result.get("error_description") or "")
    match = re.match(r"AADSTS(\d+)", description)
    if not codes and match:
        codes = [int(match.group(1))]
    for code in codes:
        if int(code) in AADSTS:
            cause, remedy = AADSTS[int(code)]
            return AuthError(f"token request refused: {cause} (AADSTS{code})", remedy, code=f"AADSTS{code}")
    first_line = description.splitlines()[0] if description else str(result.get("error"))
    return AuthError(
        f"token request to {authority} refused: {first_line}",
        "see the AADSTS code in Microsoft's error code reference",
        code=str(result.get("error")),
    )


class TokenProvider:
    """Acquires app-only tokens for one app and resource with msal; safe to share between threads. The resource
    is EWS's (`cloud.ews_url`'s host) unless given: `graph_token_provider` asks for Microsoft Graph's."""

    def __init__(self, credentials: AppCredentials, settings: Settings, resource: str | None = None) -> None:
        self.credentials = credentials
        self.authority = f"{settings.cloud.authority_host}/{credentials.tenant_id}"
        self.scope = f"{resource or settings.cloud.ews_resource}/.default"
        self._settings = settings
        self._sha256 = settings.auth.certificate_sha256
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenProvider(app_id={self.credentials.app_id!r}, kind={self.credentials.kind!r}, secret={MASK})"

    def _client_credential(self) -> Any:
        cert = self.credentials.certificate
        if cert is None:
            return self.credentials.client_secret
        if self._sha256:
            # msal: with the public certificate it signs PS256 and sends x5t#S256 and x5c.
            return {"private_key": cert.private_key_pem, "public_certificate": cert.certificate_pem}
        return {"private_key": cert.private_key_pem, "thumbprint": cert.thumbprint}

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            host = self._settings.cloud.authority_host.split("://", 1)[1].split("/", 1)[0].split(":")[0]
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.credentials.app_id,
                    client_credential=self._client_credential(),
                    authority=self.authority,
                    http_client=http_session(self._settings),
                    instance_discovery=host in MICROSOFT_AUTHORITY_HOSTS,
                    token_cache=msal.TokenCache(),
                    timeout=self._settings.network.timeout_seconds,
                )
            except ValueError as exc:  # msal's OIDC discovery failed (an unknown tenant answers 400)
                raise _discovery_error(exc, self.authority) from None
            except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
                raise transport_error(self.authority, exc) from None
        return self._app

    def token(self) -> Token:
        """A valid token for the resource's `/.default` scope, from msal's cache when it has one."""
        with self._lock:
            app = self._application()
            try:
                result = app.acquire_token_for_client(scopes=[self.scope])
            except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
                raise transport_error(self.authority, exc) from None
        if "access_token" not in result:
            raise _error_from_msal(result, self.authority)
        access_token = result["access_token"]
        register_secret(access_token)
        try:
            claims = jwt.decode(access_token, options={"verify_signature": False})
        except jwt.PyJWTError:
            claims = {}
        expires = claims.get("exp") or (datetime.now(UTC).timestamp() + float(result.get("expires_in", 0)))
        log.debug("token for %s from %s", self.scope, result.get("token_source", "identity_provider"))
        return Token(
            access_token=access_token, expires_on=datetime.fromtimestamp(expires, UTC), claims=claims
        )

    def invalidate(self) -> None:
        """Forget cached tokens (a resource answered 401): the next call asks the token service."""
        with self._lock:
            if self._app is not None:
                self._app.remove_tokens_for_client()


def graph_token_provider(credentials: AppCredentials, settings: Settings) -> TokenProvider:
    """Tokens for Microsoft Graph (`https://graph.microsoft.com/.default` in the global cloud): the app's Graph
    application permissions (Calendars.ReadWrite) are their roles."""
    return TokenProvider(credentials, settings, resource=settings.cloud.graph_resource)


def _discovery_error(exc: ValueError, authority: str) -> AuthError:
    """msal hides the service's answer in the chained exception; find its AADSTS code there."""
    seen: BaseException | None = exc
    while seen is not None:
        found = re.search(r"AADSTS(\d+)[^\\\r\n\"]*", str(seen))
        if found:
            # The matched text is the answer's description, e.g. "AADSTS90055: There are too many ...".
            return _error_from_msal(
                {"error_codes": [int(found.group(1))], "error_description": found.group(0)}, authority
            )
        seen = seen.__context__
    return AuthError(
        f"the authority {authority} has no OpenID configuration",
        "check cloud.authority_host and ExchangeTenantId",
        code="authority_invalid",
    )


def transport_error(where: str, exc: Exception) -> ConnectError:
    """A network, TLS or HTTP failure reaching the token service (exit 3)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, msal.exceptions.MsalServiceError):
        found = re.search(r"HTTP Error: (\d+)", str(exc))
        status = int(found.group(1)) if found else status
    if status is not None and not net.is_tls_failure(exc):
        return ConnectError(
            f"the token service at {where} answered HTTP {status}",
            "it may be unavailable or throttling; try again in a few minutes",
            code="token_service",
        )
    return net.connect_error(
        exc,
        where,
        tls_remedy="set network.ca_bundle to the CA that issued the server's certificate (or your proxy's)",
        remedy="check the network, network.proxy and cloud.authority_host",
    )
