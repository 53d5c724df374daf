"""Distribution groups and mail-enabled security groups: Get-/New-/Remove-DistributionGroup and their members.

The security-group-manager check (Add-/Remove-DistributionGroupMember.md, -BypassSecurityGroupManagerCheck):
"If you aren't defined in the ManagedBy property of the group, you need to use this switch". An app-only
connection is never in ManagedBy (an app is no recipient); the delegated administrator is, for the groups
it created (the creator becomes the owner, New-DistributionGroup.md -ManagedBy).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from roomsops.lab.cmdlets.base import (
    CmdletError,
    CmdletSpec,
    Invocation,
    Param,
    exchange_error,
    names,
    recipient_not_found,
)
from roomsops.lab.cmdlets.directory import (
    DISTRIBUTION,
    DISTRIBUTION_GROUP,
    SECURITY,
    SECURITY_GROUP,
    AmbiguousIdentity,
    Recipient,
    ambiguous_recipient_error,
    group_object,
    group_record,
    member_recipient,
    new_group,
    recipients,
    reduced_recipient_object,
    resolve,
)
from roomsops.lab.cmdlets.recipients import find_one, limited, type_details_filter
from roomsops.lab.tenant import TenantState

JsonObject = dict[str, Any]
_PAGE = "exchange/exchange-ps/ExchangePowerShell/"
_ALIAS_INVALID = re.compile(r"[^A-Za-z0-9!#%*+\-/=?^_~.]")


def get_distribution_group(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        details = type_details_filter(inv)
        identity = inv.params.get("Identity")
        if identity is not None:
            found = find_one(inv, state, identity, ("group",))
            groups = [g for g in [group_record(state, found.id)] if g is not None]
        else:
            groups = limited(inv, list(state.groups))
        kinds = {True: SECURITY_GROUP, False: DISTRIBUTION_GROUP}
        return [group_object(g) for g in groups if details is None or kinds[g["type"] == SECURITY] in details]


MAX_GROUP_NAME = 64


def new_distribution_group(inv: Invocation) -> Iterable[Any]:
    params = inv.params
    name = str(params.get("Name")).strip()
    if len(name) > MAX_GROUP_NAME:
        # -Name: "The maximum length is 64 characters" (New-DistributionGroup.md); the text as other Exchange
        # length checks word it (unverified for this cmdlet).
        inv.fail(
            exchange_error(
                inv.spec.name,
                "Microsoft.Exchange.Data.DataValidationException",
                f"The length of the property is too long. The maximum length is {MAX_GROUP_NAME} and the length "
                f"of the value provided is {len(name)}.",
                target=name,
            )
        )
    alias = params.get("Alias") or _alias_from(name)
    group_type = params.get("Type") or DISTRIBUTION
    with inv.ctx.tenant.change() as state:
        primary = params.get("PrimarySmtpAddress") or f"{alias}@{state.domain}"
        clash = _name_or_address_clash(inv, state, name, alias, primary)
        if clash is not None:
            inv.fail(clash)
        members = [_member(inv, state, m, "New-DistributionGroup") for m in params.get("Members") or []]
        connection = inv.session.connection
        owners = [connection.principal] if connection and connection.kind == "user" else []
        group = new_group(
            state,
            name=name,
            alias=alias,
            display_name=params.get("DisplayName") or name,
            primary_smtp=primary,
            group_type=group_type,
            managed_by=owners,
            members=members,
        )
        state.groups.append(group)
        return [group_object(group)]


def get_distribution_group_member(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        group = _group(inv, state)
        members = [r for r in (member_recipient(state, m) for m in group["members"]) if r is not None]
        return [reduced_recipient_object(state, r) for r in limited(inv, members)]


def add_distribution_group_member(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.change() as state:
        group = _group(inv, state)
        identity = inv.params.get("Member")
        if identity is None:
            return []
        member = _member(inv, state, identity, "Add-DistributionGroupMember")
        _check_manager(inv, group)
        if any(m["kind"] == member.kind and m["id"] == member.id for m in group["members"]):
            inv.fail(
                exchange_error(
                    "Add-DistributionGroupMember",
                    "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException",
                    f'The recipient "{member.name}" is already a member of the group "{group["name"]}".',
                    target=identity,
                )
            )
        group["members"].append({"kind": member.kind, "id": member.id})
        group["changed"] = _now()
    return []


def remove_distribution_group_member(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.change() as state:
        group = _group(inv, state)
        identity = inv.params.get("Member")
        if identity is None:
            return []
        member = _member(inv, state, identity, "Remove-DistributionGroupMember")
        _check_manager(inv, group)
        entry = next((m for m in group["members"] if m["kind"] == member.kind and m["id"] == member.id), None)
        if entry is None:
            inv.fail(
                exchange_error(
                    "Remove-DistributionGroupMember",
                    "Microsoft.Exchange.Management.Tasks.MemberNotFoundException",
                    f'The recipient "{member.name}" isn\'t a member of the group "{group["name"]}".',
                    target=identity,
                )
            )
        group["members"].remove(entry)
        group["changed"] = _now()
    return []


def remove_distribution_group(inv: Invocation) -> Iterable[Any]:
    """Remove-DistributionGroup.md: removes the group (a mail-enabled security group too); the caller must be in
    ManagedBy or use -BypassSecurityGroupManagerCheck, as for the members."""
    with inv.ctx.tenant.change() as state:
        group = _group(inv, state)
        _check_manager(inv, group)
        state.groups.remove(group)
    return []


# --- helpers ------------------------------------------------------------------------------------------------------


def _group(inv: Invocation, state: TenantState) -> JsonObject:
    found = find_one(inv, state, inv.params.get("Identity"), ("group",))
    group = group_record(state, found.id)
    assert group is not None
    return group


def _member(inv: Invocation, state: TenantState, identity: str, cmdlet: str) -> Recipient:
    try:
        found = resolve(state, identity)
    except AmbiguousIdentity:
        inv.fail(ambiguous_recipient_error(cmdlet, identity))
    if found is None:
        inv.fail(recipient_not_found(cmdlet, identity))
    return found


def _check_manager(inv: Invocation, group: JsonObject) -> None:
    if inv.params.get("BypassSecurityGroupManagerCheck"):
        return
    connection = inv.session.connection
    managers = {str(m).casefold() for m in group["managed_by"]}
    if connection is not None and connection.kind == "user" and connection.principal.casefold() in managers:
        return
    inv.fail(
        exchange_error(
            inv.spec.name,
            "Microsoft.Exchange.Management.RecipientTasks.OperationRequiresGroupManagerException",
            "You don't have sufficient permissions. This operation can only be performed by a manager of the group.",
            target=group["name"],
        )
    )


def _name_or_address_clash(
    inv: Invocation, state: TenantState, name: str, alias: str, primary: str
) -> CmdletError | None:
    if "@" not in primary or primary.rsplit("@", 1)[1].casefold() != state.domain.casefold():
        return exchange_error(
            "New-DistributionGroup",
            "Microsoft.Exchange.Data.DataValidationException",
            f'The domain of the primary SMTP address "{primary}" isn\'t an accepted domain of the organization.',
            target=primary,
        )
    for recipient in recipients(state):
        if recipient.name.casefold() == name.casefold():
            return exchange_error(
                "New-DistributionGroup",
                "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                f'The name "{name}" is already being used. Please try another name.',
                target=name,
            )
        if any(a.casefold() == primary.casefold() for a in recipient.addresses):
            return exchange_error(
                "New-DistributionGroup",
                "Microsoft.Exchange.Data.Directory.ProxyAddressExistsException",
                f'The proxy address "SMTP:{primary}" is already being used by the proxy addresses or '
                f'LegacyExchangeDN of "{recipient.name}". Please choose another proxy address.',
                target=primary,
            )
    return None


def _alias_from(name: str) -> str:
    # "If you don't use the Alias parameter ... the value of a different required parameter is used"
    # (New-DistributionGroup.md -Alias): the name, without what an alias cannot hold.
    return _ALIAS_INVALID.sub("", name)[:64] or "group"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_INCLUDES = names(
    "IncludeAcceptMessagesOnlyFromDLMembersWithDisplayNames "
    "IncludeAcceptMessagesOnlyFromSendersOrMembersWithDisplayNames "
    "IncludeAcceptMessagesOnlyFromWithDisplayNames "
    "IncludeBypassModerationFromSendersOrMembersWithDisplayNames "
    "IncludeGrantSendOnBehalfToWithDisplayNames IncludeManagedByWithDisplayNames "
    "IncludeModeratedByWithDisplayNames"
)
_IDENTITY = Param("Identity", position=0)
_GROUP_IDENTITY = Param("Identity", mandatory=True, position=0)
_BYPASS = Param("BypassSecurityGroupManagerCheck", "switch")

CMDLETS = (
    CmdletSpec(
        "Get-DistributionGroup",
        get_distribution_group,
        (_IDENTITY, Param("RecipientTypeDetails", "strings"), Param("ResultSize", "resultsize")),
        source=_PAGE + "Get-DistributionGroup.md",
        not_emulated=("Anr", "Credential", "Filter", "ManagedBy", "OrganizationalUnit", "SortBy", *_INCLUDES),
    ),
    CmdletSpec(
        "New-DistributionGroup",
        new_distribution_group,
        (
            Param("Name", mandatory=True, position=0),
            Param(
                "Type",
                "enum",
                choices=(DISTRIBUTION, SECURITY),
                type_name="Microsoft.Exchange.Data.GroupType",
            ),
            Param("Members", "strings"),
            Param("PrimarySmtpAddress"),
            Param("Alias"),
            Param("DisplayName"),
        ),
        source=_PAGE + "New-DistributionGroup.md",
        not_emulated=names(
            "BccBlocked BypassNestedModerationEnabled CopyOwnerToMember Description HiddenGroupMembershipEnabled "
            "IgnoreNamingPolicy ManagedBy MemberDepartRestriction MemberJoinRestriction ModeratedBy "
            "ModerationEnabled Notes OrganizationalUnit RequireSenderAuthenticationEnabled RoomList "
            "SendModerationNotifications"
        ),
        should_process=True,
    ),
    CmdletSpec(
        "Remove-DistributionGroup",
        remove_distribution_group,
        (_GROUP_IDENTITY, _BYPASS),
        source=_PAGE + "Remove-DistributionGroup.md",
        not_emulated=("DomainController", "IgnoreDefaultScope"),
        should_process=True,
        confirm_by_default=True,
    ),
    CmdletSpec(
        "Get-DistributionGroupMember",
        get_distribution_group_member,
        (_GROUP_IDENTITY, Param("ResultSize", "resultsize")),
        source=_PAGE + "Get-DistributionGroupMember.md",
        not_emulated=("Credential", "IncludeSoftDeletedObjects"),
    ),
    CmdletSpec(
        "Add-DistributionGroupMember",
        add_distribution_group_member,
        (_GROUP_IDENTITY, Param("Member"), _BYPASS),
        source=_PAGE + "Add-DistributionGroupMember.md",
        should_process=True,
    ),
    CmdletSpec(
        "Remove-DistributionGroupMember",
        remove_distribution_group_member,
        (_GROUP_IDENTITY, Param("Member"), _BYPASS),
        source=_PAGE + "Remove-DistributionGroupMember.md",
        should_process=True,
        confirm_by_default=True,
    ),
)
