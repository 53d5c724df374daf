"""Get-Recipient, Get-Mailbox, Get-CASMailbox and Set-CASMailbox over the tenant's mailboxes and groups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from roomsops.lab.cmdlets.base import CmdletSpec, Invocation, Param, binding_error, names, object_not_found
from roomsops.lab.cmdlets.directory import (
    RECIPIENT_TYPE_DETAILS,
    AmbiguousIdentity,
    Recipient,
    ambiguous_error,
    cas_mailbox_object,
    mailbox_by_id,
    mailbox_object,
    recipients,
    reduced_recipient_object,
    resolve,
)
from roomsops.lab.tenant import Mailbox, TenantState

T = TypeVar("T")
DEFAULT_RESULT_SIZE = 1000
DEFAULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of "
    'items returned. To return all items, specify "-ResultSize Unlimited". Be aware that, depending on the '
    "actual number of items, returning all items can take a long time and consume a large amount of memory. "
    "Also, we don't recommend storing the results in a variable. Instead, pipe the results to another task or "
    "script to perform batch changes."
)
MORE_RESULTS_WARNING = (
    "There are more results available than are currently displayed. To view them, increase the value for the "
    "ResultSize parameter."
)
_PAGE = "exchange/exchange-ps/ExchangePowerShell/"
_FILTERS = names("Anr Filter OrganizationalUnit SortBy Credential IgnoreDefaultScope")


def limited(inv: Invocation, items: Sequence[T]) -> list[T]:
    """-ResultSize (default 1000, `Unlimited` = None) with the warning Exchange writes when it cuts."""
    explicit = "ResultSize" in inv.params
    size = inv.params.get("ResultSize") if explicit else DEFAULT_RESULT_SIZE
    if size is None or len(items) <= size:
        return list(items)
    inv.warn(MORE_RESULTS_WARNING if explicit else DEFAULT_SIZE_WARNING)
    return list(items[:size])


def type_details_filter(inv: Invocation) -> set[str] | None:
    wanted = inv.params.get("RecipientTypeDetails")
    if not wanted:
        return None
    known = {d.casefold(): d for d in RECIPIENT_TYPE_DETAILS}
    chosen = set()
    for value in wanted:
        if value.casefold() not in known:
            raise binding_error(
                inv.spec,
                "CannotConvertArgumentNoMessage",
                f"Cannot bind parameter 'RecipientTypeDetails'. Cannot convert value \"{value}\" to type "
                '"Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails". Error: "Unable to match the '
                f'identifier name {value} to a valid enumerator name."',
            )
        chosen.add(known[value.casefold()])
    return chosen


def find_one(inv: Invocation, state: TenantState, identity: str, kinds: tuple[Any, ...]) -> Recipient:
    """The recipient an -Identity names; writes ManagementObjectNotFoundException and ends the cmdlet if none."""
    try:
        found = resolve(state, identity, kinds)
    except AmbiguousIdentity:
        inv.fail(ambiguous_error(inv.spec.name, identity))
    if found is None:
        inv.fail(object_not_found(inv.spec.name, identity))
    return found


def _mailboxes(inv: Invocation, state: TenantState) -> list[Mailbox]:
    identity = inv.params.get("Identity")
    if identity is not None:
        found = find_one(inv, state, identity, ("mailbox",))
        mailbox = mailbox_by_id(state, found.id)
        return [mailbox] if mailbox else []
    details = type_details_filter(inv)
    chosen = [
        m
        for m in state.mailboxes
        if details is None or ("RoomMailbox" if m.kind == "room" else "UserMailbox") in details
    ]
    return limited(inv, chosen)


def get_recipient(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        details = type_details_filter(inv)
        identity = inv.params.get("Identity")
        if identity is not None:
            found = [find_one(inv, state, identity, ("mailbox", "group"))]
        else:
            found = limited(inv, [r for r in recipients(state) if details is None or r.details in details])
        return [reduced_recipient_object(state, r) for r in found if details is None or r.details in details]


def get_mailbox(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        return [mailbox_object(state, m) for m in _mailboxes(inv, state)]


def get_cas_mailbox(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        return [cas_mailbox_object(state, m) for m in _mailboxes(inv, state)]


def set_cas_mailbox(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.change() as state:
        found = find_one(inv, state, inv.params.get("Identity"), ("mailbox",))
        mailbox = mailbox_by_id(state, found.id)
        assert mailbox is not None
        if "EwsEnabled" in inv.params and mailbox.ews_enabled != inv.params.get("EwsEnabled"):
            mailbox.ews_enabled = inv.params.get("EwsEnabled")
            return []
    inv.warn(f"The command completed successfully but no settings of '{found.name}' have been modified.")
    return []


_IDENTITY = Param("Identity", position=0)
_MAILBOX_FLAGS = names(
    "Archive GroupMailbox InactiveMailboxOnly IncludeInactiveMailbox MailboxPlan Migration PublicFolder "
    "SoftDeletedMailbox IncludeAcceptMessagesOnlyFromDLMembersWithDisplayNames "
    "IncludeAcceptMessagesOnlyFromSendersOrMembersWithDisplayNames "
    "IncludeAcceptMessagesOnlyFromWithDisplayNames IncludeEmailAddressDisplayNames "
    "IncludeForwardingAddressWithDisplayNames IncludeGrantSendOnBehalfToWithDisplayNames"
)
_SET_CAS_OTHERS = names(
    "ActiveSyncAllowedDeviceIDs ActiveSyncBlockedDeviceIDs ActiveSyncDebugLogging ActiveSyncEnabled "
    "ActiveSyncMailboxPolicy ActiveSyncSuppressReadReceipt EwsAllowEntourage EwsAllowList "
    "EwsAllowMacOutlook EwsAllowOutlook EwsApplicationAccessPolicy EwsBlockList ImapEnabled "
    "ImapForceICalForCalendarRetrievalOption ImapMessagesRetrievalMimeFormat ImapSuppressReadReceipt "
    "ImapUseProtocolDefaults IsOptimizedForAccessibility MacOutlookEnabled MAPIEnabled "
    "OneWinNativeOutlookEnabled OutlookMobileEnabled OWAEnabled OWAforDevicesEnabled OwaMailboxPolicy "
    "PopEnabled PopForceICalForCalendarRetrievalOption PopMessagesRetrievalMimeFormat "
    "PopSuppressReadReceipt PopUseProtocolDefaults PublicFolderClientAccess ShowGalAsDefaultView "
    "SmtpClientAuthenticationDisabled UniversalOutlookEnabled"
)

CMDLETS = (
    CmdletSpec(
        "Get-Recipient",
        get_recipient,
        (_IDENTITY, Param("RecipientTypeDetails", "strings"), Param("ResultSize", "resultsize")),
        source=_PAGE + "Get-Recipient.md",
        not_emulated=(
            *_FILTERS,
            *names(
                "AuthenticationType BookmarkDisplayName Capabilities IncludeBookmarkObject "
                "IncludeManagerWithDisplayName IncludeSoftDeletedRecipients Properties PropertySet "
                "RecipientPreviewFilter RecipientType"
            ),
        ),
    ),
    CmdletSpec(
        "Get-Mailbox",
        get_mailbox,
        (_IDENTITY, Param("RecipientTypeDetails", "strings"), Param("ResultSize", "resultsize")),
        source=_PAGE + "Get-Mailbox.md",
        not_emulated=(*_FILTERS, *_MAILBOX_FLAGS),
    ),
    CmdletSpec(
        "Get-CASMailbox",
        get_cas_mailbox,
        (_IDENTITY, Param("RecipientTypeDetails", "strings"), Param("ResultSize", "resultsize")),
        source=_PAGE + "Get-CASMailbox.md",
        not_emulated=(
            *_FILTERS,
            *names(
                "ActiveSyncDebugLogging ActiveSyncSuppressReadReceipt ProtocolSettings "
                "ReadIsOptimizedForAccessibility RecalculateHasActiveSyncDevicePartnership"
            ),
        ),
    ),
    CmdletSpec(
        "Set-CASMailbox",
        set_cas_mailbox,
        (
            Param("Identity", mandatory=True, position=0),
            Param("EwsEnabled", "bool", type_name="System.Boolean"),
        ),
        source=_PAGE + "Set-CASMailbox.md",
        not_emulated=_SET_CAS_OTHERS,
        should_process=True,
    ),
)
