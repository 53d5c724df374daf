"""review21c: the undo commands of issue 21.10 (`policy remove --with-group`, `policy remove --engine rbac`) on a
tenant another administrator also worked on: hand-written management scopes, nested groups, other roles."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration


def _exchange(fresh_lab: Any, env: dict[str, str]) -> Any:
    from roomsops.adapters.exo.connect import open_exchange
    from roomsops.core.settings import load_settings

    settings = load_settings(str(fresh_lab.settings_path), environ={})
    return open_exchange(settings, env)


def test_with_group_keeps_a_group_a_hand_written_scope_filters_on(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """review21b's fix (7ff9f79) keeps the group when a management scope filters on it, but it recognises the
    filter only as the very text roomsops writes (`MemberOfGroup -eq '<DN>'`, substring match). A scope an
    administrator wrote by hand with double quotes — `MemberOfGroup -eq "CN=SyncIsAllowed,..."`, which Exchange
    (and the lab) accept and evaluate the same — is not seen: the group is removed, the scope then matches no
    mailbox and the sync app loses every mailbox (Test-ServicePrincipalAuthorization: not in scope)."""
    diego = addr("DiegoS")
    ok(invoke("policy", "restrict", "--member", diego, env=env))
    rooms = fresh_lab.app("rooms")
    with _exchange(fresh_lab, env) as session:
        dn = session.run("Get-DistributionGroup", {"Identity": "SyncIsAllowed"})[0]["DistinguishedName"]
        session.run(
            "New-ServicePrincipal",
            {"AppId": rooms["app_id"], "ObjectId": rooms["object_id"], "DisplayName": "ROOMS"},
        )
        session.run(
            "New-ManagementScope",
            {"Name": "Hand scope", "RecipientRestrictionFilter": f'MemberOfGroup -eq "{dn}"'},
        )
        session.run(
            "New-ManagementRoleAssignment",
            {
                "App": rooms["object_id"],
                "Role": "Application EWS.AccessAsApp",
                "CustomResourceScope": "Hand scope",
            },
        )
    fresh_lab.reset_requests()
    run = invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    assert run.code == 0, run.out + run.err
    assert "cmdlet:Remove-DistributionGroup" not in changes(fresh_lab), run.out
    doc = json.loads(run.out)
    assert doc["removed_group"] is None and "Hand scope" in (doc["kept_group"] or ""), doc


def test_the_restore_command_after_with_group_works_for_a_nested_group(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """An application access policy's group may hold groups ("users or groups, including nested groups",
    New-ApplicationAccessPolicy): here SyncIsAllowed = {DiegoS, the security group "Rooms Staff"}. `policy remove
    --with-group` prints "to restore it: roomsops policy restrict --group SyncIsAllowed --member DiegoS@...
    --member RoomsStaff@..." (and records it in the audit log as the way back), but that command is refused,
    exit 2 "no mailbox has the address of ... member RoomsStaff@...": the undo line points at a command that does
    not work for this situation (issue 21.6, 21.10)."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    with _exchange(fresh_lab, env) as session:
        session.run(
            "New-DistributionGroup",
            {"Name": "Rooms Staff", "Type": "Security", "Members": ["AdeleV", "AlexW"]},
        )
        session.run(
            "Add-DistributionGroupMember",
            {"Identity": "SyncIsAllowed", "Member": "Rooms Staff", "BypassSecurityGroupManagerCheck": True},
        )
    removed = ok(invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env))
    restore = next(line for line in removed.out.splitlines() if line.startswith("to restore it: "))
    argv = restore.removeprefix("to restore it: ").split()
    assert argv[0] == "roomsops", restore
    again = invoke(*argv[1:], env=env)
    assert again.code == 0, restore + "\n" + again.out + again.err


def test_rbac_remove_keeps_a_scope_another_role_assignment_uses(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """`policy remove --engine rbac` removes "the scope when nothing else uses it" (README), but it reads only the
    role assignments of Application EWS.AccessAsApp. With the app also holding a Microsoft Graph role over the
    same scope (Application Calendars.ReadWrite: e.g. on the way to Graph) it removed the EWS assignment, then
    Remove-ManagementScope failed (ScopeInUseException): exit 1 with Exchange's raw line, remedy null, and no word
    that the role assignment was already removed (a half-done change not reported). The scope is in use: it
    stays (said), the EWS assignment goes, exit 0."""
    sp = fresh_lab.app("rooms")["object_id"]
    ok(
        invoke(
            "policy",
            "restrict",
            "--engine",
            "rbac",
            "--sp-object-id",
            sp,
            "--member",
            addr("DiegoS"),
            env=env,
        )
    )
    with _exchange(fresh_lab, env) as session:
        session.run(
            "New-ManagementRoleAssignment",
            {"App": sp, "Role": "Application Calendars.ReadWrite", "CustomResourceScope": "SyncIsAllowed"},
        )
    run = invoke(
        "--json", "policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed", "--yes", env=env
    )
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    assert doc["removed_scope"] is None and len(doc["removed_assignments"]) == 1, doc


def test_the_restore_command_of_a_deny_policy_makes_a_deny_policy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """`policy restrict --group Blocked --member MeganB --access-right DenyAccess` keeps the sync app out of one
    mailbox. `policy remove --group Blocked --with-group` prints (and audits) "to restore it: roomsops policy
    restrict --group Blocked --member MeganB@..." — without the access right, so the command it gives back
    creates a RestrictAccess policy: the app may then open MeganB's mailbox *only*, and every other mailbox of the
    organisation is denied (the lock-out of issue 21.1, by the undo line). The way back must make what was
    removed."""
    megan, adele = addr("MeganB"), addr("AdeleV")
    ok(
        invoke(
            "policy",
            "restrict",
            "--group",
            "Blocked",
            "--member",
            megan,
            "--access-right",
            "DenyAccess",
            env=env,
        )
    )
    removed = ok(invoke("policy", "remove", "--group", "Blocked", "--with-group", "--yes", env=env))
    restore = next(line for line in removed.out.splitlines() if line.startswith("to restore it: "))
    argv = restore.removeprefix("to restore it: ").split()
    ok(invoke(*argv[1:], env=env))
    tests = json.loads(ok(invoke("--json", "policy", "test", adele, megan, env=env)).out)["tests"]
    results = {t["mailbox"].casefold(): t["access_check_result"] for t in tests}
    assert results == {adele.casefold(): "Granted", megan.casefold(): "Denied"}, (restore, results)


def test_the_restore_command_names_the_app_whose_policy_was_removed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """`policy remove --app-id <another app> --group G --with-group` removes that app's policy and the group; the
    restore line has no --app-id, so it would make the policy for ExchangeAppId (the sync app) instead: the sync
    app becomes restricted to G's members and the other app stays unrestricted."""
    other = "11111111-2222-4333-8444-555555555555"
    ok(
        invoke(
            "policy",
            "restrict",
            "--app-id",
            other,
            "--group",
            "OtherApp",
            "--member",
            addr("DiegoS"),
            env=env,
        )
    )
    removed = ok(
        invoke("policy", "remove", "--app-id", other, "--group", "OtherApp", "--with-group", "--yes", env=env)
    )
    restore = next(line for line in removed.out.splitlines() if line.startswith("to restore it: "))
    assert other in restore, restore


def test_with_group_after_the_policy_was_removed_still_removes_the_group(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """README: "without --with-group the group stays". An administrator who removed the policy first and now
    wants the group gone runs `policy remove --group SyncIsAllowed --with-group`: exit 1, "removed": [],
    "removed_group": null, "kept_group": null — the group stays without a reason, and roomsops has no other way
    to remove it (README's undo table and uninstall section point only here)."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    ok(invoke("policy", "remove", "--group", "SyncIsAllowed", "--yes", env=env))
    run = invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    doc = json.loads(run.out)
    assert doc["removed_group"] == "SyncIsAllowed" or doc["kept_group"], doc
