"""review21r: the undo of a half-done `policy restrict` on a group whose policy was there before the run.

fix21q's `_restrict_undo` always starts with "run 'roomsops policy remove --group G' for the policy" unless the run made
the group. When the policy existed before the run (the run only added members, or with `--exact` removed some), that
command removes the administrator's RestrictAccess policy: followed as written, the undo leaves the sync app able to
open every mailbox of the organisation — the opposite of the state before the run. With `--exact`, the members the run
removed are not named at all (no Add-DistributionGroupMember): they stay out of the group."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from tests.conftest import Invoke
from tests.integration.test_review21p_undo import gated_run

pytestmark = pytest.mark.integration


def _undo_commands(err: str) -> list[str]:
    """The roomsops commands the interrupted run names as its undo (quoted in its first line)."""
    undo = err.splitlines()[0].split("to undo,")[1]
    return re.findall(r"'roomsops ([^']*)'", undo)


def _state(lab: Any) -> tuple[list[tuple[str, str]], list[list[str]]]:
    state = lab.admin("GET", "state").json()
    policies = [(p["app_id"], p["access_right"]) for p in state["application_access_policies"]]
    members = [sorted(m["id"] for m in g["members"]) for g in state["groups"]]
    return policies, members


def test_the_undo_of_an_interrupted_member_addition_keeps_the_policy_that_was_there(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    made = invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env)
    assert made.code == 0, made.out + made.err
    before = _state(fresh_lab)
    args = ["policy", "restrict", "--member", addr("DiegoS"), "--member", addr("MeganB"), "--yes"]
    # Held: Add-DistributionGroupMember (MeganB) ran; Ctrl-C.
    code, err = gated_run(fresh_lab, "Add-DistributionGroupMember", args, env)
    assert code == 130, err
    for command in _undo_commands(err):
        undo = invoke(*shlex.split(command), "--yes", env=env)
        assert undo.code == 0, (command, undo.out + undo.err)
    policies, _ = _state(fresh_lab)
    assert policies == before[0], err  # the RestrictAccess policy of before the run is still there


def test_the_undo_of_an_interrupted_exact_run_names_the_members_it_removed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    made = invoke(
        "policy", "restrict", "--member", addr("DiegoS"), "--member", addr("MeganB"), "--yes", env=env
    )
    assert made.code == 0, made.out + made.err
    args = ["policy", "restrict", "--exact", "--force", "--member", addr("DiegoS"), "--yes"]
    # Held: Remove-DistributionGroupMember (MeganB) ran; Ctrl-C.
    code, err = gated_run(fresh_lab, "Remove-DistributionGroupMember", args, env)
    assert code == 130, err
    undo = err.splitlines()[0].split("to undo,")[1]
    assert addr("MeganB") in undo, err  # the way back names the member this run took out


def test_the_undo_of_an_interrupted_rbac_member_addition_keeps_the_scope_that_was_there(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    made = invoke("policy", "restrict", "--engine", "rbac", *sp, "--member", addr("DiegoS"), "--yes", env=env)
    assert made.code == 0, made.out + made.err
    rbac_before = fresh_lab.admin("GET", "state").json()["rbac"]
    args = [
        "policy",
        "restrict",
        "--engine",
        "rbac",
        "--member",
        addr("DiegoS"),
        "--member",
        addr("MeganB"),
        "--yes",
    ]
    # Held: Add-DistributionGroupMember (MeganB) ran; Ctrl-C.
    code, err = gated_run(fresh_lab, "Add-DistributionGroupMember", args, env)
    assert code == 130, err
    for command in _undo_commands(err):
        undo = invoke(*shlex.split(command), "--yes", env=env)
        assert undo.code == 0, (command, undo.out + undo.err)
    rbac = fresh_lab.admin("GET", "state").json()["rbac"]
    # The scope and role assignment of before the run are still there (else the sync app opens no mailbox).
    assert [s["name"] for s in rbac["management_scopes"]] == [
        s["name"] for s in rbac_before["management_scopes"]
    ]
    assert len(rbac["role_assignments"]) == len(rbac_before["role_assignments"]), err
