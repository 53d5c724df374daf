"""RBAC for Applications in the lab through the real pypsrp: service principals, management scopes, role
assignments, Test-ServicePrincipalAuthorization, and the one scope evaluation EWS's authorize() shares with it
(EWS sees a role assignment only after the lab's policy delay; Entra consent and RBAC add up)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pypsrp.powershell import RunspacePool

from roomsops.lab.authz import authorize

from .conftest import LabHelper, address
from .test_lab_winrm import Result, exchange, invoke, run

pytestmark = pytest.mark.integration

EWS_ROLE = "Application EWS.AccessAsApp"


@pytest.fixture
def exo(fresh_lab: LabHelper) -> Iterator[RunspacePool]:
    """A connected runspace with a security group SyncIsAllowed = {DiegoS, AdeleV}."""
    with exchange(fresh_lab) as pool:
        created = run(
            pool, "New-DistributionGroup", Name="SyncIsAllowed", Type="Security", Members=["DiegoS", "AdeleV"]
        )
        assert not created.errors
        yield pool


def group_dn(pool: RunspacePool, name: str = "SyncIsAllowed") -> str:
    return str(run(pool, "Get-DistributionGroup", Identity=name).output[0]["DistinguishedName"])


def setup_rbac(lab: LabHelper, pool: RunspacePool, filter_text: str, role: str = EWS_ROLE) -> dict[str, Any]:
    rooms = lab.app("rooms")
    sp = run(
        pool, "New-ServicePrincipal", AppId=rooms["app_id"], ObjectId=rooms["object_id"], DisplayName="ROOMS"
    )
    scope = run(pool, "New-ManagementScope", Name="Sync scope", RecipientRestrictionFilter=filter_text)
    assignment = run(
        pool,
        "New-ManagementRoleAssignment",
        App=rooms["object_id"],
        Role=role,
        CustomResourceScope="Sync scope",
    )
    assert not (sp.errors or scope.errors or assignment.errors), (sp.errors, scope.errors, assignment.errors)
    return {"sp": sp.output[0], "scope": scope.output[0], "assignment": assignment.output[0]}


def in_scope(pool: RunspacePool, sp: str, *mailboxes: str) -> list[Any]:
    result = invoke(
        pool, *(("Test-ServicePrincipalAuthorization", {"Identity": sp, "Resource": m}) for m in mailboxes)
    )
    assert not result.errors, result.errors
    return [row["InScope"] for row in result.output]


def test_objects_have_the_documented_shape(fresh_lab: LabHelper, exo: RunspacePool) -> None:
    rooms = fresh_lab.app("rooms")
    made = setup_rbac(fresh_lab, exo, f"MemberOfGroup -eq '{group_dn(exo)}'")
    sp, scope, assignment = made["sp"], made["scope"], made["assignment"]
    assert (sp["AppId"], sp["ObjectId"], sp["DisplayName"], sp["Identity"]) == (
        rooms["app_id"],
        rooms["object_id"],
        "ROOMS",
        rooms["object_id"],
    )
    by_app = run(exo, "Get-ServicePrincipal", Identity=rooms["app_id"]).output
    assert by_app == run(exo, "Get-ServicePrincipal", Identity=rooms["object_id"]).output == [sp]
    assert (scope["Name"], scope["ScopeRestrictionType"], scope["Exclusive"]) == (
        "Sync scope",
        "RecipientScope",
        False,
    )
    assert scope["RecipientFilter"] == f"MemberOfGroup -eq '{group_dn(exo)}'"
    assert assignment["Name"] == f"{EWS_ROLE}-{rooms['object_id']}"[:64]
    assert (assignment["Role"], assignment["RoleAssignee"], assignment["CustomResourceScope"]) == (
        EWS_ROLE,
        rooms["object_id"],
        "Sync scope",
    )
    assert (assignment["RecipientWriteScope"], assignment["RoleAssigneeType"]) == (
        "CustomRecipientScope",
        "ServicePrincipal",
    )
    listed = run(exo, "Get-ManagementRoleAssignment", RoleAssignee=rooms["object_id"]).output
    assert listed == [assignment]
    assert run(exo, "Get-ManagementRoleAssignment", Role="application ews.accessasapp").output == [assignment]
    rows = run(exo, "Test-ServicePrincipalAuthorization", Identity=rooms["app_id"]).output
    assert rows == [
        {
            "RoleName": EWS_ROLE,
            "GrantedPermissions": "EWS.AccessAsApp",
            "AllowedResourceScope": "Sync scope",
            "ScopeType": "CustomRecipientScope",
            "InScope": "Not Run",
        }
    ]


def test_in_scope_follows_membership_and_negation(fresh_lab: LabHelper, exo: RunspacePool) -> None:
    rooms = fresh_lab.app("rooms")
    dn = group_dn(exo)
    setup_rbac(fresh_lab, exo, f"MemberOfGroup -eq '{dn}'")
    sp = rooms["object_id"]
    assert in_scope(exo, sp, "DiegoS", address(fresh_lab, "AdeleV"), "MeganB") == [True, True, False]
    run(
        exo,
        "Add-DistributionGroupMember",
        Identity="SyncIsAllowed",
        Member="MeganB",
        BypassSecurityGroupManagerCheck=True,
    )
    assert in_scope(exo, sp, "MeganB") == [True]  # membership is read at evaluation time
    for text in (
        f"-not (MemberOfGroup -eq '{dn}')",
        f"MemberOfGroup -ne '{dn}'",
        f"{{ -not(MemberOfGroup -eq '{dn}') }}",
    ):
        created = run(exo, "New-ManagementScope", Name=text[:30], RecipientRestrictionFilter=text)
        assert not created.errors, created.errors
        run(
            exo,
            "New-ManagementRoleAssignment",
            Name=f"n {text[:30]}",
            App=sp,
            Role="Application Calendars.ReadWrite",
            CustomResourceScope=text[:30],
        )
    organization = run(exo, "New-ManagementRoleAssignment", App=sp, Role="Application Calendars.Read")
    assert organization.output[0]["RecipientWriteScope"] == "Organization"
    rows = run(exo, "Test-ServicePrincipalAuthorization", Identity=sp, Resource="LeeG").output
    assert [(r["RoleName"], r["AllowedResourceScope"], r["InScope"]) for r in rows] == [
        (EWS_ROLE, "Sync scope", False),
        ("Application Calendars.ReadWrite", "-not (MemberOfGroup -eq 'CN=Sy", True),
        ("Application Calendars.ReadWrite", "MemberOfGroup -ne 'CN=SyncIsAl", True),
        ("Application Calendars.ReadWrite", "{ -not(MemberOfGroup -eq 'CN=S", True),
        ("Application Calendars.Read", "Organization", True),
    ]
    member = run(exo, "Test-ServicePrincipalAuthorization", Identity=sp, Resource="DiegoS").output
    assert [r["InScope"] for r in member] == [True, False, False, False, True]


def test_refusals_name_the_problem(fresh_lab: LabHelper, exo: RunspacePool) -> None:
    rooms = fresh_lab.app("rooms")
    dn = group_dn(exo)
    setup_rbac(fresh_lab, exo, f"MemberOfGroup -eq '{dn}'")
    sp = rooms["object_id"]
    results: dict[str, Result] = {
        "second sp": run(exo, "New-ServicePrincipal", AppId=rooms["app_id"], ObjectId=rooms["object_id"]),
        "no object id": run(exo, "New-ServicePrincipal", AppId=rooms["app_id"]),
        "bad guid": run(exo, "New-ServicePrincipal", AppId="not-a-guid", ObjectId=rooms["object_id"]),
        "same scope": run(
            exo,
            "New-ManagementScope",
            Name="Sync scope",
            RecipientRestrictionFilter=f"MemberOfGroup -eq '{dn}'",
        ),
        "syntax": run(exo, "New-ManagementScope", Name="x", RecipientRestrictionFilter="MemberOfGroup -eq"),
        "group name": run(
            exo,
            "New-ManagementScope",
            Name="x",
            RecipientRestrictionFilter="MemberOfGroup -eq 'SyncIsAllowed'",
        ),
        "other property": run(
            exo, "New-ManagementScope", Name="x", RecipientRestrictionFilter="CustomAttribute1 -eq 'x'"
        ),
        "long name": run(
            exo, "New-ManagementScope", Name="n" * 65, RecipientRestrictionFilter=f"MemberOfGroup -eq '{dn}'"
        ),
        "same auto name": run(exo, "New-ManagementRoleAssignment", App=sp, Role=EWS_ROLE),
        "admin role": run(exo, "New-ManagementRoleAssignment", App=sp, Role="Mail Recipients"),
        "unknown app": run(
            exo, "New-ManagementRoleAssignment", App="00000000-0000-0000-0000-000000000001", Role=EWS_ROLE
        ),
        "to a user": run(exo, "New-ManagementRoleAssignment", App=sp, Role=EWS_ROLE, User="DiegoS"),
        "scope in use": run(exo, "Remove-ManagementScope", Identity="Sync scope", Confirm=False),
        "sp in use": run(exo, "Remove-ServicePrincipal", Identity=sp, Confirm=False),
        "unconfirmed": run(exo, "Remove-ManagementRoleAssignment", Identity=f"{EWS_ROLE}-{sp}"[:64]),
        "unknown sp": run(exo, "Test-ServicePrincipalAuthorization", Identity="nobody"),
        "unknown mailbox": run(exo, "Test-ServicePrincipalAuthorization", Identity=sp, Resource="nobody"),
        "both sets": run(exo, "Get-ManagementRoleAssignment", Identity="x", RoleAssignee=sp),
    }
    reasons = {k: (r.errors[0].reason if r.errors else None) for k, r in results.items()}
    assert reasons == {
        "second sp": "ADObjectAlreadyExistsException",
        "no object id": "ParameterBindingException",
        "bad guid": "DataValidationException",
        "same scope": "ADObjectAlreadyExistsException",
        "syntax": "InvalidFilterException",
        "group name": "InvalidFilterException",
        "other property": "NotSupportedException",
        "long name": "DataValidationException",
        "same auto name": "ADObjectAlreadyExistsException",
        "admin role": "ManagementObjectNotFoundException",
        "unknown app": "ManagementObjectNotFoundException",
        "to a user": "NotSupportedException",
        "scope in use": "ScopeInUseException",
        "sp in use": "ServicePrincipalInUseException",
        "unconfirmed": "HostException",
        "unknown sp": "ManagementObjectNotFoundException",
        "unknown mailbox": "ManagementObjectNotFoundException",
        "both sets": "ParameterBindingException",
    }
    assert results["no object id"].error_ids == ["MissingMandatoryParameter,New-ServicePrincipal"]
    assert "distinguished name" in results["group name"].message()
    assert (
        results["long name"]
        .message()
        .endswith("The maximum length is 64 and the length of the value provided is 65.")
    )
    # Removing in order works: the assignment, then the scope and the service principal.
    name = f"{EWS_ROLE}-{sp}"[:64]
    assert not run(exo, "Remove-ManagementRoleAssignment", Identity=name, Confirm=False).errors
    assert not run(exo, "Remove-ManagementScope", Identity="Sync scope", Confirm=False).errors
    assert not run(exo, "Remove-ServicePrincipal", Identity=sp, Confirm=False).errors
    assert run(exo, "Get-ServicePrincipal").objects == []


def test_ews_sees_rbac_after_the_delay_and_entra_consent_adds_up(
    fresh_lab: LabHelper, exo: RunspacePool
) -> None:
    tenant, rooms = fresh_lab.lab.tenant, fresh_lab.app("rooms")
    diego, megan = address(fresh_lab, "DiegoS"), address(fresh_lab, "MeganB")
    fresh_lab.settings(policy_delay=0.5)
    try:
        made = time.time()
        setup_rbac(fresh_lab, exo, f"MemberOfGroup -eq '{group_dn(exo)}'")
        assert in_scope(exo, rooms["object_id"], "DiegoS", "MeganB") == [
            True,
            False,
        ]  # the test cmdlet: at once
        no_roles: list[str] = []  # a token issued after the consent was revoked
        assert (
            authorize(tenant, rooms["app_id"], diego, token_roles=no_roles, now=made).reason
            == "no_permission"
        )
        later = time.time() + 0.6  # past every assignment made above
        assert authorize(tenant, rooms["app_id"], diego, token_roles=no_roles, now=later).reason == "ok"
        outside = authorize(tenant, rooms["app_id"], megan, token_roles=no_roles, now=later)
        assert (outside.allowed, outside.reason) == (False, "denied_by_rbac_scope")
        # The tenant-wide grant adds up: with it, RBAC's scope restricts nothing ...
        everything = authorize(tenant, rooms["app_id"], megan, token_roles=["full_access_as_app"], now=later)
        assert everything.allowed and "consented tenant-wide" in everything.detail
        # ... unless an application access policy restricts the Entra grant; RBAC still grants its own scope.
        run(
            exo,
            "New-ApplicationAccessPolicy",
            AppId=[rooms["app_id"]],
            PolicyScopeGroupId="SyncIsAllowed",
            AccessRight="DenyAccess",
        )
        time.sleep(0.55)
        both = [
            authorize(tenant, rooms["app_id"], a, token_roles=["full_access_as_app"]) for a in (diego, megan)
        ]
        assert [(d.allowed, d.reason) for d in both] == [(True, "ok"), (True, "ok")]
        assert "RBAC for Applications" in both[0].detail
        # Removal lags the same way; the wrong object id (the app registration's) never matches the token.
        name = f"{EWS_ROLE}-{rooms['object_id']}"[:64]
        run(exo, "Remove-ManagementRoleAssignment", Identity=name, Confirm=False)
        # The lab's moment of the removal, not this test's clock (a loaded machine lags).
        with tenant.read() as state:
            (removed,) = [float(a["removed_at"]) for a in state.rbac.role_assignments if a["removed_at"]]
        assert authorize(tenant, rooms["app_id"], diego, token_roles=no_roles, now=removed).reason == "ok"
        assert (
            authorize(tenant, rooms["app_id"], diego, token_roles=no_roles, now=removed + 0.6).reason
            == "no_permission"
        )
    finally:
        fresh_lab.settings(policy_delay=0)


def test_a_pointer_with_the_app_registrations_object_id_grants_nothing(
    fresh_lab: LabHelper, exo: RunspacePool
) -> None:
    tenant, rooms = fresh_lab.lab.tenant, fresh_lab.app("rooms")
    wrong = rooms["application_object_id"]
    run(exo, "New-ServicePrincipal", AppId=rooms["app_id"], ObjectId=wrong)
    run(exo, "New-ManagementRoleAssignment", App=wrong, Role=EWS_ROLE)
    assert in_scope(exo, wrong, "DiegoS") == [True]  # Exchange's own records look fine ...
    decision = authorize(tenant, rooms["app_id"], address(fresh_lab, "DiegoS"), token_roles=[])
    assert decision.reason == "no_permission"  # ... but the token's oid is the enterprise application's
