"""Exchange Online PowerShell on a Windows management host, over WinRM with pypsrp.

One runspace pool per session; cmdlets only with bound parameters; the pool's close always runs, also on
errors and Ctrl-C. Connecting it to Exchange Online is `connect.py`'s part.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from pypsrp.complex_objects import ErrorRecord, GenericComplexObject
from pypsrp.exceptions import AuthenticationError, WinRMError, WinRMTransportError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from roomsops.adapters import net
from roomsops.adapters.exo.errors import CmdletError, CmdletFailure
from roomsops.core.errors import ConnectError, InputError, OperationFailed
from roomsops.core.logs import log, register_secret
from roomsops.core.settings import Settings

__all__ = ["Batch", "CmdletError", "CmdletFailure", "ExchangeSession", "open_host", "winrm_password"]

PASSWORD_AUTHS = frozenset({"basic", "ntlm", "negotiate", "credssp"})

Params = Mapping[str, Any]


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
                    code=DROPPED,
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


#: The code of the OperationFailed raised when the WinRM connection drops after connecting.
DROPPED = "winrm_dropped"


def dropped_while_reading(exc: OperationFailed) -> ConnectError:
    """A connection dropped during a command that only reads the tenant: nothing was changed, so it is a failure
    to reach Exchange (exit 3), not a half-done change with "the steps before it were done"."""
    return ConnectError(
        f"{exc.message.removesuffix('; the steps before it were done')}; nothing was changed (it only reads)",
        "check the management host and the network, then run the command again",
        code=DROPPED,
    )


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


_UNBALANCED = "an unbalanced [ ] around an IPv6 address"


def check_host(settings: Settings) -> None:
    """`powershell.host` is the management host's name (or IP address) alone: written with a port
    (`host:5986`, `[2001:db8::5]:5986`), as the WinRM URL (`https://host:5986/wsman`) or with an unbalanced
    bracket it is a configuration error (exit 2, before anything connects), not an unreachable host or a crash."""
    ps = settings.powershell
    if not ps.host:
        raise InputError("powershell.host is not set", "set [powershell] host to the Windows management host")
    text = ps.host.strip()
    scheme, name, port = "", text, None
    if "://" in text or "/" in text:
        problem = "is a URL"
        try:
            parts = urlsplit(text if "://" in text else f"//{text}")
        except ValueError:  # an unbalanced [IPv6] bracket: no host to name, the advice says what to write
            scheme, name = text.partition("://")[0].casefold() if "://" in text else "", ""
            problem = f"is a URL ({_UNBALANCED})"
        else:
            scheme, name = parts.scheme.casefold(), parts.hostname or ""
            # A port that is no number: named as the host's problem only.
            with contextlib.suppress(ValueError):
                port = parts.port
    elif "[" in text or "]" in text:  # an IPv6 address in brackets, as a URL writes it
        bracketed = re.fullmatch(r"\[([^\[\]]+)\](?::(\d*))?", text)
        if bracketed is None:
            name, problem = "", f"has {_UNBALANCED}"
        elif bracketed.group(2) is None:
            return  # "[2001:db8::5]": the WinRM URL takes it as written
        else:
            name, port_text, problem = bracketed.group(1), bracketed.group(2), "has a port"
            port = int(port_text) if port_text else None
    elif text.count(":") == 1:  # an IPv6 address has several colons
        name, _, port_text = text.partition(":")
        port, problem = (int(port_text) if port_text.isdigit() else None), "has a port"
    elif text != ps.host or not text or any(c.isspace() for c in text):
        name, problem = (text.split() or [""])[0], "has white space"
    else:
        return
    origin = settings.origin("powershell.host")
    advice = [f'powershell.host = "{name or "<host name>"}"']
    if port is not None:
        advice.append(f"powershell.port = {port}")
    if scheme in {"http", "https"}:
        advice.append(f"powershell.ssl = {'true' if scheme == 'https' else 'false'}")
    raise InputError(
        f"powershell.host = {ps.host!r} (from {origin}) {problem}: it takes the management host's name or "
        "IP address only; nothing was changed",
        f"write {' and '.join(advice)} where it is set ({origin}): the port goes into powershell.port, HTTPS "
        "is powershell.ssl, roomsops builds the WinRM URL; then run the command again",
        code="bad_setting",
    )


def _wsman(settings: Settings, password: str | None) -> WSMan:
    ps = settings.powershell
    check_host(settings)
    if ps.auth not in PASSWORD_AUTHS | {"kerberos", "certificate"}:
        raise InputError(
            f"powershell.auth {ps.auth!r} is not known",
            "use negotiate, kerberos, ntlm, credssp, basic or certificate",
        )
    if ps.auth == "basic" and not ps.ssl:
        # Refused before any packet is sent: the connection itself would be the leak. A configuration error
        # (exit 2), not a failure to connect.
        raise InputError(
            "refusing Basic authentication over plain HTTP: it would send the password in clear text",
            "set powershell.ssl = true (WinRM over HTTPS, port 5986), or use negotiate/kerberos",
            code="insecure_transport",
        )
    if ps.auth == "certificate" and not ps.ssl:
        # WinRM takes a client certificate over HTTPS only (pypsrp: no message encryption with it): a
        # configuration error (exit 2), not a crash of the connection.
        raise InputError(
            f"powershell.auth = certificate (from {settings.origin('powershell.auth')}) needs WinRM over HTTPS, "
            f"but powershell.ssl = false (from {settings.origin('powershell.ssl')}); nothing was changed",
            "set powershell.ssl = true (WinRM over HTTPS, port 5986), or choose another powershell.auth "
            "(negotiate, kerberos, ntlm)",
            code="insecure_transport",
        )
    extra = _auth_requirements(settings)
    cert_validation: bool | str = True
    ca_bundle = settings.setting_path("powershell.ca_bundle", "file") if ps.ssl else None
    if ca_bundle is not None:
        cert_validation = str(ca_bundle)
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
        **extra,  # type: ignore[arg-type]  # pypsrp takes the certificate files as keywords
    )


#: The optional library each powershell.auth needs, and the pypsrp extra that installs it.
#: powershell.auth → (the distribution it needs, pypsrp's extra that installs it); looked up as an installed
#: distribution (importlib.metadata), not imported or found as a module by name (review16's contract test).
_AUTH_LIBRARIES = {"kerberos": ("gssapi", "kerberos"), "credssp": ("requests-credssp", "credssp")}


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


#: powershell.certificate_file and …key_file, and pypsrp's keyword for each.
_CERTIFICATE_FILES = (
    ("powershell.certificate_file", "certificate_pem"),
    ("powershell.certificate_key_file", "certificate_key_pem"),
)


def _auth_requirements(settings: Settings) -> dict[str, str]:
    """What `powershell.auth` needs beyond a password, checked before any connection (review21y): a library that
    is not installed, or the certificate files, is a configuration error (exit 2), not a crash."""
    ps = settings.powershell
    origin = settings.origin("powershell.auth")
    needed = _AUTH_LIBRARIES.get(ps.auth)
    if needed is not None and not (ps.auth == "kerberos" and sys.platform == "win32"):  # Windows: SSPI
        module, extra = needed
        if not _installed(module):
            raise InputError(
                f"powershell.auth = {ps.auth} (from {origin}) needs the Python library {module}, which is not "
                "installed here; nothing was changed",
                f"install it into roomsops' Python environment (pip install 'pypsrp[{extra}]'"
                + (
                    ", with the system's Kerberos libraries, e.g. libkrb5-dev"
                    if ps.auth == "kerberos"
                    else ""
                )
                + f"), or choose another powershell.auth in {origin} (negotiate, ntlm)",
                code="bad_setting",
            )
    if ps.auth != "certificate":
        return {}
    paths = {}
    for label, _keyword in _CERTIFICATE_FILES:
        path = settings.setting_path(label, "file")
        if path is None:
            raise InputError(
                f"powershell.auth = certificate (from {origin}) needs {label}, which is not set; nothing was "
                "changed",
                "set powershell.certificate_file and powershell.certificate_key_file to the client certificate "
                "and its private key (PEM files) mapped to the WinRM user, or choose another powershell.auth "
                "(negotiate, kerberos, ntlm)",
                code="bad_setting",
            )
        paths[label] = path
    _check_client_certificate(settings, paths)
    return {keyword: str(paths[label]) for label, keyword in _CERTIFICATE_FILES}


#: The client certificate's files as the TLS library reads them: what each holds, and how to make it from a .pfx.
_CLIENT_PEM = {
    "powershell.certificate_file": (
        "certificate",
        "openssl pkcs12 -in client.pfx -clcerts -nokeys -out client.pem",
    ),
    "powershell.certificate_key_file": (
        "private key",
        "openssl pkcs12 -in client.pfx -nocerts -nodes -out client.key",
    ),
}
_PEM_PRIVATE_KEY = re.compile(
    rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)


def _check_client_certificate(settings: Settings, files: Mapping[str, Path]) -> None:
    """The client certificate and its key as the TLS library reads them (PEM, the key unencrypted), checked
    before connecting: else the connection fails as if the host's certificate were not trusted (review21z)."""
    for label, path in files.items():
        kind, convert = _CLIENT_PEM[label]
        try:
            data = path.read_bytes()
            if kind == "certificate":
                x509.load_pem_x509_certificates(data)
            elif (block := _PEM_PRIVATE_KEY.search(data)) is None:
                raise ValueError("no PEM private key")
            else:
                serialization.load_pem_private_key(block.group(), None)
            continue
        except OSError as exc:
            problem = f"cannot be read ({exc.strerror})"
        except TypeError:
            problem = "holds an encrypted private key (roomsops has no setting for its password)"
        except (ValueError, UnsupportedAlgorithm):
            problem = f"holds no PEM {kind}"
        raise InputError(
            f"{label} = {str(path)!r} (from {settings.origin(label)}) {problem}; nothing was changed",
            f"point {label} at the client certificate's {kind} as a PEM file"
            + (", unencrypted" if kind == "private key" else "")
            + f" (from a .pfx: {convert})",
            code="bad_setting",
        )


def _stderr_warning(text: str) -> None:
    sys.stderr.write(f"Warning: {text}\n")


def check_cert_validation(settings: Settings, warn: Callable[[str], None] = _stderr_warning) -> None:
    """`powershell.cert_validation = false` switches off the check of the management host's TLS certificate:
    refused (exit 2) with an authentication that sends a password, which would go to whoever answers; with
    kerberos or certificate authentication a loud warning on every run that connects."""
    ps = settings.powershell
    if ps.cert_validation or not ps.ssl:
        return
    origin = settings.origin("powershell.cert_validation")
    if ps.auth in PASSWORD_AUTHS:
        raise InputError(
            f"powershell.cert_validation = false (from {origin}) is refused with powershell.auth = {ps.auth}: "
            "without checking the management host's certificate the WinRM password goes to whoever answers",
            "set powershell.ca_bundle to the CA that issued the host's certificate and remove "
            f"cert_validation = false from {origin} (or use kerberos)",
            code="insecure_transport",
        )
    warn(
        f"TLS CERTIFICATE VALIDATION IS OFF for the WinRM host {ps.host} (powershell.cert_validation = false "
        f"from {origin}): anyone on the network path can pose as the management host and read or change "
        "what roomsops sends; set powershell.ca_bundle instead"
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


#: What to check when the host refuses a client certificate (not the password variable: none was sent).
_REFUSED_REMEDY = {
    "certificate": "check that the host maps the client certificate of powershell.certificate_file to the WinRM "
    "user (New-Item WSMan:\\localhost\\ClientCertificate) and trusts its issuer",
}


def _connect_error(settings: Settings, exc: Exception) -> ConnectError:
    ps = settings.powershell
    where = f"WinRM host {ps.host}:{ps.port or (5986 if ps.ssl else 5985)}"
    if isinstance(exc, requests.RequestException):
        return net.connect_error(
            exc,
            where,
            tls_remedy="set powershell.ca_bundle to the CA that issued the host's certificate",
            remedy="check powershell.host and port, and that WinRM over HTTPS is enabled on the host",
        )
    if isinstance(exc, AuthenticationError) or (isinstance(exc, WinRMTransportError) and exc.code == 401):
        return ConnectError(
            f"{where} refused the credentials of {ps.username or '(no user)'} (HTTP 401)",
            _REFUSED_REMEDY.get(ps.auth, f"check powershell.username and the password in ${ps.password_env}"),
            code="winrm_auth",
        )
    if isinstance(exc, WinRMTransportError):
        return ConnectError(
            f"{where} answered HTTP {exc.code}", "check that WinRM listens there (winrm quickconfig)"
        )
    return ConnectError(f"{where} failed: {_short(exc)}", "run with --debug for details")


@contextlib.contextmanager
def open_host(
    settings: Settings,
    environ: Mapping[str, str],
    prompt: Callable[[str], str] | None = None,
    warn: Callable[[str], None] = _stderr_warning,
) -> Iterator[ExchangeSession]:
    """A runspace on the management host (no Exchange connection); closed on every way out."""
    check_host(settings)
    check_cert_validation(settings, warn)  # before a password is asked for or sent
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
