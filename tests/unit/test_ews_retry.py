"""roomsops' EWS retry rules (roomsops.adapters.ews.client.EwsClient.call), with exchangelib's exceptions as it raises them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from exchangelib.errors import (
    ErrorInternalServerTransientError,
    ErrorInvalidSyncStateData,
    ErrorIrresolvableConflict,
    ErrorItemNotFound,
    ErrorServerBusy,
    ErrorTimeoutExpired,
)

from roomsops.adapters.ews import client as ews
from roomsops.core.calendar import ItemGone, SyncStateInvalid, WriteOutcomeUnknown
from roomsops.core.settings import load_settings


@pytest.fixture
def client() -> tuple[ews.EwsClient, list[float]]:
    slept: list[float] = []
    provider: Any = SimpleNamespace(
        credentials=SimpleNamespace(app_id="6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f", tenant_id="contoso"),
        invalidate=lambda: None,
    )
    return ews.EwsClient(load_settings(None, environ={}), provider, sleep=slept.append), slept


def pool_shrinking_drop() -> ErrorServerBusy:
    """What exchangelib raises for a dropped connection while its session pool can still shrink."""
    try:
        try:
            raise ErrorTimeoutExpired("Reraised from ConnectionError(RemoteDisconnected())")
        except ErrorTimeoutExpired as e:
            raise ErrorServerBusy(f"Reraised from {e.__class__.__name__}({e})", back_off=10)  # noqa: B904
    except ErrorServerBusy as busy:
        return busy


def failing(*errors: Exception) -> tuple[Any, list[int]]:
    calls: list[int] = []

    def operation() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "answer"

    return operation, calls


@pytest.mark.parametrize("dropped", [pool_shrinking_drop, lambda: ErrorTimeoutExpired("Reraised")])
def test_a_write_whose_connection_dropped_is_never_sent_again(client: Any, dropped: Any) -> None:
    ews_client, slept = client
    operation, calls = failing(dropped())
    with pytest.raises(ews.WriteOutcomeUnknown, match="the connection dropped during a write"):
        ews_client.call("m@contoso.com", operation, write=True)
    assert (len(calls), slept) == (1, [])


@pytest.mark.parametrize("dropped", [pool_shrinking_drop, lambda: ErrorTimeoutExpired("Reraised")])
def test_a_read_whose_connection_dropped_is_sent_once_more(client: Any, dropped: Any) -> None:
    ews_client, slept = client
    operation, calls = failing(dropped())
    assert ews_client.call("m@contoso.com", operation) == "answer"
    assert (len(calls), slept) == (2, [ews.DEFAULT_BACK_OFF])
    operation, calls = failing(dropped(), dropped())
    with pytest.raises(ews.EwsError, match="no answer from EWS"):
        ews_client.call("m@contoso.com", operation)


def test_throttling_waits_what_the_server_asked(client: Any) -> None:
    ews_client, slept = client
    operation, _calls = failing(
        ErrorServerBusy("busy", back_off=0.4), ErrorInternalServerTransientError("503")
    )
    assert ews_client.call("m@contoso.com", operation, write=True) == "answer"
    assert slept == [0.4, ews.DEFAULT_BACK_OFF]


@pytest.mark.parametrize(
    ("status", "headers", "back_off"),
    [(503, {"Retry-After": "1"}, 1.0), (503, {}, ews.DEFAULT_BACK_OFF), (500, {}, ews.DEFAULT_BACK_OFF)],
)
def test_transient_http_answers_keep_their_retry_after(
    status: int, headers: dict[str, str], back_off: float
) -> None:
    body = b"Server Error in '/EWS' Application." if status == 500 else b""
    response = SimpleNamespace(status_code=status, headers=headers, content=body, text=body.decode(), url="u")
    with pytest.raises(ErrorServerBusy) as raised:
        ews._FailFast().raise_response_errors(response)
    assert raised.value.back_off == back_off


def test_ews_answers_are_no_connection_errors() -> None:
    gone = ews.translate(ErrorItemNotFound("The specified object was not found"), "m@contoso.com", write=True)
    assert isinstance(gone, ItemGone) and isinstance(gone, ews.EwsError)  # the port's kind, not a lost write
    assert not isinstance(gone, WriteOutcomeUnknown)
    stale = ews.translate(ErrorInvalidSyncStateData("stale"), "m@contoso.com", write=False)
    assert isinstance(stale, SyncStateInvalid) and isinstance(stale, ews.EwsError)
    other = ews.translate(ErrorIrresolvableConflict("changed meanwhile"), "m@contoso.com", write=True)
    assert type(other) is ews.EwsError
    assert other.one_line() == "m@contoso.com: EWS answered ErrorIrresolvableConflict: changed meanwhile"


def test_access_denied_names_the_rbac_scope_not_the_consent() -> None:
    from exchangelib.errors import ErrorAccessDenied

    from roomsops.adapters.ews.client import EwsError, translate

    error = translate(ErrorAccessDenied("Access is denied."), "adele@contoso.com", write=False)
    assert isinstance(error, EwsError) and error.reason == "access_denied"
    assert error.remedy is not None and "management scope" in error.remedy
