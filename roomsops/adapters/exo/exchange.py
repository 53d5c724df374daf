"""Typed reads of Exchange Online: the Get- and Test- cmdlets roomsops runs, returning `objects` values.

Reads that belong together share one pipeline (`read`), so a command costs as few WinRM round trips as
before; cmdlets that change the tenant are run by the services through `ExchangeSession.run`, with their
parameters recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from roomsops.adapters.exo.errors import CmdletError, CmdletFailure, raise_unexpected
from roomsops.adapters.exo.objects import (
    AccessAnswer,
    AccessPolicy,
    Authorization,
    CalendarProcessing,
    CasMailbox,
    Group,
    ManagementScope,
    OrganizationConfig,
    Recipient,
    RoleAssignment,
    Row,
    ServicePrincipal,
)
from roomsops.adapters.exo.session import ExchangeSession

T = TypeVar("T")


@dataclass(frozen=True)
class Answers(Generic[T]):
    """What a pipeline of one cmdlet per identity returned, in statement order, and its expected failures."""

    objects: list[T] = field(default_factory=list)
    failures: list[CmdletFailure] = field(default_factory=list)


# --- several reads in one pipeline -----------------------------------------------------------------------------

# The order in which a row is tried against the kinds a pipeline asked for: the most specific first.
_KINDS: tuple[type[Any], ...] = (
    CalendarProcessing,
    AccessPolicy,
    RoleAssignment,
    ManagementScope,
    ServicePrincipal,
    Group,
    Recipient,
)


@dataclass(frozen=True)
class Query:
    """One Get- statement and the kind of object its rows become."""

    cmdlet: str
    params: Mapping[str, Any]
    kind: type[Any]


def group_query(identity: str) -> Query:
    return Query("Get-DistributionGroup", {"Identity": identity}, Group)


def policies_query() -> Query:
    return Query("Get-ApplicationAccessPolicy", {}, AccessPolicy)


def service_principals_query() -> Query:
    return Query("Get-ServicePrincipal", {}, ServicePrincipal)


def scopes_query() -> Query:
    return Query("Get-ManagementScope", {}, ManagementScope)


def assignments_query(role: str | None) -> Query:
    """The role assignments of one role, or (None) every role assignment of the organisation."""
    return Query("Get-ManagementRoleAssignment", {"Role": role} if role else {}, RoleAssignment)


def mailboxes_query(result_size: int) -> Query:
    return Query("Get-Mailbox", {"ResultSize": result_size}, Recipient)


def mailbox_query(identity: str) -> Query:
    return Query("Get-Mailbox", {"Identity": identity}, Recipient)


def room_mailboxes_query() -> Query:
    """Every room mailbox of the tenant."""
    return Query("Get-Mailbox", {"RecipientTypeDetails": "RoomMailbox", "ResultSize": "Unlimited"}, Recipient)


def calendar_processing_query(identity: str) -> Query:
    return Query("Get-CalendarProcessing", {"Identity": identity}, CalendarProcessing)


@dataclass(frozen=True)
class Objects:
    """The objects of one pipeline of reads, by kind."""

    groups: list[Group] = field(default_factory=list)
    recipients: list[Recipient] = field(default_factory=list)
    policies: list[AccessPolicy] = field(default_factory=list)
    principals: list[ServicePrincipal] = field(default_factory=list)
    scopes: list[ManagementScope] = field(default_factory=list)
    assignments: list[RoleAssignment] = field(default_factory=list)
    calendar_processing: list[CalendarProcessing] = field(default_factory=list)

    def add(self, kind: type[Any], row: Row) -> None:
        field_name = {
            Group: "groups",
            Recipient: "recipients",
            AccessPolicy: "policies",
            ServicePrincipal: "principals",
            ManagementScope: "scopes",
            RoleAssignment: "assignments",
            CalendarProcessing: "calendar_processing",
        }[kind]
        target: list[Any] = getattr(self, field_name)
        target.append(kind.from_row(row))


def read(session: ExchangeSession, queries: Sequence[Query]) -> Objects:
    """Run the queries as one pipeline; an object not found is no error, any other failure raises."""
    batch = session.run_batch([(q.cmdlet, dict(q.params)) for q in queries])
    raise_unexpected(batch.failures)
    asked = [k for k in _KINDS if any(q.kind is k for q in queries)]
    objects = Objects()
    for row in batch.outputs:
        kind = next((k for k in asked if k.matches(row)), None)
        if kind is not None:
            objects.add(kind, row)
    return objects


# --- recipients and groups -------------------------------------------------------------------------------------


def find_mailboxes(
    session: ExchangeSession, addresses: Sequence[str]
) -> tuple[dict[str, Recipient], dict[str, str]]:
    """Get-Mailbox for every address in one pipeline: (found by the address asked for, not found → why)."""
    batch = session.run_batch([("Get-Mailbox", {"Identity": a}) for a in addresses])
    found: dict[str, Recipient] = {}
    for row in batch.outputs:
        mailbox = Recipient.from_row(row)
        for address in addresses:
            if mailbox.has_address(address) and address not in found:
                found[address] = mailbox
    missing: dict[str, str] = {}
    for address in addresses:
        if address not in found:
            failure = next(
                (f for f in batch.failures if f.target and f.target.casefold() == address.casefold()), None
            )
            missing[address] = failure.message if failure else f"no mailbox has the address {address}"
    raise_unexpected(batch.failures)
    return found, missing


def find_group(session: ExchangeSession, identity: str) -> Group | None:
    return next(iter(read(session, [group_query(identity)]).groups), None)


def existing_recipients(session: ExchangeSession, object_ids: Sequence[str]) -> set[str]:
    """Which of the object ids (ExternalDirectoryObjectId) still name a recipient (Get-Recipient, one pipeline;
    one not found is none), case-folded: a policy's scope that is not among them was deleted."""
    if not object_ids:
        return set()
    objects = read(session, [Query("Get-Recipient", {"Identity": oid}, Recipient) for oid in object_ids])
    return {r.object_id.casefold() for r in objects.recipients}


def group_members(session: ExchangeSession, group_object_id: str) -> list[Recipient]:
    """Every member of one group (any error raises)."""
    rows = session.run(
        "Get-DistributionGroupMember", {"Identity": group_object_id, "ResultSize": "Unlimited"}
    )
    return [Recipient.from_row(r) for r in rows]


def members_of_groups(session: ExchangeSession, group_object_ids: Sequence[str]) -> list[Recipient]:
    """The members of several groups in one pipeline (a group not found has none)."""
    batch = session.run_batch(
        [
            ("Get-DistributionGroupMember", {"Identity": g, "ResultSize": "Unlimited"})
            for g in group_object_ids
        ]
    )
    raise_unexpected(batch.failures)
    return [Recipient.from_row(r) for r in batch.outputs]


def recipients_by_object_id(session: ExchangeSession, object_ids: Sequence[str]) -> dict[str, Recipient]:
    """Get-Recipient for each Entra object id in one pipeline, keyed by the case-folded object id."""
    batch = session.run_batch([("Get-Recipient", {"Identity": oid}) for oid in object_ids])
    raise_unexpected(batch.failures)
    recipients = [Recipient.from_row(r) for r in batch.outputs]
    return {r.object_id.casefold(): r for r in recipients}


# --- policies and RBAC for Applications ------------------------------------------------------------------------


def list_access_policies(session: ExchangeSession) -> list[AccessPolicy]:
    return [AccessPolicy.from_row(r) for r in session.run("Get-ApplicationAccessPolicy")]


def list_service_principals(session: ExchangeSession) -> list[ServicePrincipal]:
    return [
        ServicePrincipal.from_row(r)
        for r in session.run("Get-ServicePrincipal")
        if ServicePrincipal.matches(r)
    ]


def access_policy_answers(
    session: ExchangeSession, app_id: str, identities: Sequence[str]
) -> Answers[AccessAnswer]:
    """Test-ApplicationAccessPolicy for each identity in one pipeline; a mailbox not found is a failure."""
    batch = session.run_batch(
        [("Test-ApplicationAccessPolicy", {"Identity": i, "AppId": app_id}) for i in identities]
    )
    raise_unexpected(batch.failures)
    return Answers([AccessAnswer.from_row(r) for r in batch.outputs], list(batch.failures))


def authorization_answers(
    session: ExchangeSession, sp_object_id: str, resources: Sequence[str]
) -> Answers[Authorization]:
    """Test-ServicePrincipalAuthorization -Resource for each mailbox in one pipeline (one row per assignment)."""
    batch = session.run_batch(
        [("Test-ServicePrincipalAuthorization", {"Identity": sp_object_id, "Resource": r}) for r in resources]
    )
    raise_unexpected(batch.failures)
    return Answers([Authorization.from_row(r) for r in batch.outputs], list(batch.failures))


# --- EWS switches ----------------------------------------------------------------------------------------------


def read_ews_settings(
    session: ExchangeSession, mailboxes: Sequence[str]
) -> tuple[OrganizationConfig, dict[str, CasMailbox]]:
    """Get-OrganizationConfig (with the allow list) and Get-CASMailbox of each mailbox, in one pipeline;
    the mailboxes keyed by their case-folded primary address. Any failure raises."""
    batch = session.run_batch(
        [
            ("Get-OrganizationConfig", {"RetrieveEwsOperationAccessPolicy": True}),
            *[("Get-CASMailbox", {"Identity": m}) for m in mailboxes],
        ]
    )
    if batch.failures:
        raise CmdletError(batch.failures)
    org = next(
        (OrganizationConfig.from_row(o) for o in batch.outputs if OrganizationConfig.matches(o)),
        OrganizationConfig(ews_enabled=None, ews_allowed_app_ids=()),
    )
    cas = [CasMailbox.from_row(o) for o in batch.outputs if CasMailbox.matches(o)]
    return org, {c.primary_smtp.casefold(): c for c in cas}


# --- calendar processing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxProcessing:
    """What one pipeline read of one address: its mailbox (None: not found) and the mailbox's calendar
    processing (None when there is no mailbox, or Exchange returned none for it)."""

    address: str
    mailbox: Recipient | None
    processing: CalendarProcessing | None


def read_calendar_processing(session: ExchangeSession, addresses: Sequence[str]) -> list[MailboxProcessing]:
    """Get-Mailbox and Get-CalendarProcessing of every address, all in one pipeline; an address no mailbox has
    is no error (its `mailbox` is None), any other failure raises."""
    if not addresses:
        return []
    queries = [q for a in addresses for q in (mailbox_query(a), calendar_processing_query(a))]
    return _pair(read(session, queries), addresses)


def read_room_mailboxes_processing(session: ExchangeSession) -> list[MailboxProcessing]:
    """Every room mailbox of the tenant with its calendar processing: two pipelines, whatever their number."""
    rooms = read(session, [room_mailboxes_query()]).recipients
    addresses = [r.primary_smtp for r in rooms]
    if not addresses:
        return []
    objects = read(session, [calendar_processing_query(a) for a in addresses])
    objects.recipients.extend(rooms)
    return _pair(objects, addresses)


def _pair(objects: Objects, addresses: Sequence[str]) -> list[MailboxProcessing]:
    """Each address with the mailbox that has it and that mailbox's calendar processing (matched by its Name:
    Get-CalendarProcessing names its mailbox as MailboxOwnerId, and names are unique in a tenant)."""
    by_owner = {p.owner.casefold(): p for p in objects.calendar_processing}
    out = []
    for address in addresses:
        mailbox = next((r for r in objects.recipients if r.has_address(address)), None)
        processing = by_owner.get(mailbox.name.casefold()) if mailbox is not None else None
        out.append(MailboxProcessing(address, mailbox, processing))
    return out
