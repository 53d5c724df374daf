"""EWS with exchangelib: msal-backed credentials, one Account per mailbox, and roomsops' own retry rules.

exchangelib runs with FailFast; this module retries only throttling (ErrorServerBusy with its
BackOffMilliseconds, HTTP 503 with its Retry-After) within a budget, fails fast on 401 after dropping
the cached token, and never repeats a write whose answer was lost: the caller gets WriteOutcomeUnknown
and looks the item up by its tag instead. A read whose connection dropped is sent once more.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from exchangelib import IMPERSONATION, OAUTH2, UTC, Account, Configuration, FailFast, Identity, Version
from exchangelib.credentials import OAuth2Credentials
from exchangelib.errors import (
    ErrorInternalServerTransientError,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    UnauthorizedError,
)
from exchangelib.protocol import BaseProtocol, Protocol
from exchangelib.version import EXCHANGE_O365

from roomsops.adapters.entra.tokens import TokenProvider
from roomsops.adapters.ews.errors import (
    REMEDIES,
    TLS_REMEDY,
    EwsError,
    EwsUnauthorized,
    ews_error,
    translate,
)
from roomsops.adapters.ews.tags import register_tags
from roomsops.adapters.net import proxy_url
from roomsops.core import traffic
from roomsops.core.calendar import WriteOutcomeUnknown
from roomsops.core.logs import MASK, log
from roomsops.core.settings import Settings
from roomsops.core.write_fence import before_write

#: The client's public names; the errors are re-exported from `errors` for the client's callers.
__all__ = [
    "DEFAULT_BACK_OFF",
    "REMEDIES",
    "TLS_REMEDY",
    "EwsClient",
    "EwsError",
    "EwsUnauthorized",
    "MsalCredentials",
    "RetryBudget",
    "WriteOutcomeUnknown",
    "register_endpoint",
    "translate",
]

T = TypeVar("T")
DEFAULT_BACK_OFF = 2.0  # seconds, when the server asks to back off without saying how long
READ_RECONNECTS = 1  # a read whose connection dropped is sent again this often

register_tags()  # every EWS user (the sync, diagnostics, scripts) may read and write the tag fields

# --- transport: the configured CA and proxy for EWS hosts, whatever the environment says --------------------

_endpoints: dict[str, tuple[str | None, str | None]] = {}
_endpoints_lock = threading.Lock()


def _pinned(url: str) -> tuple[str | None, str | None] | None:
    with _endpoints_lock:
        return _endpoints.get(urlsplit(url).netloc.lower())


_sent = threading.local()


def requests_sent() -> int:
    """EWS requests this thread has sent (each mailbox's pass runs in one thread): a pass's cost."""
    return int(getattr(_sent, "count", 0))


class PinnedAdapter(requests.adapters.HTTPAdapter):
    """Uses the CA bundle and proxy configured for a registered EWS host (REQUESTS_CA_BUNDLE and HTTPS_PROXY
    would otherwise win inside exchangelib's sessions); other hosts behave as with requests' own adapter."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        pinned = _pinned(request.url or "")
        if pinned is not None and "/ews/" in urlsplit(request.url or "").path.lower():
            _sent.count = requests_sent() + 1
            traffic.requested("ews", _operation(request.body))
        if pinned is not None:
            ca, proxy = pinned
            verify = ca if ca else verify
            proxies = {"https": proxy, "http": proxy} if proxy else {}
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


#: The operation of an EWS request: the first element in the SOAP body (`<m:SyncFolderItems ...>`).
_OPERATION = re.compile(rb"Body>\s*<(?:[A-Za-z][A-Za-z0-9]*:)?([A-Za-z]{1,48})[\s/>]")


def _operation(body: object) -> str:
    data = body.encode("utf-8", "replace") if isinstance(body, str) else body
    if not isinstance(data, bytes):
        return "other"
    match = _OPERATION.search(data[:4096])
    return match.group(1).decode("ascii") if match else "other"


def register_endpoint(url: str, ca_bundle: str | None, proxy: str | None) -> None:
    """Pin TLS trust and proxy for one EWS endpoint; installs the adapter class (exchangelib's is process-wide)."""
    with _endpoints_lock:
        _endpoints[urlsplit(url).netloc.lower()] = (ca_bundle or None, proxy or None)
    if BaseProtocol.HTTP_ADAPTER_CLS is not PinnedAdapter:
        BaseProtocol.HTTP_ADAPTER_CLS = PinnedAdapter


class MsalCredentials(OAuth2Credentials):
    """exchangelib credentials whose tokens come from roomsops' TokenProvider (msal), never from exchangelib."""

    def __init__(self, provider: TokenProvider, identity: Identity | None = None) -> None:
        super().__init__(
            client_id=provider.credentials.app_id,
            client_secret=None,
            tenant_id=provider.credentials.tenant_id,
            identity=identity,
        )
        self.provider = provider

    def session_params(self) -> dict[str, Any]:
        token = self.provider.token()
        expires_in = max(int(token.expires_on.timestamp() - time.time()) - 300, 1)
        with self.lock:
            self.access_token = {
                "access_token": token.access_token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "expires_at": time.time() + expires_in,
            }
            return {"token": self.access_token}

    def refresh(self, session: Any) -> None:
        """The next session asks msal again (which renews tokens with less than 5 minutes left)."""

    # exchangelib caches a Protocol per (endpoint, credentials) process-wide; equal-by-value credentials would
    # hand one client's Protocol (and its token provider) to another. Identity keeps them apart.
    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"MsalCredentials(app_id={self.client_id!r}, token={MASK})"

    __str__ = __repr__


# --- the client --------------------------------------------------------------------------------------------


def _connection_lost(exc: Exception) -> bool:
    """The request got no answer (a dropped or refused connection). exchangelib raises ErrorTimeoutExpired, or,
    when its session pool can still shrink, an ErrorServerBusy raised while handling one."""
    return isinstance(exc, ErrorTimeoutExpired) or isinstance(exc.__context__, ErrorTimeoutExpired)


class _FailFast(FailFast):
    """exchangelib's FailFast, but a transient HTTP answer (503, IIS' 500 page) keeps the server's Retry-After
    (else roomsops' DEFAULT_BACK_OFF) as its back-off; FailFast itself would always wait 10 s."""

    def raise_response_errors(self, response: Any) -> None:
        try:
            super().raise_response_errors(response)
        except (ErrorInternalServerTransientError, ErrorServerBusy) as exc:
            raise ErrorServerBusy(
                str(exc.args[0]) if exc.args else "transient HTTP error",
                back_off=_retry_after(response) or DEFAULT_BACK_OFF,
            ) from None


def _retry_after(response: Any) -> float | None:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


@dataclass
class RetryBudget:
    """How long throttling may be waited out in total per call, and what was waited."""

    seconds: float = 60.0
    waited: float = 0.0


class EwsClient:
    """EWS for many mailboxes through impersonation; Accounts (and their calendar folders) are reused."""

    def __init__(
        self,
        settings: Settings,
        provider: TokenProvider,
        retry_budget: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = settings.cloud.ews_url
        ca = str(settings.resolve_path(settings.network.ca_bundle)) if settings.network.ca_bundle else None
        register_endpoint(self.endpoint, ca, proxy_url(settings))
        self.provider = provider
        self.retry_budget = retry_budget
        self._sleep = sleep
        self._settings = settings
        self.config = self._configuration(None)
        self._accounts: dict[str, Account] = {}
        self._calendars: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _configuration(self, identity: Identity | None) -> Configuration:
        return Configuration(
            credentials=MsalCredentials(self.provider, identity),
            service_endpoint=self.endpoint,
            auth_type=OAUTH2,
            version=Version(build=EXCHANGE_O365),
            retry_policy=_FailFast(),
            max_connections=max(self._settings.sync.concurrency * 2, 4),
        )

    def account(self, smtp: str) -> Account:
        key = smtp.casefold()
        with self._lock:
            if key not in self._accounts:
                self._accounts[key] = Account(
                    primary_smtp_address=smtp,
                    config=self.config,
                    autodiscover=False,
                    access_type=IMPERSONATION,
                    default_timezone=UTC,
                )
            return self._accounts[key]

    def calendar(self, smtp: str) -> Any:
        """The mailbox's calendar folder (one GetFolder per mailbox and process)."""
        key = smtp.casefold()
        if key not in self._calendars:
            account = self.account(smtp)
            self._calendars[key] = self.call(smtp, lambda: account.calendar)
        return self._calendars[key]

    def call(self, mailbox: str, operation: Callable[[], T], *, write: bool = False) -> T:
        """Run one EWS operation with roomsops' retry rules; errors translated. A write first passes
        `before_write` (a sync worker's lease, `core/write_fence.py`); sent again after a throttling wait, it is
        within one write's longest time, which the lease outlasts."""
        if write:
            before_write()
        budget = RetryBudget(self.retry_budget)
        reconnects = 0
        while True:
            try:
                return operation()
            except (ErrorServerBusy, ErrorInternalServerTransientError, ErrorTimeoutExpired) as exc:
                if _connection_lost(exc):
                    # No answer: a write may have been applied, so it is never sent again (the caller looks
                    # the item up by its tag); a read is sent once more.
                    if write:
                        raise ews_error(
                            "write_outcome_unknown", mailbox, "the connection dropped during a write"
                        ) from None
                    if reconnects >= READ_RECONNECTS:
                        raise ews_error(
                            "connection", mailbox, "no answer from EWS (the connection failed twice)"
                        ) from None
                    reconnects += 1
                    wait = DEFAULT_BACK_OFF
                else:
                    wait = getattr(exc, "back_off", None) or DEFAULT_BACK_OFF
                if budget.waited + wait > budget.seconds:
                    raise ews_error(
                        "throttled",
                        mailbox,
                        f"throttled beyond the retry budget of "
                        f"{budget.seconds:g}s (the server asked to wait {wait:g}s)",
                    ) from None
                log.info("EWS throttled for %s; backing off %.2fs", mailbox, wait)
                budget.waited += wait
                if not _connection_lost(exc):  # the server asked to back off (a reconnect is no throttling)
                    traffic.throttled("ews", wait)
                self._sleep(wait)
            except UnauthorizedError:
                self.provider.invalidate()  # the next call fetches a fresh token
                raise translate(UnauthorizedError("401"), mailbox, write) from None
            except Exception as exc:
                translated = translate(exc, mailbox, write)
                if translated is exc:
                    raise
                raise translated from None

    def resolve_primary(self, address: str, via: str | None = None) -> str | None:
        """The primary SMTP address of the mailbox `address` names (an alias resolves to it); ResolveNames as
        `via` (a mailbox the sync app may open) when `address` itself cannot be impersonated."""
        acting = via or address
        protocol = Protocol(config=self._configuration(Identity(primary_smtp_address=acting)))
        answers = self.call(acting, lambda: protocol.resolve_names([address]))
        for answer in answers:
            email = getattr(answer, "email_address", None)
            if email:
                return str(email)
        return None
