"""Microsoft Graph's answers as the calendar port's errors (`roomsops.core.calendar`), each with its remedy.

Every Graph failure leaves this adapter as a `GraphError`, which is also the port's error of its kind (throttled,
access denied, item gone, lost write, ...), or a `core.errors.ConnectError` (network, TLS, token): the sync engine
catches the port's classes and never sees HTTP statuses. Graph's error body is `{"error": {"code", "message"}}`
(graph/errors).
"""

from __future__ import annotations

from typing import Any

from roomsops.core.calendar import (
    AccessDenied,
    BackendError,
    ItemGone,
    MailboxUnavailable,
    SyncStateInvalid,
    Throttled,
    WriteOutcomeUnknown,
)
from roomsops.core.errors import AuthError

REMEDIES = {
    "denied_by_policy": "add the mailbox to the application access policy's group (roomsops policy restrict "
    "--member ...); a policy change can take more than an hour to reach Graph",
    "access_denied": "grant the sync app the Graph application permission Calendars.ReadWrite (admin consent), "
    "or with RBAC for Applications add the mailbox to the scope of its 'Application Calendars.ReadWrite' role",
    "mailbox_not_found": "check the address: it must be an Exchange Online mailbox of this tenant",
    "throttled": "Microsoft Graph is throttling; run again later or lower graph.per_mailbox_concurrency",
    "connection": "check the network, network.proxy and cloud.graph_url",
    "unauthorized": "Graph refused the app's token: run roomsops auth test",
    "write_outcome_unknown": "the write may or may not have been applied; the next sync looks it up by its tag",
    "conflict": "the meeting kept changing while roomsops wrote it; the next sync compares it again",
}
TLS_REMEDY = "set network.ca_bundle to the CA of the server (or of your proxy)"


class GraphError(BackendError):
    """A Graph call failed for one mailbox; `reason` is the port's stable code, `code` graph_<reason>."""

    def __init__(self, reason: str, mailbox: str, detail: str) -> None:
        super().__init__(reason, mailbox, detail, REMEDIES.get(reason), code=f"graph_{reason}")


class GraphWriteOutcomeUnknown(GraphError, WriteOutcomeUnknown):
    """A write got no answer: it may have been applied."""


class GraphItemGone(GraphError, ItemGone):
    """404 ErrorItemNotFound: the event does not exist (any more)."""


class GraphSyncStateInvalid(GraphError, SyncStateInvalid):
    """410 (syncStateNotFound): the delta link is no longer accepted."""


class GraphMailboxUnavailable(GraphError, MailboxUnavailable):
    """No such mailbox (404 ErrorInvalidUser)."""


class GraphAccessDenied(GraphError, AccessDenied):
    """403: a permission, an application access policy or an RBAC scope refuses this mailbox."""


class GraphThrottled(GraphError, Throttled):
    """429/503 beyond the retry budget."""


class GraphUnauthorized(AuthError):
    """Graph refused the token (401) also after a fresh one was fetched."""


_KINDS: dict[str, type[GraphError]] = {
    "write_outcome_unknown": GraphWriteOutcomeUnknown,
    "item_gone": GraphItemGone,
    "sync_state_invalid": GraphSyncStateInvalid,
    "mailbox_not_found": GraphMailboxUnavailable,
    "denied_by_policy": GraphAccessDenied,
    "access_denied": GraphAccessDenied,
    "throttled": GraphThrottled,
}


def graph_error(reason: str, mailbox: str, detail: str) -> GraphError:
    """The GraphError for `reason`, of the port's kind (e.g. `throttled` is also a `Throttled`)."""
    return _KINDS.get(reason, GraphError)(reason, mailbox, detail)


def error_of(body: Any) -> tuple[str, str]:
    """(code, message) of Graph's error body; empty strings when the body is not one."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def from_answer(status: int, body: Any, mailbox: str, what: str) -> GraphError:
    """The port's error for a Graph error answer (not 401, 429 or 503, which the client handles first)."""
    code, message = error_of(body)
    detail = f"{what}: HTTP {status} {code}: {message}".rstrip(": ")
    if status == 403:
        policy = "accesspolicy" in message.replace(" ", "").lower() or "[RAOP]" in message
        return graph_error("denied_by_policy" if policy else "access_denied", mailbox, detail)
    if status == 404:
        if code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ResourceNotFound"):
            return graph_error("mailbox_not_found", mailbox, detail)
        return graph_error("item_gone", mailbox, detail)
    if status == 400 and code == "ErrorInvalidIdMalformed":
        return graph_error("item_gone", mailbox, detail)  # no event can have this id
    if status == 410:
        return graph_error("sync_state_invalid", mailbox, detail)
    if status == 412:
        return graph_error("conflict", mailbox, detail)
    return graph_error("failed", mailbox, detail)
