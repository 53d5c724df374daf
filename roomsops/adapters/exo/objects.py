"""Exchange objects as typed values: built here from the PowerShell property bags a cmdlet returns, so that
services read `group.object_id`, never `row["ExternalDirectoryObjectId"]`.

Each class knows which rows it is made from (`matches`): several Get- cmdlets share one pipeline, and their
objects come back in one list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from roomsops.core.vocabulary import CALENDAR_PROCESSING

Row = Mapping[str, Any]
SECURITY_GROUP = "MailUniversalSecurityGroup"
#: The RecipientTypeDetails of a mailbox in Exchange Online that an app opens (Get-Mailbox -RecipientTypeDetails
#: lists these). Not RemoteUserMailbox, RemoteRoomMailbox, ... (a mailbox on-premises in a hybrid organisation:
#: Exchange Online holds no mailbox for it), nor system mailboxes (Discovery, Arbitration, Monitoring, ...): a
#: group that holds only those gives an application access policy or a management scope no mailbox to reach.
MAILBOX_TYPES = frozenset(
    {
        "UserMailbox",
        "SharedMailbox",
        "RoomMailbox",
        "EquipmentMailbox",
        "LinkedMailbox",
        "LinkedRoomMailbox",
        "SchedulingMailbox",
        "TeamMailbox",
    }
)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _true(value: Any) -> bool:
    """A deserialized Boolean: pypsrp gives bool, some serializers give 'True'/'False'."""
    return value is True or str(value).casefold() == "true"


def _switch(value: Any) -> bool | None:
    """A nullable Boolean switch such as EwsEnabled: None (unset), True or False."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _smtp_addresses(row: Row) -> frozenset[str]:
    found = {_text(row.get("PrimarySmtpAddress")).casefold()}
    for proxy in row.get("EmailAddresses") or []:
        text = str(proxy)
        if text.lower().startswith("smtp:"):
            found.add(text[5:].casefold())
    return frozenset(found - {""})


@dataclass(frozen=True)
class Recipient:
    """A mailbox or other recipient (Get-Mailbox, Get-Recipient, Get-DistributionGroupMember)."""

    name: str
    primary_smtp: str
    details: str  # RecipientTypeDetails: UserMailbox, RoomMailbox, MailUniversalSecurityGroup, ...
    object_id: str  # ExternalDirectoryObjectId, the Entra object id
    distinguished_name: str
    exchange_guid: str = ""  # lower case; only mailboxes have one
    smtp_addresses: frozenset[str] = frozenset()  # every SMTP address, case-folded

    @staticmethod
    def matches(row: Row) -> bool:
        return "PrimarySmtpAddress" in row

    @classmethod
    def from_row(cls, row: Row) -> Recipient:
        return cls(
            name=_text(row.get("Name")),
            primary_smtp=_text(row.get("PrimarySmtpAddress")),
            details=_text(row.get("RecipientTypeDetails")),
            object_id=_text(row.get("ExternalDirectoryObjectId")),
            distinguished_name=_text(row.get("DistinguishedName")),
            exchange_guid=_text(row.get("ExchangeGuid")).lower(),
            smtp_addresses=_smtp_addresses(row),
        )

    @property
    def is_mailbox(self) -> bool:
        """An Exchange Online mailbox (MAILBOX_TYPES), one an app can be given access to."""
        return self.details in MAILBOX_TYPES and bool(self.primary_smtp)

    @property
    def is_security_group(self) -> bool:
        return self.details == SECURITY_GROUP

    def has_address(self, address: str) -> bool:
        return address.casefold() in self.smtp_addresses


@dataclass(frozen=True)
class Group:
    """A distribution or mail-enabled security group (Get-DistributionGroup)."""

    name: str
    object_id: str
    distinguished_name: str
    details: str
    is_dir_synced: bool

    @staticmethod
    def matches(row: Row) -> bool:
        return (
            "RecipientTypeDetails" in row and "ExternalDirectoryObjectId" in row and "ExchangeGuid" not in row
        )

    @classmethod
    def from_row(cls, row: Row) -> Group:
        return cls(
            name=_text(row.get("Name") or row.get("DisplayName")),
            object_id=_text(row.get("ExternalDirectoryObjectId")),
            distinguished_name=_text(row.get("DistinguishedName")),
            details=_text(row.get("RecipientTypeDetails")),
            is_dir_synced=bool(row.get("IsDirSynced")),
        )

    @property
    def is_security_group(self) -> bool:
        return self.details == SECURITY_GROUP


@dataclass(frozen=True)
class AccessPolicy:
    """An application access policy (Get-ApplicationAccessPolicy)."""

    identity: str
    app_id: str
    access_right: str  # RestrictAccess | DenyAccess
    scope_name: str
    scope_identity_raw: str  # <SID>;<object id of the scope recipient>
    description: str = ""

    @staticmethod
    def matches(row: Row) -> bool:
        return "AccessRight" in row

    @classmethod
    def from_row(cls, row: Row) -> AccessPolicy:
        return cls(
            identity=_text(row.get("Identity")),
            app_id=_text(row.get("AppId")),
            access_right=_text(row.get("AccessRight")),
            scope_name=_text(row.get("ScopeName")),
            scope_identity_raw=_text(row.get("ScopeIdentityRaw")),
            description=_text(row.get("Description")),
        )

    @property
    def scope_object_id(self) -> str:
        return self.scope_identity_raw.rsplit(";", 1)[-1]

    def is_for(self, app_id: str) -> bool:
        return self.app_id.casefold() == app_id.casefold()

    def scoped_to(self, object_id: str) -> bool:
        return self.scope_identity_raw.casefold().endswith(";" + object_id.casefold())


@dataclass(frozen=True)
class AccessAnswer:
    """One answer of Test-ApplicationAccessPolicy."""

    app_id: str | None
    mailbox_id: str  # the mailbox's ExchangeGuid, lower case
    access_check_result: str  # Granted | Denied

    @classmethod
    def from_row(cls, row: Row) -> AccessAnswer:
        app_id = row.get("AppId")
        return cls(
            app_id=None if app_id is None else str(app_id),
            mailbox_id=_text(row.get("MailboxId")).lower(),
            access_check_result=_text(row.get("AccessCheckResult")),
        )


@dataclass(frozen=True)
class ServicePrincipal:
    """Exchange's pointer to an Entra service principal (Get-ServicePrincipal)."""

    app_id: str
    object_id: str

    @staticmethod
    def matches(row: Row) -> bool:
        return "AppId" in row and "ObjectId" in row and "AccessRight" not in row

    @classmethod
    def from_row(cls, row: Row) -> ServicePrincipal:
        return cls(
            app_id=_text(row.get("AppId")),
            object_id=_text(row.get("ObjectId") or row.get("ServiceId") or row.get("Identity")),
        )


@dataclass(frozen=True)
class ManagementScope:
    """A management scope (Get-ManagementScope)."""

    name: str
    recipient_filter: str

    @staticmethod
    def matches(row: Row) -> bool:
        return "RecipientFilter" in row and "ScopeRestrictionType" in row

    @classmethod
    def from_row(cls, row: Row) -> ManagementScope:
        return cls(name=_text(row.get("Name")), recipient_filter=_text(row.get("RecipientFilter")))


@dataclass(frozen=True)
class RoleAssignment:
    """A management role assignment (Get-ManagementRoleAssignment)."""

    name: str
    role: str
    assignee: str  # RoleAssignee: for an app, its service principal's object id
    custom_resource_scope: str | None
    delegating: bool
    #: CustomRecipientWriteScope: the management scope of an administrator's (not an app's) role assignment.
    recipient_write_scope: str | None = None

    @staticmethod
    def matches(row: Row) -> bool:
        return "RoleAssignee" in row and "Role" in row

    @classmethod
    def from_row(cls, row: Row) -> RoleAssignment:
        return cls(
            name=_text(row.get("Name")),
            role=_text(row.get("Role")),
            assignee=_text(row.get("RoleAssignee")),
            custom_resource_scope=_text(row.get("CustomResourceScope")) or None,
            delegating=bool(row.get("Delegating")),
            recipient_write_scope=_text(row.get("CustomRecipientWriteScope")) or None,
        )

    def has_scope(self, scope: str) -> bool:
        return (self.custom_resource_scope or "").casefold() == scope.casefold()

    def uses_scope(self, scope: str) -> bool:
        """Does this assignment (an app's or an administrator's) use the management scope `scope`?"""
        return any(
            (name or "").casefold() == scope.casefold()
            for name in (self.custom_resource_scope, self.recipient_write_scope)
        )


@dataclass(frozen=True)
class Authorization:
    """One row of Test-ServicePrincipalAuthorization: one role assignment and whether the resource is in scope."""

    role_name: str
    allowed_resource_scope: str
    in_scope: bool

    @classmethod
    def from_row(cls, row: Row) -> Authorization:
        return cls(
            role_name=_text(row.get("RoleName")),
            allowed_resource_scope=_text(row.get("AllowedResourceScope")),
            in_scope=_true(row.get("InScope")),
        )


def _app_ids(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(i).strip() for i in items if str(i).strip())


@dataclass(frozen=True)
class OrganizationConfig:
    """The tenant's EWS switches (Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy)."""

    ews_enabled: bool | None
    ews_allowed_app_ids: tuple[str, ...]

    @staticmethod
    def matches(row: Row) -> bool:
        return "PrimarySmtpAddress" not in row

    @classmethod
    def from_row(cls, row: Row) -> OrganizationConfig:
        return cls(
            ews_enabled=_switch(row.get("EwsEnabled")),
            ews_allowed_app_ids=_app_ids(row.get("EwsAllowedAppIDs")),
        )


@dataclass(frozen=True)
class CasMailbox:
    """A mailbox's protocol switches (Get-CASMailbox)."""

    primary_smtp: str
    ews_enabled: bool | None

    @staticmethod
    def matches(row: Row) -> bool:
        return "PrimarySmtpAddress" in row

    @classmethod
    def from_row(cls, row: Row) -> CasMailbox:
        return cls(
            primary_smtp=_text(row.get("PrimarySmtpAddress")), ews_enabled=_switch(row.get("EwsEnabled"))
        )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class CalendarProcessing:
    """A mailbox's resource booking attendant settings (Get-CalendarProcessing). `value(parameter)` reads one
    by its Set-CalendarProcessing name (core.vocabulary.CALENDAR_PROCESSING), so a profile can be compared."""

    owner: str  # MailboxOwnerId (else Identity): the mailbox's Name, as Get-Mailbox gives it
    settings: tuple[tuple[str, bool | int | str], ...]  # (parameter, value) for every parameter read

    @staticmethod
    def matches(row: Row) -> bool:
        return "AutomateProcessing" in row and "BookingWindowInDays" in row

    @classmethod
    def from_row(cls, row: Row) -> CalendarProcessing:
        values: list[tuple[str, bool | int | str]] = []
        for parameter, (kind, _, _) in CALENDAR_PROCESSING.items():
            raw = row.get(parameter)
            if kind == "bool":
                values.append((parameter, _true(raw)))
            elif kind == "int":
                values.append((parameter, _int(raw)))
            else:
                values.append((parameter, _text(raw)))
        return cls(owner=_text(row.get("MailboxOwnerId") or row.get("Identity")), settings=tuple(values))

    def value(self, parameter: str) -> bool | int | str:
        return dict(self.settings)[parameter]
