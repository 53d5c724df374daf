"""Exchange Online PowerShell on a Windows management host, over WinRM with pypsrp.

One runspace pool per session; `Connect-ExchangeOnline` once; cmdlets only with bound parameters;
`Disconnect-ExchangeOnline` and the pool's close always run, also on errors and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import jwt
import msal
import requests
from pypsrp.complex_objects import ErrorRecord, GenericComplexObject
from pypsrp.exceptions import AuthenticationError, WinRMError, WinRMTransportError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from roomsops.adapters.entra import tokens as auth
from roomsops.core.errors import AuthError, ConnectError, InputError, OperationFailed
from roomsops.core.logs import log, register_secret
from roomsops.core.settings import Settings

PASSWORD_AUTHS = frozenset({"basic", "ntlm", "negotiate", "credssp"})
EXO_AUTHS = frozenset({"app-certificate", "app-token", "device-code"})
KEY_ACCESS_SCRIPT = "Test-CertificateKeyAccess.ps1"

Params = Mapping[str, Any]


@dataclass(frozen=True)
class CmdletFailure:
    """One error a cmdlet reported: which cmdlet, its message, and PowerShell's FullyQualifiedErrorId."""

    cmdlet: str
    message: str
    error_id: str
    target: str | None = None
    category: str | None = None

    def matches(self, *fragments: str) -> bool:
        text = f"{self.error_id} {self.message}"
        return any(fragment in text for fragment in fragments)


class CmdletError(OperationFailed):
    """A cmdlet failed (exit 1); `failures` keeps every error record of the pipeline."""

    code = "cmdlet_failed"

    def __init__(self, failures: Sequence[CmdletFailure], remedy: str | None = None) -> None:
        first = failures[0]
        super().__init__(f"{first.cmdlet} failed: {first.message} ({first.error_id})", remedy)
        self.failures = tuple(failures)


@dataclass(frozen=True)
class Batch:
    """What a pipeline of several statements returned: all output objects and all error records."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    failures: list[CmdletFailure] = field(default_factory=list)


def plain(value: Any) -> Any:
    """pypsrp's deserialized objects as plain data: adapted and extended properties merged."""
    if isinstance(value, GenericComplexObject):
        if not value.adapted_properties and not value.extended_properties:
            if value.property_sets:
                return [plain(v) for v in value.property_sets]
            return value.to_string
        merged = {**value.extended_properties, **value.adapted_properties}
        return {str(k): plain(v) for k, v in merged.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


_EXO_MESSAGE = re.compile(r"^Ex[0-9A-F]+\|([\w.]+)\|(.*)$", re.S)


def _record_message(record: ErrorRecord) -> str:
    """The exception's own text (EXO V3 prefixes it with 'ExNNNN|Type|'), else PowerShell's summary."""
    exception = record.exception
    text = None
    if isinstance(exception, GenericComplexObject):
        text = exception.adapted_properties.get("Message") or exception.extended_properties.get("Message")
    elif exception is not None:
        text = str(exception)
    text = str(text or record.details_message or record.message or "")
    found = _EXO_MESSAGE.match(text)
    return found.group(2) if found else text


def _failure(record: Any, fallback_cmdlet: str) -> CmdletFailure:
    if isinstance(record, ErrorRecord):
        command = record.command_name or record.invocation_name or fallback_cmdlet
        return CmdletFailure(
            cmdlet=str(command),
            message=" ".join(_record_message(record).split()),
            error_id=str(record.fq_error or ""),
            target=str(record.target_name) if record.target_name else None,
            category=str(record.reason) if record.reason else None,
        )
    return CmdletFailure(cmdlet=fallback_cmdlet, message=" ".join(str(record).split()), error_id="")


def key_access_script() -> str:
    """roomsops' one script: reads a private key's ACL, which no cmdlet can (values bound as parameters)."""
    return (
        resources.files("roomsops.adapters.exo.powershell")
        .joinpath(KEY_ACCESS_SCRIPT)
        .read_text(encoding="utf-8")
    )


class ExchangeSession:
    """An open runspace on the management host, connected to Exchange Online (or not, for host checks)."""

    def __init__(self, pool: RunspacePool, host: str) -> None:
        self._pool = pool
        self.host = host
        self.connected = False

    def _invoke(self, ps: PowerShell, names: Sequence[str]) -> Batch:
        label = ", ".join(dict.fromkeys(names))
        log.debug("pipeline: %s", label)
        try:
            output = ps.invoke()
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                ps.stop()  # the host stops the pipeline; the session's close still runs
            raise
        except (WinRMError, requests.RequestException) as exc:
            if self.connected:
                # Work has begun (exit 1, not 3): what ran before stays; the command is safe to run again.
                raise OperationFailed(
                    f"the WinRM connection to {self.host} failed during {label}: {_short(exc)}; "
                    "the steps before it were done",
                    "check the management host and the network, then run the command again "
                    "(it keeps what is already in place)",
                    code="winrm_dropped",
                ) from None
            raise ConnectError(
                f"the WinRM connection to {self.host} failed during {label}: {_short(exc)}",
                "check the management host and the network, then run the command again",
            ) from None
        failures = [_failure(record, names[0]) for record in ps.streams.error]
        # pypsrp 0.9 sets had_errors only when the pipeline failed (terminating error); errors of the
        # error stream are the non-terminating ones, so both are checked.
        if ps.had_errors and not failures:
            failures.append(
                CmdletFailure(cmdlet=names[0], message="the pipeline failed", error_id="PipelineFailed")
            )
        return Batch(outputs=[plain(o) for o in output], failures=failures)

    def run(self, cmdlet: str, params: Params | None = None) -> list[dict[str, Any]]:
        """Run one cmdlet; any error record raises CmdletError."""
        batch = self.run_batch([(cmdlet, params or {})])
        if batch.failures:
            raise CmdletError(batch.failures)
        return batch.outputs

    def run_batch(self, statements: Sequence[tuple[str, Params]]) -> Batch:
        """Several cmdlets as statements of one pipeline: one round trip; errors are returned, not raised."""
        if not statements:
            return Batch()
        ps = PowerShell(self._pool)
        for index, (cmdlet, params) in enumerate(statements):
            if index:
                ps.add_statement()
            ps.add_cmdlet(cmdlet)
            for name, value in params.items():
                ps.add_parameter(name, value)
        return self._invoke(ps, [s[0] for s in statements])

    def run_script(self, script: str, params: Params) -> list[dict[str, Any]]:
        """Run roomsops' own shipped script with bound parameters (never text built from values)."""
        ps = PowerShell(self._pool)
        ps.add_script(script)
        for name, value in params.items():
            ps.add_parameter(name, value)
        batch = self._invoke(ps, ["script"])
        if batch.failures:
            raise CmdletError(batch.failures)
        return batch.outputs


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


def _wsman(settings: Settings, password: str | None) -> WSMan:
    ps = settings.powershell
    if not ps.host:
        raise InputError("powershell.host is not set", "set [powershell] host to the Windows management host")
    if ps.auth not in PASSWORD_AUTHS | {"kerberos", "certificate"}:
        raise InputError(
            f"powershell.auth {ps.auth!r} is not known",
            "use negotiate, kerberos, ntlm, credssp, basic or certificate",
        )
    if ps.auth == "basic" and not ps.ssl:
        # Refused before any packet is sent: the connection itself would be the leak.
        raise ConnectError(
            "refusing Basic authentication over plain HTTP: it would send the password in clear text",
            "set powershell.ssl = true (WinRM over HTTPS, port 5986), or use negotiate/kerberos",
            code="insecure_transport",
        )
    cert_validation: bool | str = True
    if ps.ssl and ps.ca_bundle:
        cert_validation = str(settings.resolve_path(ps.ca_bundle))
    if ps.ssl and not ps.cert_validation:
        cert_validation = False
    port = ps.port or (5986 if ps.ssl else 5985)
    return WSMan(
        ps.host,
        port=port,
        username=ps.username or None,
        password=password,
        ssl=ps.ssl,
        auth=ps.auth,
        cert_validation=cert_validation,  # type: ignore[arg-type]  # pypsrp takes a CA path too
        no_proxy=True,  # network.proxy is never for WinRM
        connection_timeout=int(settings.network.timeout_seconds),
        operation_timeout=20,
        read_timeout=int(settings.network.timeout_seconds) + 10,
        reconnection_retries=0,
    )


def winrm_password(
    settings: Settings, environ: Mapping[str, str], prompt: Callable[[str], str] | None
) -> str | None:
    """The WinRM password from the variable `powershell.password_env` names, else a prompt on a terminal."""
    ps = settings.powershell
    if ps.auth not in PASSWORD_AUTHS:
        return None
    if ps.password_env and environ.get(ps.password_env):
        password = environ[ps.password_env]
    elif prompt is not None:
        password = prompt(f"WinRM password for {ps.username}@{ps.host}")
    else:
        raise InputError(
            f"${ps.password_env or 'ROOMSOPS_WINRM_PASSWORD'} (the WinRM password) is not set",
            "set it, or run on a terminal to be asked",
        )
    register_secret(password)
    return password


def _connect_error(settings: Settings, exc: Exception) -> ConnectError:
    ps = settings.powershell
    where = f"WinRM host {ps.host}:{ps.port or (5986 if ps.ssl else 5985)}"
    if isinstance(exc, requests.exceptions.SSLError):
        found = re.search(r"certificate verify failed: ([^(')\"]+)", str(exc))  # the reason, not the URL
        return ConnectError(
            f"TLS verification of {where} failed: {found.group(1).strip() if found else _short(exc)}",
            "set powershell.ca_bundle to the CA that issued the host's certificate",
            code="tls_failed",
        )
    if isinstance(exc, AuthenticationError) or (isinstance(exc, WinRMTransportError) and exc.code == 401):
        return ConnectError(
            f"{where} refused the credentials of {ps.username or '(no user)'} (HTTP 401)",
            f"check powershell.username and the password in ${ps.password_env}",
            code="winrm_auth",
        )
    if isinstance(exc, WinRMTransportError):
        return ConnectError(
            f"{where} answered HTTP {exc.code}", "check that WinRM listens there (winrm quickconfig)"
        )
    if isinstance(exc, requests.RequestException):
        return ConnectError(
            f"cannot reach {where}: {_short(exc)}",
            "check powershell.host and port, and that WinRM over HTTPS is enabled on the host",
        )
    return ConnectError(f"{where} failed: {_short(exc)}", "run with --debug for details")


@contextlib.contextmanager
def open_host(
    settings: Settings, environ: Mapping[str, str], prompt: Callable[[str], str] | None = None
) -> Iterator[ExchangeSession]:
    """A runspace on the management host (no Exchange connection); closed on every way out."""
    wsman = _wsman(settings, winrm_password(settings, environ, prompt))
    pool = RunspacePool(wsman, configuration_name=settings.powershell.configuration_name)
    try:
        pool.open()
    except (WinRMError, requests.RequestException) as exc:
        with contextlib.suppress(Exception):
            wsman.close()
        raise _connect_error(settings, exc) from None
    session = ExchangeSession(pool, settings.powershell.host)
    try:
        yield session
    finally:
        try:
            pool.close()
        except Exception as exc:  # closing must not hide the real outcome
            log.warning("closing the runspace pool on %s failed: %s", settings.powershell.host, _short(exc))


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
        certificate = auth.load_certificate(
            settings.resolve_path(exo.certificate_file), exo.certificate_password_env, environ
        )
        credentials = auth.AppCredentials(exo.organization, exo.app_id, certificate=certificate)
    else:
        raise InputError(
            "exo.auth = app-token needs exo.client_secret_env or exo.certificate_file",
            "configure the admin app's credential in [exo]",
        )
    return auth.TokenProvider(credentials, settings)


def device_code_token(settings: Settings, notify: Callable[[str], None]) -> tuple[str, str]:
    """An administrator signs in with the device code flow; returns (access token, user principal name)."""
    exo = settings.exo
    if not exo.app_id or not exo.organization:
        raise InputError(
            "exo.app_id and exo.organization must be set for exo.auth = device-code",
            "set a public client app's id and the tenant's *.onmicrosoft.com domain in [exo]",
        )
    host = settings.cloud.authority_host.split("://", 1)[1].split("/", 1)[0].split(":")[0]
    try:
        app = msal.PublicClientApplication(
            exo.app_id,
            authority=f"{settings.cloud.authority_host}/{exo.organization}",
            http_client=auth.http_session(settings),
            instance_discovery=host in auth.MICROSOFT_AUTHORITY_HOSTS,
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
        raise ConnectError(
            f"cannot reach the token service: {_short(exc)}", "check the network and cloud.authority_host"
        ) from None
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
        token = admin_token_provider(settings, environ).token().access_token
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
    plan = connect_plan(settings, environ, notify)
    with open_host(settings, environ, prompt) as session:
        ps = PowerShell(session._pool)
        ps.add_cmdlet("Import-Module").add_parameter("Name", "ExchangeOnlineManagement")
        ps.add_statement()
        ps.add_cmdlet("Connect-ExchangeOnline")
        for name, value in plan.params.items():
            ps.add_parameter(name, value)
        ps.add_parameter("ShowBanner", False)
        connected = False
        try:
            batch = session._invoke(ps, ["Import-Module", "Connect-ExchangeOnline"])
            if batch.failures:
                raise ConnectError(
                    f"Connect-ExchangeOnline failed: {batch.failures[0].message}",
                    _CONNECT_REMEDIES[plan.mode].format(host=settings.powershell.host),
                    code="exo_connect",
                )
            connected = session.connected = True
            yield session
        finally:
            # Also after Ctrl-C during the connect itself: the module may be connected on the host.
            if connected or sys.exc_info()[0] is KeyboardInterrupt:
                _disconnect(session)


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


@dataclass(frozen=True)
class HostCertificate:
    """A certificate as the management host's store reports it, with the service account's key access."""

    found: bool
    thumbprint: str
    subject: str | None
    not_after: datetime | None
    has_private_key: bool
    key_readable: bool | None
    account: str


def _datetime(value: Any) -> datetime | None:
    """A deserialized DateTime: pypsrp gives datetime objects or ISO text, depending on the serializer."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def host_certificate(session: ExchangeSession, thumbprint: str, account: str) -> HostCertificate:
    out = session.run_script(key_access_script(), {"Thumbprint": thumbprint, "Account": account})
    if not out:
        raise OperationFailed("the certificate check on the host returned nothing", "run with --debug")
    row = out[0]
    not_after = row.get("NotAfter")
    return HostCertificate(
        found=bool(row.get("Found")),
        thumbprint=str(row.get("Thumbprint") or thumbprint),
        subject=row.get("Subject"),
        not_after=_datetime(not_after),
        has_private_key=bool(row.get("HasPrivateKey")),
        key_readable=row.get("KeyReadable"),
        account=account,
    )
