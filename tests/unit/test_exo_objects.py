"""Typed Exchange objects: the adapter turns PowerShell property bags into dataclasses and sorts the objects
of a shared pipeline by kind; services never read a PowerShell property name themselves."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.errors import CmdletError, CmdletFailure
from roomsops.adapters.exo.objects import (
    AccessPolicy,
    Authorization,
    Group,
    OrganizationConfig,
    Recipient,
    RoleAssignment,
    ServicePrincipal,
)
from roomsops.adapters.exo.session import Batch, ExchangeSession

SERVICES = Path(__file__).resolve().parents[2] / "roomsops" / "services"

GROUP = {
    "Name": "SyncIsAllowed",
    "RecipientTypeDetails": "MailUniversalSecurityGroup",
    "ExternalDirectoryObjectId": "1b6f0c3e-0000-4000-8000-000000000001",
    "DistinguishedName": "CN=SyncIsAllowed,OU=contoso.onmicrosoft.com",
    "PrimarySmtpAddress": "SyncIsAllowed@contoso.com",
    "IsDirSynced": False,
}
MAILBOX = {
    "Name": "DiegoS",
    "RecipientTypeDetails": "UserMailbox",
    "ExternalDirectoryObjectId": "1b6f0c3e-0000-4000-8000-000000000002",
    "PrimarySmtpAddress": "DiegoS@contoso.com",
    "EmailAddresses": ["SMTP:DiegoS@contoso.com", "smtp:diego@contoso.com", "X500:/o=Exchange"],
    "ExchangeGuid": "AB0C7D3E-0000-4000-8000-000000000002",
}
POLICY = {
    "Identity": "contoso\\policy-1",
    "AppId": "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f",
    "AccessRight": "RestrictAccess",
    "ScopeName": "SyncIsAllowed",
    "ScopeIdentityRaw": "S-1-5-21-1;1B6F0C3E-0000-4000-8000-000000000001",
    "Description": None,
}
PRINCIPAL = {"AppId": POLICY["AppId"], "ObjectId": "7c7599b2-0000-4000-8000-000000000003", "Name": "x"}
ASSIGNMENT = {
    "Name": "EWS.AccessAsApp SyncIsAllowed",
    "Role": "Application EWS.AccessAsApp",
    "RoleAssignee": PRINCIPAL["ObjectId"],
    "CustomResourceScope": "",
    "Delegating": False,
}
SCOPE = {
    "Name": "SyncIsAllowed",
    "RecipientFilter": "MemberOfGroup -eq 'x'",
    "ScopeRestrictionType": "Recipient",
}


class FakeSession:
    """Answers pipelines with prepared rows: the adapter's parsing without WinRM (the lab tests cover that)."""

    host = "host.test"

    def __init__(self, outputs: list[dict[str, Any]], failures: Sequence[CmdletFailure] = ()) -> None:
        self.outputs = outputs
        self.failures = list(failures)
        self.pipelines: list[list[tuple[str, dict[str, Any]]]] = []

    def run_batch(self, statements: Sequence[tuple[str, dict[str, Any]]]) -> Batch:
        self.pipelines.append(list(statements))
        return Batch(outputs=self.outputs, failures=self.failures)


def session(fake: FakeSession) -> ExchangeSession:
    return cast(ExchangeSession, fake)


def test_objects_from_property_bags() -> None:
    mailbox = Recipient.from_row(MAILBOX)
    assert mailbox.exchange_guid == "ab0c7d3e-0000-4000-8000-000000000002"
    assert mailbox.has_address("DIEGO@contoso.com") and not mailbox.has_address("/o=Exchange")
    assert mailbox.is_mailbox and not mailbox.is_security_group
    group = Group.from_row(GROUP)
    assert group.is_security_group and not group.is_dir_synced
    policy = AccessPolicy.from_row(POLICY)
    assert policy.scope_object_id == "1B6F0C3E-0000-4000-8000-000000000001" and policy.description == ""
    assert policy.scoped_to(group.object_id) and policy.is_for(str(POLICY["AppId"]).upper())
    assert RoleAssignment.from_row(ASSIGNMENT).custom_resource_scope is None  # "" is the organization
    assert ServicePrincipal.from_row({"AppId": "a", "ServiceId": "b"}).object_id == "b"
    assert Authorization.from_row({"RoleName": "r", "AllowedResourceScope": "s", "InScope": "True"}).in_scope


@pytest.mark.parametrize(
    ("enabled", "allowed", "expected"),
    [
        (None, None, (None, ())),
        ("", "a, b", (None, ("a", "b"))),
        ("True", ["a"], (True, ("a",))),
        (False, [], (False, ())),
    ],
)
def test_organization_config_switches(enabled: Any, allowed: Any, expected: tuple[Any, Any]) -> None:
    org = OrganizationConfig.from_row({"EwsEnabled": enabled, "EwsAllowedAppIDs": allowed})
    assert (org.ews_enabled, org.ews_allowed_app_ids) == expected


def test_one_pipeline_sorted_by_kind() -> None:
    fake = FakeSession([GROUP, POLICY, PRINCIPAL, SCOPE, ASSIGNMENT])
    queries = [
        exchange.group_query("SyncIsAllowed"),
        exchange.policies_query(),
        exchange.service_principals_query(),
        exchange.scopes_query(),
        exchange.assignments_query("Application EWS.AccessAsApp"),
    ]
    objects = exchange.read(session(fake), queries)
    assert [[cmdlet for cmdlet, _ in p] for p in fake.pipelines] == [[q.cmdlet for q in queries]]
    assert [g.name for g in objects.groups] == ["SyncIsAllowed"]
    assert [p.identity for p in objects.policies] == [POLICY["Identity"]]
    assert [p.object_id for p in objects.principals] == [PRINCIPAL["ObjectId"]]
    assert [s.name for s in objects.scopes] == ["SyncIsAllowed"]
    assert [a.assignee for a in objects.assignments] == [PRINCIPAL["ObjectId"]]
    assert objects.recipients == []


def test_not_found_is_no_error_but_anything_else_is() -> None:
    missing = CmdletFailure("Get-DistributionGroup", "couldn't be found", "ManagementObjectNotFoundException")
    assert exchange.read(session(FakeSession([], [missing])), [exchange.group_query("G")]).groups == []
    denied = CmdletFailure("Get-DistributionGroup", "Access is denied", "AccessDenied")
    with pytest.raises(CmdletError):
        exchange.read(session(FakeSession([], [denied])), [exchange.group_query("G")])


def test_mailboxes_found_by_any_of_their_addresses() -> None:
    missing = CmdletFailure("Get-Mailbox", "couldn't be found", "x", target="nobody@contoso.com")
    fake = FakeSession([MAILBOX], [missing])
    found, not_found = exchange.find_mailboxes(session(fake), ["diego@contoso.com", "nobody@contoso.com"])
    assert found["diego@contoso.com"].primary_smtp == "DiegoS@contoso.com"
    assert not_found == {"nobody@contoso.com": "couldn't be found"}


def _powershell_property_reads(tree: ast.AST) -> list[str]:
    """`x["PascalCase"]` and `x.get("PascalCase")`: reading a PowerShell property (or parameter) by name."""
    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            key = node.args[0].value
        if isinstance(key, str) and key[:1].isupper() and key.isidentifier():
            found.append(f"{getattr(node, 'lineno', '?')}: {key}")
    return found


@pytest.mark.parametrize(
    "path",
    sorted((SERVICES / "policy").glob("*.py"))
    + sorted((SERVICES / "diagnose").glob("*.py"))
    + [SERVICES / "rooms" / "check.py"],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_services_never_index_powershell_property_names(path: Path) -> None:
    assert _powershell_property_reads(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    ("details", "mailbox"),
    [
        ("UserMailbox", True),
        ("SharedMailbox", True),
        ("RoomMailbox", True),
        ("EquipmentMailbox", True),
        # On-premises mailboxes of a hybrid organisation: Exchange Online holds no mailbox for them (fix21j).
        ("RemoteUserMailbox", False),
        ("RemoteRoomMailbox", False),
        ("RemoteSharedMailbox", False),
        ("DiscoveryMailbox", False),
        ("MailUser", False),
        ("MailUniversalSecurityGroup", False),
    ],
)
def test_only_exchange_online_mailboxes_are_mailboxes(details: str, mailbox: bool) -> None:
    """What a policy group's scope counts (`policy restrict`'s empty-group guard): a group holding only remote
    mailboxes gives a RestrictAccess app nothing to open."""
    assert Recipient.from_row({**MAILBOX, "RecipientTypeDetails": details}).is_mailbox is mailbox
