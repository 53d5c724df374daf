"""The network under every adapter: HTTP sessions as the settings say, and the one reading of a failed connection.

Whatever reached a server (msal for the token service, exchangelib for EWS, pypsrp for WinRM, a plain GET in
a diagnosis), a failed TLS verification or an unreachable server is named the same way: what was reached,
why it failed, and the setting that fixes it.
"""

from __future__ import annotations

import re
import ssl
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from roomsops.core.errors import ConnectError, InputError
from roomsops.core.secrets import mask_url_secrets
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
    proxy = proxy_url(settings)
    if proxy is not None:
        session.proxies = {"https": proxy, "http": proxy}
    return session


#: The proxy schemes requests reaches without extra packages (socks5:// needs PySocks, not installed).
_PROXY_SCHEMES = ("http", "https")


def proxy_url(settings: Settings) -> str | None:
    """`network.proxy` as requests takes it, or None when unset; a value it cannot use is exit 2 naming the
    setting (never left to fail later as a connection to the token service or EWS). The value is shown with
    its password masked."""
    value = settings.network.proxy.strip()
    if not value:
        return None
    origin = settings.origin("network.proxy")
    shown = f"network.proxy {mask_url_secrets(value)!r} (from {origin})"
    scheme, separator, _ = value.partition("://")
    if not separator:
        raise InputError(
            f"{shown} has no scheme",
            f"write it as http://HOST:PORT (with a user: http://USER:PASSWORD@HOST:PORT) in {origin}",
            code="bad_proxy",
        )
    if scheme.lower() not in _PROXY_SCHEMES:
        raise InputError(
            f"{shown}: a {scheme}:// proxy is not supported",
            f"use an http:// (or https://) proxy in {origin}",
            code="bad_proxy",
        )
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port  # .port raises ValueError for a port that is not a number
    except ValueError:
        host = None
    if not host:
        raise InputError(
            f"{shown} names no host (or a port that is not a number)",
            f"write it as {scheme}://HOST:PORT in {origin}",
            code="bad_proxy",
        )
    return value


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
