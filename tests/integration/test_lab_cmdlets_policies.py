"""Application access policies through the real pypsrp, and the one evaluation EWS's authorize() shares with
Test-ApplicationAccessPolicy (EWS sees a change only after the lab's policy delay)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pypsrp.powershell import RunspacePool

from roomsops.lab.authz import authorize
from roomsops.lab.tenant import Tenant

from .conftest import LabHelper, address
from .test_lab_winrm import Result, exchange, invoke, run

pytestmark = pytest.mark.integration


@pytest.fixture
def exo(fresh_lab: LabHelper) -> Iterator[RunspacePool]:
    """A connected runspace with a security group SyncIsAllowed = {DiegoS, AdeleV}."""
    with exchange(fresh_lab) as pool:
        created = run(
            pool, "New-DistributionGroup", Name="SyncIsAllowed", Type="Security", Members=["DiegoS", "AdeleV"]
        )
        assert not created.errors
        yield pool


def new_policy(
    pool: RunspacePool, app_id: str, scope: str, right: str = "RestrictAccess", **extra: Any
) -> Result:
    return run(
        pool,
        "New-ApplicationAccessPolicy",
        AppId=[app_id],
        PolicyScopeGroupId=scope,
        AccessRight=right,
        **extra,
    )


def access_results(pool: RunspacePool, app_id: str, *identities: str) -> list[str]:
    result = invoke(
        pool, *(("Test-ApplicationAccessPolicy", {"Identity": i, "AppId": app_id}) for i in identities)
    )
    assert not result.errors, result.errors
    return [o["AccessCheckResult"] for o in result.output]


def test_new_policy_has_the_documented_shape(fresh_lab: LabHelper, exo: RunspacePool) -> None:
    rooms = fresh_lab.app("rooms")["app_id"]
    group = run(exo, "Get-DistributionGroup", Identity="SyncIsAllowed").output[0]
    created = new_policy(
        exo, rooms, "SyncIsAllowed", Description="Restrict this app to members of SyncIsAllowed."
    )
    listed = run(exo, "Get-ApplicationAccessPolicy")
    policy = created.output[0]
    recipient = run(exo, "Get-Recipient", Identity="SyncIsAllowed").output[0]
    assert set(policy) == {
        "ScopeName", "ScopeIdentity", "Identity", "AppId", "ScopeIdentityRaw", "Description", "AccessRight",
        "ShardType", "IsValid", "ObjectState",
    }  # fmt: skip
    assert "PolicyScopeGroupId" not in policy
    assert policy["ScopeIdentityRaw"].endswith(f";{group['ExternalDirectoryObjectId']}")
    assert policy["ScopeIdentityRaw"].startswith("S-1-5-21-")
    assert policy["Identity"] == f"{fresh_lab.tenant_id}\\{rooms}:{policy['ScopeIdentityRaw']}"
    assert policy["AppId"] == rooms and policy["AccessRight"] == "RestrictAccess"
    assert (policy["ShardType"], policy["IsValid"], policy["ObjectState"]) == ("All", True, "Unchanged")
    assert listed.output == [policy]
    assert recipient["ExternalDirectoryObjectId"] == group["ExternalDirectoryObjectId"]


def test_restrict_access_grants_members_only(fresh_lab: LabHelper, exo: RunspacePool) -> None:
    rooms = fresh_lab.app("rooms")["app_id"]
    assert access_results(exo, rooms, "DiegoS", "MeganB") == ["Granted", "Granted"]  # no policy: granted
    new_policy(exo, rooms, "SyncIsAllowed")
    result = invoke(
        exo,
        ("Test-ApplicationAccessPolicy", {"Identity": address(fresh_lab, "DiegoS"), "AppId": rooms}),
        ("Test-ApplicationAccessPolicy", {"Identity": "MeganB", "AppId": rooms}),
        ("Test-ApplicationAccessPolicy", {"Identity": "nobody", "AppId": rooms}),
    )
    assert [o["AccessCheckResult"] for o in result.output] == ["Granted", "Denied"]
    first = result.output[0]
    assert set(first) == {"AppId", "Mailbox", "MailboxId", "MailboxSid", "AccessCheckResult"}
    assert (
        first["AppId"] == rooms and first["Mailbox"] == "DiegoS" and isinstance(first["MailboxId"], uuid.UUID)
    )
    assert result.errors[0].reason == "ManagementObjectNotFoundException" and not result.had_errors
    # Another app is untouched by this app's policy.
    assert access_results(exo, str(uuid.uuid4()), "MeganB") == ["Granted"]


def test_deny_beats_restrict_restricts_unite_and_nested_groups_count(
    fresh_lab: LabHelper, exo: RunspacePool
) -> None:
    rooms = fresh_lab.app("rooms")["app_id"]
    run(exo, "New-DistributionGroup", Name="Blocked", Type="Security", Members=["AdeleV"])
    run(exo, "New-DistributionGroup", Name="More", Type="Security", Members=["AlexW"])
    run(exo, "New-DistributionGroup", Name="Outer", Type="Security", Members=["More"])
    new_policy(exo, rooms, "SyncIsAllowed")
    new_policy(exo, rooms, "Blocked", "DenyAccess")
    assert access_results(exo, rooms, "DiegoS", "AdeleV", "AlexW") == ["Granted", "Denied", "Denied"]
    # AlexW only through the nested group More: "including nested groups" (New-ApplicationAccessPolicy.md).
    new_policy(exo, rooms, "Outer")
    assert access_results(exo, rooms, "AlexW", "LeeG") == ["Granted", "Denied"]
    run(exo, "New-DistributionGroup", Name="Deep", Type="Security", Members=["LeeG"])
    run(
        exo,
        "Add-DistributionGroupMember",
        Identity="More",
        Member="Deep",
        BypassSecurityGroupManagerCheck=True,
    )
    assert access_results(exo, rooms, "LeeG") == ["Granted"]  # two levels down


@pytest.mark.parametrize("form", ["name", "alias", "smtp", "dn", "object_id", "guid"])
def test_the_scope_group_is_found_by_any_of_its_identities(
    fresh_lab: LabHelper, exo: RunspacePool, form: str
) -> None:
    group = run(exo, "Get-DistributionGroup", Identity="SyncIsAllowed").output[0]
    value = {
        "name": group["Name"],
        "alias": group["Alias"].lower(),
        "smtp": group["PrimarySmtpAddress"].upper(),
        "dn": group["DistinguishedName"],
        "object_id": group["ExternalDirectoryObjectId"],
        "guid": str(group["Guid"]),
    }[form]
    created = new_policy(exo, fresh_lab.app("rooms")["app_id"], value)
    assert not created.errors and created.output[0]["ScopeIdentity"] == "SyncIsAllowed"


def test_the_scope_must_be_a_security_principal(fresh_lab: LabHelper, exo: RunspacePool) -> None:
    rooms = fresh_lab.app("rooms")["app_id"]
    run(exo, "New-DistributionGroup", Name="Newsletter")
    distribution = new_policy(exo, rooms, "Newsletter")
    room = new_policy(exo, rooms, address(fresh_lab, "room-zurich"))
    unknown = new_policy(exo, rooms, "NoSuchGroup")
    user = new_policy(exo, rooms, "MeganB")
    bad_right = new_policy(exo, rooms, "SyncIsAllowed", "AllowAccess")
    missing = run(exo, "New-ApplicationAccessPolicy", AppId=[rooms], AccessRight="RestrictAccess")
    assert "MailUniversalDistributionGroup" in distribution.message()
    assert "RoomMailbox" in room.message()
    assert 'Couldn\'t find object "NoSuchGroup"' in unknown.message()
    assert not user.errors and access_results(exo, rooms, "MeganB", "DiegoS") == ["Granted", "Denied"]
    assert bad_right.error_ids == ["CannotConvertArgumentNoMessage,New-ApplicationAccessPolicy"]
    assert missing.error_ids == ["MissingMandatoryParameter,New-ApplicationAccessPolicy"]
    assert run(exo, "Get-ApplicationAccessPolicy").output[0]["ScopeIdentity"] == "MeganB"


def test_get_set_and_remove(fresh_lab: LabHelper, exo: RunspacePool) -> None:
    rooms = fresh_lab.app("rooms")["app_id"]
    identity = new_policy(exo, rooms, "SyncIsAllowed", Description="first").output[0]["Identity"]
    duplicate = new_policy(exo, rooms, "SyncIsAllowed", "DenyAccess")
    by_identity = run(exo, "Get-ApplicationAccessPolicy", Identity=identity.upper())
    unknown = run(exo, "Get-ApplicationAccessPolicy", Identity="nope")
    changed = run(exo, "Set-ApplicationAccessPolicy", Identity=identity, Description="second")
    access_right = run(
        exo, "Set-ApplicationAccessPolicy", Identity=identity, Description="x", AccessRight="DenyAccess"
    )
    after_set = run(exo, "Get-ApplicationAccessPolicy", Identity=identity).output[0]
    unconfirmed = run(exo, "Remove-ApplicationAccessPolicy", Identity=identity)
    removed = run(exo, "Remove-ApplicationAccessPolicy", Identity=identity, Confirm=False)
    gone = run(exo, "Remove-ApplicationAccessPolicy", Identity=identity, Confirm=False)
    assert "ADObjectAlreadyExistsException" in duplicate.message()
    assert by_identity.output[0]["Description"] == "first"
    assert unknown.errors[0].reason == "ManagementObjectNotFoundException"
    assert not changed.errors and changed.objects == []
    assert access_right.error_ids == [
        "NamedParameterNotFound,Set-ApplicationAccessPolicy"
    ]  # Description only
    assert (after_set["Description"], after_set["AccessRight"]) == ("second", "RestrictAccess")
    assert unconfirmed.error_ids == ["HostFunctionNotImplemented,Remove-ApplicationAccessPolicy"]
    assert not removed.errors
    assert gone.errors[0].reason == "ManagementObjectNotFoundException"
    assert run(exo, "Get-ApplicationAccessPolicy").objects == []
    assert access_results(exo, rooms, "MeganB") == ["Granted"]


def test_the_policies_share_a_size_limit(fresh_lab: LabHelper, exo: RunspacePool) -> None:
    # About 100 policies with descriptions, about 300 with a one-space description (New-ApplicationAccessPolicy.md):
    # 1000-character descriptions exhaust the lab's budget after 27 policies.
    statements = [
        (
            "New-ApplicationAccessPolicy",
            {"AppId": [str(uuid.uuid4())], "PolicyScopeGroupId": "SyncIsAllowed", "AccessRight": "DenyAccess",
             "Description": "x" * 1000},
        )
        for _ in range(30)
    ]  # fmt: skip
    result = invoke(exo, *statements)
    assert len(result.output) == 27
    assert [e.reason for e in result.errors] == ["ApplicationAccessPolicySizeLimitExceededException"] * 3
    assert result.message().endswith("|The total size of App Access Policies exceeded the limit.")
    short = new_policy(exo, str(uuid.uuid4()), "SyncIsAllowed", Description=" ")
    assert not short.errors  # a one-space description still fits


def policy_times(tenant: Tenant, identity: str, *keys: str) -> tuple[float, ...]:
    """Moments the lab recorded on an application access policy (e.g. created_at, effective_at)."""
    with tenant.read() as state:
        (policy,) = [p for p in state.application_access_policies if p["identity"] == identity]
        return tuple(float(policy[key]) for key in keys)


def test_ews_sees_a_policy_change_only_after_the_policy_delay(
    fresh_lab: LabHelper, exo: RunspacePool
) -> None:
    tenant, rooms = fresh_lab.lab.tenant, fresh_lab.app("rooms")["app_id"]
    megan = address(fresh_lab, "MeganB")
    fresh_lab.settings(policy_delay=0.5)
    try:
        identity = new_policy(exo, rooms, "SyncIsAllowed").output[0]["Identity"]
        # The moments come from the lab's own record (made + policy delay), not from this test's clock:
        # a loaded machine may take longer than the delay between two lines here.
        made, effective = policy_times(tenant, identity, "created_at", "effective_at")
        assert effective == pytest.approx(made + 0.5)
        assert access_results(exo, rooms, "MeganB") == ["Denied"]  # the test cmdlet sees it at once ...
        assert authorize(tenant, rooms, megan, now=made).reason == "ok"  # ... EWS not yet
        later = authorize(tenant, rooms, megan, now=made + 0.6)
        assert (later.reason, later.allowed) == ("denied_by_policy", False)
        assert authorize(tenant, rooms, address(fresh_lab, "DiegoS"), now=made + 0.6).reason == "ok"
        time.sleep(max(0.0, effective - time.time()) + 0.05)
        assert authorize(tenant, rooms, megan).reason == "denied_by_policy"  # the default `now` is the clock
        run(exo, "Remove-ApplicationAccessPolicy", Identity=identity, Confirm=False)
        removed, _ = policy_times(tenant, identity, "removed_at", "removal_effective_at")
        assert access_results(exo, rooms, "MeganB") == ["Granted"]
        assert authorize(tenant, rooms, megan, now=removed).reason == "denied_by_policy"  # still applied
        assert authorize(tenant, rooms, megan, now=removed + 0.6).reason == "ok"
    finally:
        fresh_lab.settings(policy_delay=0)
