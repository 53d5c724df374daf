"""exchangelib's errors as the calendar port's errors (`roomsops.core.calendar`), each with its remedy.

Every EWS failure leaves this adapter as an `EwsError`, which is also the port's error of its kind (throttled,
access denied, lost write, ...): the sync engine catches the port's classes and never sees exchangelib's.
"""

from __future__ import annotations

import re

import requests
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorImpersonateUserDenied,
    ErrorInternalServerTransientError,
    ErrorInvalidExchangeImpersonationHeaderData,
    ErrorInvalidSyncStateData,
    ErrorItemNotFound,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    MalformedResponseError,
    RateLimitError,
    ResponseMessageError,
    TransportError,
    UnauthorizedError,
)

from roomsops.adapters import net
from roomsops.core.calendar import (
    AccessDenied,
    BackendError,
    ItemGone,
    MailboxUnavailable,
    SyncStateInvalid,
    Throttled,
    WriteOutcomeUnknown,
)
from roomsops.core.errors import AuthError, ConnectError

REMEDIES = {
    "denied_by_policy": "add the mailbox to the application access policy's group (roomsops policy restrict "
    "--member ...); a policy change can take more than an hour to reach EWS",
    "ews_disabled": "EWS is switched off for the tenant or this mailbox: roomsops ews status, then roomsops ews allow",
    "ews_app_not_allowed": "the sync app is not in EwsAllowedAppIDs: roomsops ews allow",
    "impersonation_denied": "grant admin consent for full_access_as_app (Office 365 Exchange Online) to the sync app",
    "access_denied": "with RBAC for Applications: add the mailbox to the group of the app's management scope "
    "(roomsops policy restrict --engine rbac --member ...); otherwise check the app's permissions",
    "mailbox_not_found": "check the address: it must be an Exchange Online mailbox of this tenant",
    "throttled": "Exchange Online is throttling; run again later or lower sync.concurrency",
    "connection": "check the network, network.proxy and cloud.ews_url",
    "unauthorized": "the token was refused: run roomsops auth test",
    "write_outcome_unknown": "the write may or may not have been applied; the next sync looks it up by its tag",
    "alias": "use the mailbox's primary SMTP address in ROOMS",
}
TLS_REMEDY = "set network.ca_bundle to the CA of the server (or of your proxy)"


class EwsError(BackendError):
    """An EWS call failed for one mailbox; `reason` is a stable code (`code` is ews_<reason>), the remedy says
    what to do. Build one with `ews_error`, which picks the port's kind for the reason."""

    def __init__(self, reason: str, mailbox: str, detail: str) -> None:
        super().__init__(reason, mailbox, detail, REMEDIES.get(reason), code=f"ews_{reason}")


class EwsWriteOutcomeUnknown(EwsError, WriteOutcomeUnknown):
    """A write's connection dropped: it may have been applied."""


class EwsItemNotFound(EwsError, ItemGone):
    """EWS answered ErrorItemNotFound (e.g. a meeting already cancelled)."""


class EwsInvalidSyncState(EwsError, SyncStateInvalid):
    """EWS answered ErrorInvalidSyncStateData."""


class EwsMailboxUnavailable(EwsError, MailboxUnavailable):
    """No such mailbox."""


class EwsAccessDenied(EwsError, AccessDenied):
    """A policy, the management scope, impersonation or the EWS switches refuse this mailbox."""


class EwsThrottled(EwsError, Throttled):
    """Throttled beyond the retry budget."""


class EwsUnauthorized(AuthError):
    """EWS refused the token (401): the cached token is dropped; no retry."""


#: The port's kind of error for each reason; a reason not listed fails only the items written.
_KINDS: dict[str, type[EwsError]] = {
    "write_outcome_unknown": EwsWriteOutcomeUnknown,
    "mailbox_not_found": EwsMailboxUnavailable,
    "denied_by_policy": EwsAccessDenied,
    "ews_disabled": EwsAccessDenied,
    "ews_app_not_allowed": EwsAccessDenied,
    "impersonation_denied": EwsAccessDenied,
    "access_denied": EwsAccessDenied,
    "throttled": EwsThrottled,
}
#: EWS answers about one item or state that the calendar backend handles by kind.
_ANSWERS: tuple[tuple[type[Exception], type[EwsError]], ...] = (
    (ErrorItemNotFound, EwsItemNotFound),
    (ErrorInvalidSyncStateData, EwsInvalidSyncState),
)


def ews_error(reason: str, mailbox: str, detail: str) -> EwsError:
    """The EwsError for `reason`, of the port's kind (e.g. `throttled` is also a `Throttled`)."""
    return _KINDS.get(reason, EwsError)(reason, mailbox, detail)


_POLICY_REASON = re.compile(r"x-ews-policy-reason['\"]?\s*:\s*['\"]([^'\"]*)", re.I)


def translate(exc: Exception, mailbox: str, write: bool) -> Exception:
    """exchangelib's errors as roomsops errors that name the cause."""
    if isinstance(exc, WriteOutcomeUnknown | EwsError | AuthError | ConnectError):
        return exc
    if isinstance(exc, UnauthorizedError):
        return EwsUnauthorized(
            f"EWS refused the app's token for {mailbox} (HTTP 401)",
            REMEDIES["unauthorized"],
            code="ews_unauthorized",
        )
    if isinstance(exc, ErrorNonExistentMailbox):
        return ews_error("mailbox_not_found", mailbox, "no such mailbox")
    if isinstance(exc, ErrorImpersonateUserDenied | ErrorInvalidExchangeImpersonationHeaderData):
        return ews_error("impersonation_denied", mailbox, "the app may not impersonate this mailbox")
    if isinstance(exc, ErrorAccessDenied):
        # With RBAC for Applications this is a mailbox outside the app's management scope.
        return ews_error("access_denied", mailbox, f"access denied ({exc})")
    if isinstance(exc, MalformedResponseError) and "Code: 403" in str(exc):
        found = _POLICY_REASON.search(str(exc))
        if found is None:
            return ews_error(
                "denied_by_policy",
                mailbox,
                "denied (HTTP 403): the application access policy does not include this mailbox",
            )
        reason = found.group(1)
        kind = "ews_app_not_allowed" if "blocked by policy" in reason.lower() else "ews_disabled"
        return ews_error(kind, mailbox, f"EWS refused: {reason}")
    if isinstance(exc, ErrorServerBusy | ErrorInternalServerTransientError | RateLimitError):
        return ews_error("throttled", mailbox, "throttled beyond the retry budget")
    if isinstance(exc, ResponseMessageError) and not isinstance(exc, ErrorTimeoutExpired):
        # EWS answered about this request (exchangelib's ResponseMessageError is a TransportError too): neither
        # a connection problem nor a write of unknown outcome.
        answer = next((cls for kind, cls in _ANSWERS if isinstance(exc, kind)), EwsError)
        return answer("failed", mailbox, f"EWS answered {type(exc).__name__}: {exc}")
    if isinstance(exc, ErrorTimeoutExpired | TransportError | requests.RequestException):
        if write:
            return ews_error("write_outcome_unknown", mailbox, "the connection dropped during a write")
        tls = net.tls_error(exc, "the EWS endpoint", TLS_REMEDY)
        if tls is not None:
            return tls
        return ews_error("connection", mailbox, f"connection failed ({type(exc).__name__})")
    return exc
