"""fix21o: `policy restrict` with a member Exchange could not add (a transient error) makes no new RestrictAccess
policy (engine aap) and no management scope or role assignment (engine rbac): over a group without that member they
would keep the app out of its mailbox (rbac: once the tenant-wide grant goes). Running it again finishes the job."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_no_scope_or_role_assignment_over_a_group_that_lacks_a_member_then_a_second_run_finishes(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    diego, megan = addr("DiegoS"), addr("MeganB")
    fresh_lab.fault(protocol="cmdlet", operation="Add-DistributionGroupMember", kind="cmdlet_error")
    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    args = ["policy", "restrict", "--engine", "rbac", *sp, "--member", diego, "--member", megan, "--yes"]
    run = invoke("--json", *args, env=env)
    assert run.code == 1, run.out + run.err
    rbac = fresh_lab.admin("GET", "state").json()["rbac"]
    assert (len(rbac["management_scopes"]), len(rbac["role_assignments"])) == (0, 0), rbac
    outcomes = {(s["step"], s["target"]): s["outcome"] for s in json.loads(run.out)["steps"]}
    assert outcomes[("member", diego)] == "failed" and outcomes[("member", megan)] == "added", outcomes
    again = invoke("--json", *args, env=env)
    assert again.code == 0, again.out + again.err
    rbac = fresh_lab.admin("GET", "state").json()["rbac"]
    assert (len(rbac["management_scopes"]), len(rbac["role_assignments"])) == (1, 1), rbac


def test_a_policy_held_back_for_a_member_is_made_by_the_next_run(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """The application access policy engine: the run says the policy was not made and why; the next run adds the
    member and makes the policy (the remedy it printed works)."""
    diego, megan = addr("DiegoS"), addr("MeganB")
    fresh_lab.fault(protocol="cmdlet", operation="Add-DistributionGroupMember", kind="cmdlet_error")
    args = ["policy", "restrict", "--member", diego, "--member", megan, "--yes"]
    run = invoke(*args, env=env)
    assert run.code == 1, run.out + run.err
    assert "not made" in run.out and "run the command again" in run.out, run.out
    assert fresh_lab.admin("GET", "state").json()["application_access_policies"] == []
    again = invoke("--json", *args, env=env)
    assert again.code == 0, again.out + again.err
    policies = fresh_lab.admin("GET", "state").json()["application_access_policies"]
    assert [p["access_right"] for p in policies] == ["RestrictAccess"], policies


def test_the_undo_named_by_a_run_stopped_before_its_policy_removes_the_group_it_made(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """New-ApplicationAccessPolicy fails after the group was made: the remedy's undo (`policy remove --with-group`)
    removes that group, although no policy was ever made over it."""
    fresh_lab.fault(protocol="cmdlet", operation="New-ApplicationAccessPolicy", kind="cmdlet_error")
    run = invoke("--json", "policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env)
    assert run.code == 1, run.out + run.err
    remedy = json.loads(run.out)["error"]["remedy"]
    undo = "roomsops policy remove --group SyncIsAllowed"
    assert undo in remedy and "--with-group" in remedy, remedy
    removed = invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    assert removed.code == 0, removed.out + removed.err
    assert fresh_lab.admin("GET", "state").json()["groups"] == []
