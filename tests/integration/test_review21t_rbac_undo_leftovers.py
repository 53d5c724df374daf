"""review21t: README "Undo and uninstall" gives, for `policy restrict --engine rbac`, "`roomsops policy remove
--engine rbac --group SyncIsAllowed --yes` (role assignment and scope)", then "To uninstall: undo the tenant changes
above". On a fresh tenant `policy restrict --engine rbac` also made the group SyncIsAllowed (with its members) and
the service principal pointer (New-ServicePrincipal); after the README's undo both are left in the tenant, and the
undo row names no command for either (`--with-group` is refused with --engine rbac; no command removes the pointer).
Issue 21, Deliver 10: each change roomsops makes has a command that takes it back, in the README's Undo section."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def _undo_row() -> str:
    (row,) = [
        line
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `policy restrict --engine rbac` |")
    ]
    return row


def test_the_readmes_rbac_undo_leaves_nothing_roomsops_made(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    before = fresh_lab.admin("GET", "/lab/state").json()
    assert "SyncIsAllowed" not in {g["name"] for g in before["groups"]}
    assert before["rbac"]["service_principals"] == []
    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    made = invoke("policy", "restrict", "--engine", "rbac", *sp, "--member", addr("DiegoS"), "--yes", env=env)
    assert made.code == 0, made.out + made.err
    # Every `roomsops ...` command of the README's undo row, as written.
    for command in [c for c in _undo_row().split("`") if c.startswith("roomsops policy remove")]:
        run = invoke(*shlex.split(command)[1:], env=env)
        assert run.code == 0, (command, run.out + run.err)
    after = fresh_lab.admin("GET", "/lab/state").json()
    assert after["rbac"]["role_assignments"] == [] and after["rbac"]["management_scopes"] == []
    assert "SyncIsAllowed" not in {g["name"] for g in after["groups"]}, "the group is left"
    assert after["rbac"]["service_principals"] == [], "the service principal pointer is left"
