"""The tenant's recipients as Exchange sees them: identity resolution and the objects its cmdlets return.

Mailboxes live in `TenantState.mailboxes`; groups in `TenantState.groups` as records of the shape `new_group()`
creates. Recipient parameters accept what the cmdlet pages list: name, alias, display name, e-mail address
(primary or proxy), GUID, ExternalDirectoryObjectId, distinguished name and, for mailboxes, the UPN.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from psrpcore.types import PSObject

from roomsops.lab.cmdlets.base import (
    DN_SUFFIX,
    CmdletError,
    exchange_error,
    exchange_object,
    guid,
    parse_time,
)
from roomsops.lab.tenant import Mailbox, TenantState

JsonObject = dict[str, Any]
RecipientKind = Literal["mailbox", "group"]

SECURITY = "Security"
DISTRIBUTION = "Distribution"
SECURITY_GROUP = "MailUniversalSecurityGroup"
DISTRIBUTION_GROUP = "MailUniversalDistributionGroup"
#: RecipientTypeDetails values the lab's filters accept (a subset of Microsoft.Exchange.Data.Directory's enum).
RECIPIENT_TYPE_DETAILS = (
    "UserMailbox",
    "SharedMailbox",
    "RoomMailbox",
    "EquipmentMailbox",
    "MailUser",
    "MailContact",
    "GroupMailbox",
    "RoomList",
    SECURITY_GROUP,
    DISTRIBUTION_GROUP,
    "DynamicDistributionGroup",
)

_MAILBOX_TYPES = [
    "Microsoft.Exchange.Data.Directory.Management.Mailbox",
    "Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson",
    "Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient",
    "Microsoft.Exchange.Data.Directory.ADPresentationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]
_GROUP_TYPES = [
    "Microsoft.Exchange.Data.Directory.Management.DistributionGroup",
    "Microsoft.Exchange.Data.Directory.Management.DistributionGroupBase",
    "Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient",
    "Microsoft.Exchange.Data.Directory.ADPresentationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]
_REDUCED_TYPES = [
    "Microsoft.Exchange.Data.Directory.Management.ReducedRecipient",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]
_CAS_TYPES = [
    "Microsoft.Exchange.Data.Directory.Management.CASMailbox",
    "Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson",
    "Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient",
    "Microsoft.Exchange.Data.Directory.ADPresentationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]


@dataclass(frozen=True)
class Recipient:
    """A mailbox or a group, seen the same way by identity parameters and Get-Recipient."""

    kind: RecipientKind
    id: str  # Mailbox.id (ExchangeGuid) or the group's Guid
    name: str
    display_name: str
    alias: str
    primary_smtp: str
    addresses: tuple[str, ...]  # every SMTP address, primary first
    object_id: str  # ExternalDirectoryObjectId
    guid: str  # the directory object's Guid
    sid: str
    details: str  # RecipientTypeDetails
    recipient_type: str  # RecipientType
    upn: str | None = None

    @property
    def distinguished_name(self) -> str:
        return distinguished_name(self.name, self.primary_smtp.split("@", 1)[-1])

    def matches(self, identity: str) -> bool:
        wanted = identity.strip().casefold()
        if not wanted:
            return False
        keys = [self.name, self.display_name, self.alias, self.object_id, self.guid, self.distinguished_name]
        if self.kind == "mailbox":
            keys.append(self.id)  # ExchangeGuid
        keys.extend(self.addresses)
        keys.extend(f"smtp:{a}" for a in self.addresses)
        if self.upn:
            keys.append(self.upn)
        return any(k.casefold() == wanted for k in keys)


class AmbiguousIdentity(Exception):
    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.identity = identity


def distinguished_name(name: str, domain: str) -> str:
    return f"CN={name},OU={domain},{DN_SUFFIX}"


def mailbox_recipient(state: TenantState, mailbox: Mailbox) -> Recipient:
    return Recipient(
        kind="mailbox",
        id=mailbox.id,
        name=mailbox.alias,
        display_name=mailbox.display_name,
        alias=mailbox.alias,
        primary_smtp=mailbox.primary_smtp,
        addresses=tuple(mailbox.addresses()),
        object_id=mailbox.object_id,
        guid=mailbox_guid(state, mailbox),
        sid=mailbox.sid,
        details="RoomMailbox" if mailbox.kind == "room" else "UserMailbox",
        recipient_type="UserMailbox",
        upn=mailbox.primary_smtp,
    )


def group_recipient(group: JsonObject) -> Recipient:
    details = SECURITY_GROUP if group["type"] == SECURITY else DISTRIBUTION_GROUP
    return Recipient(
        kind="group",
        id=group["guid"],
        name=group["name"],
        display_name=group["display_name"],
        alias=group["alias"],
        primary_smtp=group["primary_smtp"],
        addresses=(group["primary_smtp"], *group.get("aliases", [])),
        object_id=group["object_id"],
        guid=group["guid"],
        sid=group["sid"],
        details=details,
        recipient_type=details,
    )


def mailbox_guid(state: TenantState, mailbox: Mailbox) -> str:
    """The mailbox user's directory object Guid (not the ExchangeGuid), stable per tenant."""
    return str(uuid.uuid5(uuid.UUID(state.tenant_id), f"adobject:{mailbox.id}"))


def recipients(state: TenantState) -> list[Recipient]:
    return [
        *(mailbox_recipient(state, m) for m in state.mailboxes),
        *(group_recipient(g) for g in state.groups),
    ]


def resolve(
    state: TenantState, identity: str, kinds: tuple[RecipientKind, ...] = ("mailbox", "group")
) -> Recipient | None:
    """The one recipient `identity` names, None when none; AmbiguousIdentity when several do."""
    found = [r for r in recipients(state) if r.kind in kinds and r.matches(identity)]
    if len(found) > 1:
        raise AmbiguousIdentity(identity)
    return found[0] if found else None


def ambiguous_error(cmdlet: str, identity: str) -> CmdletError:
    """An -Identity that names several objects (observed from Exchange Online, module V3: CyberDrain/CIPP#244,
    KelvinTegelaar/CIPP-API#1568)."""
    return exchange_error(
        cmdlet,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
        f"The operation couldn't be performed because object: '{identity}' matches multiple entries.",
        target=identity,
    )


def ambiguous_recipient_error(cmdlet: str, identity: str) -> CmdletError:
    """A recipient *parameter* (-Member, -PolicyScopeGroupId) that names several recipients (observed:
    timmcmic/DLConversionV2#170)."""
    return exchange_error(
        cmdlet,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
        f'There are multiple recipients matching the identity "{identity}". Please specify a unique value.',
        target=identity,
        code="Ex8155FB",
    )


def group_record(state: TenantState, group_id: str) -> JsonObject | None:
    return next((g for g in state.groups if g["guid"] == group_id), None)


def mailbox_by_id(state: TenantState, mailbox_id: str) -> Mailbox | None:
    return next((m for m in state.mailboxes if m.id == mailbox_id), None)


def member_recipient(state: TenantState, member: JsonObject) -> Recipient | None:
    if member["kind"] == "mailbox":
        mailbox = mailbox_by_id(state, member["id"])
        return mailbox_recipient(state, mailbox) if mailbox else None
    group = group_record(state, member["id"])
    return group_recipient(group) if group else None


def new_group(
    state: TenantState,
    *,
    name: str,
    alias: str,
    display_name: str,
    primary_smtp: str,
    group_type: str,
    managed_by: list[str],
    members: list[Recipient],
    is_dir_synced: bool = False,
) -> JsonObject:
    """A group record as the lab stores it (what New-DistributionGroup and POST /lab/groups create)."""
    rid = state.next_rid
    state.next_rid += 1
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "guid": str(uuid.uuid4()),
        "object_id": str(uuid.uuid4()),
        "sid": state.sid(rid),
        "name": name,
        "alias": alias,
        "display_name": display_name,
        "primary_smtp": primary_smtp,
        "aliases": [],
        "type": group_type,
        "members": [{"kind": m.kind, "id": m.id} for m in members],
        "managed_by": managed_by,
        "is_dir_synced": is_dir_synced,
        "created": now,
        "changed": now,
    }


# --- objects ------------------------------------------------------------------------------------------------------


def email_addresses(recipient: Recipient) -> list[str]:
    """ProxyAddresses: `SMTP:` marks the primary address, `smtp:` the others."""
    return [f"SMTP:{recipient.primary_smtp}", *(f"smtp:{a}" for a in recipient.addresses[1:])]


def _common(recipient: Recipient) -> dict[str, Any]:
    return {
        "Name": recipient.name,
        "DisplayName": recipient.display_name,
        "Alias": recipient.alias,
        "PrimarySmtpAddress": recipient.primary_smtp,
        "EmailAddresses": email_addresses(recipient),
        "RecipientType": recipient.recipient_type,
        "RecipientTypeDetails": recipient.details,
        "ExternalDirectoryObjectId": recipient.object_id,
        "Identity": recipient.name,
        "Id": recipient.name,
        "Guid": guid(recipient.guid),
        "DistinguishedName": recipient.distinguished_name,
        "WindowsEmailAddress": recipient.primary_smtp,
        "HiddenFromAddressListsEnabled": False,
    }


def mailbox_object(state: TenantState, mailbox: Mailbox) -> PSObject:
    recipient = mailbox_recipient(state, mailbox)
    props = {
        **_common(recipient),
        "UserPrincipalName": mailbox.primary_smtp,
        "ExchangeGuid": guid(mailbox.id),
        "IsDirSynced": False,
        "ResourceType": "Room" if mailbox.kind == "room" else None,
        "IsResource": mailbox.kind == "room",
        "RecipientTypeDetails": recipient.details,
    }
    return exchange_object(_MAILBOX_TYPES, props, recipient.name)


def reduced_recipient_object(state: TenantState, recipient: Recipient) -> PSObject:
    props = {
        **_common(recipient),
        # Security principals can be scoped by application access policies (New-ApplicationAccessPolicy.md).
        "IsValidSecurityPrincipal": recipient.details in ("UserMailbox", SECURITY_GROUP),
    }
    if recipient.kind == "group":
        group = group_record(state, recipient.id)
        props["IsDirSynced"] = bool(group and group.get("is_dir_synced"))
    else:
        props["IsDirSynced"] = False
    return exchange_object(_REDUCED_TYPES, props, recipient.name)


def group_object(group: JsonObject) -> PSObject:
    recipient = group_recipient(group)
    security = group["type"] == SECURITY
    props = {
        **_common(recipient),
        "GroupType": "Universal, SecurityEnabled" if security else "Universal",
        "SamAccountName": group["alias"],
        "ManagedBy": list(group["managed_by"]),
        "IsDirSynced": bool(group.get("is_dir_synced")),
        "MemberJoinRestriction": "Closed",
        "MemberDepartRestriction": "Closed" if security else "Open",
        "RequireSenderAuthenticationEnabled": True,
        "WhenCreated": parse_time(group["created"]),
        "WhenChanged": parse_time(group["changed"]),
    }
    return exchange_object(_GROUP_TYPES, props, recipient.name)


def cas_mailbox_object(state: TenantState, mailbox: Mailbox) -> PSObject:
    recipient = mailbox_recipient(state, mailbox)
    props = {
        "Name": recipient.name,
        "DisplayName": recipient.display_name,
        "Identity": recipient.name,
        "PrimarySmtpAddress": mailbox.primary_smtp,
        "EmailAddresses": email_addresses(recipient),
        "ExternalDirectoryObjectId": mailbox.object_id,
        "Guid": guid(recipient.guid),
        "DistinguishedName": recipient.distinguished_name,
        # Unset means enabled: "$true ... This value is the default." (Set-CASMailbox.md)
        "EwsEnabled": True if mailbox.ews_enabled is None else mailbox.ews_enabled,
        "EwsAllowOutlook": None,
        "EwsAllowMacOutlook": None,
        "EwsAllowEntourage": None,
        "EwsApplicationAccessPolicy": None,
        "EwsAllowList": None,
        "EwsBlockList": None,
        "OWAEnabled": True,
        "ActiveSyncEnabled": True,
        "ImapEnabled": True,
        "PopEnabled": True,
        "MAPIEnabled": True,
    }
    return exchange_object(_CAS_TYPES, props, recipient.name)
