"""review21o: `policy restrict` half-done by a transient Exchange error between its changes (faults at every write).

1. The group is created empty (New-DistributionGroup without -Members) and the members are added one by one. When
   one Add-DistributionGroupMember fails transiently, the run still creates the RestrictAccess policy over the
   group without that member: the sync app, unrestricted before the run, is now denied that mailbox (the harm of
   issue 21.1, caused by Exchange's "please try again" rather than a typo). The runbook (`--print-script`) makes the
   group with -Members; the live run does not. Deliver 1: a RestrictAccess policy is never created over a group
   that lacks a member it was asked for.
2. When New-ApplicationAccessPolicy fails after the group was made and filled, the error is the raw cmdlet line
   with `"remedy": null`: it does not say that this run created group SyncIsAllowed (with its members), nor how to
   finish or undo — unlike the interrupted run, which lists what was done and names the undo (Deliver 7: nothing
   half-written without a remedy; Deliver 6).
3. The same for `policy remove --with-group` when Remove-DistributionGroup fails after the policy was removed, and
   for `--engine rbac` when New-ManagementRoleAssignment fails after group, service principal and scope were made."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def _state(lab: Any) -> dict[str, Any]:
    return dict(lab.admin("GET", "state").json())


def test_a_member_that_could_not_be_added_is_not_locked_out_by_the_new_policy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    diego, megan = addr("DiegoS"), addr("MeganB")
    # One transient error, on the first member's Add-DistributionGroupMember (Diego's); Megan's goes through.
    fresh_lab.fault(protocol="cmdlet", operation="Add-DistributionGroupMember", kind="cmdlet_error")
    run = invoke("policy", "restrict", "--member", diego, "--member", megan, "--yes", env=env)
    assert run.code == 1, run.out + run.err  # the failed addition is reported
    assert f"{diego}: failed" in run.out, run.out
    tested = json.loads(invoke("--json", "policy", "test", diego, env=env).out)["tests"]
    assert [(t["mailbox"], t["access_check_result"]) for t in tested] == [(diego, "Granted")], (
        tested,
        _state(fresh_lab)["application_access_policies"],
    )


def test_a_failed_policy_creation_names_the_group_this_run_made_and_a_remedy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    fresh_lab.fault(protocol="cmdlet", operation="New-ApplicationAccessPolicy", kind="cmdlet_error")
    run = invoke("--json", "policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env)
    assert run.code == 1, run.out + run.err
    state = _state(fresh_lab)
    assert [g["name"] for g in state["groups"]] == ["SyncIsAllowed"]
    assert state["application_access_policies"] == []
    document = json.loads(run.out)
    assert document["ok"] is False, document
    assert document["error"]["remedy"], document  # how to finish (run again) or undo (--with-group)
    assert "SyncIsAllowed" in document["error"]["message"] + document["error"]["remedy"], document


def test_remove_with_group_failing_after_the_policy_went_says_so_and_how_to_finish(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """The policy is removed (the app now reaches every mailbox) and the group stays; the run says neither, nor the
    way back it prints on success ("to restore it: ..."), nor that running it again finishes the removal."""
    made = invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env)
    assert made.code == 0, made.out + made.err
    fresh_lab.fault(protocol="cmdlet", operation="Remove-DistributionGroup", kind="cmdlet_error")
    run = invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    assert run.code == 1, run.out + run.err
    state = _state(fresh_lab)
    assert [g["name"] for g in state["groups"]] == ["SyncIsAllowed"]
    assert state["application_access_policies"] == []
    document = json.loads(run.out)
    assert document["ok"] is False, document
    assert document["error"]["remedy"], document
    assert "SyncIsAllowed" in document["error"]["message"] + document["error"]["remedy"], document


def test_rbac_restrict_failing_at_the_role_assignment_names_what_it_made_and_a_remedy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """`--engine rbac`: the group, the service principal and the management scope are made, the role assignment
    fails; the run prints the raw cmdlet line (remedy null) and none of the three objects it left behind."""
    fresh_lab.fault(protocol="cmdlet", operation="New-ManagementRoleAssignment", kind="cmdlet_error")
    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    run = invoke(
        "--json", "policy", "restrict", "--engine", "rbac", *sp, "--member", addr("DiegoS"), "--yes", env=env
    )
    assert run.code == 1, run.out + run.err
    state = _state(fresh_lab)
    assert [g["name"] for g in state["groups"]] == ["SyncIsAllowed"]
    rbac = state["rbac"]
    assert (len(rbac["management_scopes"]), len(rbac["role_assignments"])) == (1, 0), rbac
    document = json.loads(run.out)
    assert document["ok"] is False, document
    assert document["error"]["remedy"], document
    assert "SyncIsAllowed" in document["error"]["message"] + document["error"]["remedy"], document
