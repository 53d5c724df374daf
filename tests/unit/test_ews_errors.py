"""exchangelib's errors leave the EWS adapter as the calendar port's errors: the kind the engine acts on, the
code reports show, and nothing of exchangelib's class tree."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorImpersonateUserDenied,
    ErrorInvalidSyncStateData,
    ErrorIrresolvableConflict,
    ErrorItemNotFound,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    MalformedResponseError,
    TransportError,
    UnauthorizedError,
)

from roomsops.adapters.ews.client import EwsClient
from roomsops.adapters.ews.errors import EwsError, translate
from roomsops.core.calendar import (
    AccessDenied,
    BackendError,
    ItemGone,
    MailboxUnavailable,
    SyncStateInvalid,
    Throttled,
    WriteOutcomeUnknown,
)
from roomsops.core.errors import AuthError, ConnectError, ExitCode
from roomsops.core.settings import load_settings

MAILBOX = "adele@contoso.com"
POLICY_403 = "Code: 403, headers {'x-ews-policy-reason': '%s'}"


@pytest.mark.parametrize(
    ("raised", "write", "kind", "code"),
    [
        (ErrorNonExistentMailbox("no mailbox"), False, MailboxUnavailable, "ews_mailbox_not_found"),
        (ErrorImpersonateUserDenied("denied"), False, AccessDenied, "ews_impersonation_denied"),
        (ErrorAccessDenied("Access is denied."), False, AccessDenied, "ews_access_denied"),
        (MalformedResponseError("Code: 403, no reason"), False, AccessDenied, "ews_denied_by_policy"),
        (MalformedResponseError(POLICY_403 % "EWS is disabled"), False, AccessDenied, "ews_ews_disabled"),
        (
            MalformedResponseError(POLICY_403 % "Blocked by policy"),
            False,
            AccessDenied,
            "ews_ews_app_not_allowed",
        ),
        (ErrorServerBusy("busy", back_off=5), True, Throttled, "ews_throttled"),
        (ErrorItemNotFound("not found"), True, ItemGone, "ews_failed"),
        (ErrorInvalidSyncStateData("stale"), False, SyncStateInvalid, "ews_failed"),
        (ErrorTimeoutExpired("dropped"), True, WriteOutcomeUnknown, "ews_write_outcome_unknown"),
        (requests.ConnectionError("reset"), True, WriteOutcomeUnknown, "ews_write_outcome_unknown"),
        (TransportError("refused"), False, BackendError, "ews_connection"),
        (ErrorIrresolvableConflict("changed meanwhile"), True, BackendError, "ews_failed"),
    ],
)
def test_exchangelib_errors_become_the_ports_kinds(
    raised: Exception, write: bool, kind: type[BackendError], code: str
) -> None:
    error = translate(raised, MAILBOX, write)
    assert isinstance(error, kind) and isinstance(error, EwsError)
    assert (error.code, error.mailbox, error.exit_code) == (code, MAILBOX, ExitCode.FAILED)
    assert error.remedy or error.reason == "failed"
    assert not any(cls.__module__.startswith("exchangelib") for cls in type(error).__mro__)
    # Only what concerns the whole mailbox stops its pass; an item's failure or a connection error does not.
    assert isinstance(error, MailboxUnavailable) == issubclass(kind, MailboxUnavailable)


def test_a_refused_token_and_a_failed_tls_check_are_connection_errors_not_backend_errors() -> None:
    refused = translate(UnauthorizedError("401"), MAILBOX, write=False)
    assert isinstance(refused, AuthError) and refused.code == "ews_unauthorized"
    tls = translate(
        TransportError("certificate verify failed: self-signed certificate"), MAILBOX, write=False
    )
    assert isinstance(tls, ConnectError) and not isinstance(tls, BackendError) and tls.code == "tls_failed"


def test_an_unknown_exception_passes_through_untouched() -> None:
    bug = KeyError("a bug, not an EWS answer")
    assert translate(bug, MAILBOX, write=True) is bug


def test_the_clients_own_verdicts_are_the_ports_kinds_too() -> None:
    """EwsClient.call gives up on throttling and lost writes itself: the engine sees Throttled and
    WriteOutcomeUnknown, as from any backend."""
    provider: Any = SimpleNamespace(
        credentials=SimpleNamespace(app_id="6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f", tenant_id="contoso"),
        invalidate=lambda: None,
    )
    client = EwsClient(load_settings(None, environ={}), provider, retry_budget=1, sleep=lambda _: None)

    def busy() -> None:
        raise ErrorServerBusy("busy", back_off=30)

    def dropped() -> None:
        raise ErrorTimeoutExpired("Reraised from ConnectionError(RemoteDisconnected())")

    with pytest.raises(Throttled) as throttled:
        client.call(MAILBOX, busy)
    assert throttled.value.code == "ews_throttled"
    with pytest.raises(WriteOutcomeUnknown):
        client.call(MAILBOX, dropped, write=True)
