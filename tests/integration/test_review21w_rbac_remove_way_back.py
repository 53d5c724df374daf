"""review21w: fix21u's `policy remove --engine rbac --group SyncIsAllowed --with-group --with-service-principal`
(README's undo row) removes the role assignment, the scope, the group with its members and the service principal,
exit 0, and prints "removed group SyncIsAllowed" — no members, no way back. The aap engine's `policy remove
--with-group` prints "removed group … with its N member(s): …" and "to restore it: roomsops policy restrict …", and
records it in the audit log (README "Undo and uninstall"). For rbac, the command that makes the scope and role
assignment again (`_rbac_restore_command`, with the members) is shown only when the run is interrupted or fails; on
success it is neither printed nor audited (the audit log has Remove-* cmdlets and a New-DistributionGroup line),
so the administrator who undoes by mistake must rebuild the member list by hand (issue 21, Deliver 10 and 6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_rbac_remove_with_group_names_the_way_back(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    members = ["--member", addr("DiegoS"), "--member", addr("MeganB")]
    made = invoke("policy", "restrict", "--engine", "rbac", *sp, *members, "--yes", env=env)
    assert made.code == 0, made.out + made.err
    run = invoke(
        "policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed", "--with-group",
        "--with-service-principal", "--yes", env=env,
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    after = fresh_lab.admin("GET", "/lab/state").json()
    assert "SyncIsAllowed" not in {g["name"] for g in after["groups"]}  # the group and its members are gone
    assert "to restore it: roomsops policy restrict --engine rbac" in run.out, run.out
    assert addr("DiegoS") in run.out and addr("MeganB") in run.out, run.out
