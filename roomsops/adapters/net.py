"""The network under every adapter: HTTP sessions as the settings say, and the one reading of a failed connection.

Whatever reached a server (msal for the token service, exchangelib for EWS, pypsrp for WinRM, a plain GET in
a diagnosis), a failed TLS verification or an unreachable server is named the same way: what was reached,
why it failed, and the setting that fixes it.
"""

from __future__ import annotations

import re
import ssl

import requests
import urllib3.exceptions

from roomsops.core.errors import ConnectError
from roomsops.core.settings import Settings

#: Exceptions that mean TLS itself failed (verification or handshake), wherever they sit in the chain.
_TLS_EXCEPTIONS = (ssl.SSLError, requests.exceptions.SSLError, urllib3.exceptions.SSLError)
#: The same, once a library has turned them into text (exchangelib's TransportError, pypsrp's errors).
_TLS_TEXT = re.compile(r"certificate verify failed|SSL\w*Error|\[SSL")
#: Why a connection failed, as the text of the exception chain says it; the first that matches wins.
_REASONS = (
    re.compile(r"certificate verify failed: ([^(')\"]+)"),
    re.compile(r"\] ([^\]]+?)'?\)*$"),
    re.compile(r"(Connection refused)"),
    re.compile(r"(timed out)"),
    re.compile(r"(Name or service not known)"),
    re.compile(r"(Remote end closed connection without response)"),
    re.compile(r"(Connection reset by peer)"),
)


def http_session(settings: Settings) -> requests.Session:
    """A session that trusts `network.ca_bundle` and uses `network.proxy`, ignoring the environment's."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE / HTTPS_PROXY must not override our settings
    ca_bundle = settings.setting_path("network.ca_bundle", "file")  # missing: exit 2 naming key and source
    if ca_bundle is not None:
        session.verify = str(ca_bundle)
    if settings.network.proxy:
        session.proxies = {"https": settings.network.proxy, "http": settings.network.proxy}
    return session


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and not any(current is s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_tls_failure(exc: BaseException) -> bool:
    """TLS verification or the handshake failed (also when a library wrapped the error or kept only its text)."""
    return any(isinstance(e, _TLS_EXCEPTIONS) or _TLS_TEXT.search(str(e)) for e in _chain(exc))


def reason(exc: BaseException) -> str:
    """The cause in a few words ("certificate has expired", "Connection refused"), else the exception's type."""
    text = str(exc)
    for pattern in _REASONS:
        found = pattern.search(text)
        if found:
            return found.group(1).strip(" ')\"")
    return type(exc).__name__


def tls_error(exc: BaseException, where: str, remedy: str) -> ConnectError | None:
    """The ConnectError for a failed TLS verification of `where` (exit 3), or None if TLS was not the problem."""
    if not is_tls_failure(exc):
        return None
    return ConnectError(f"TLS verification of {where} failed: {reason(exc)}", remedy, code="tls_failed")


def connect_error(
    exc: BaseException, where: str, *, tls_remedy: str, remedy: str, code: str = ConnectError.code
) -> ConnectError:
    """A failed connection to `where` (exit 3): TLS verification, or the server not reached at all."""
    return tls_error(exc, where, tls_remedy) or ConnectError(
        f"cannot reach {where}: {reason(exc)}", remedy, code=code
    )
