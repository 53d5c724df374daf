"""review21y: `policy migrate` that stops half-way (here New-ManagementRoleAssignment fails after it made the
service principal and the management scope SyncIsAllowed) prints as its undo only "remove the role assignments and
management scopes that were created (Remove-ManagementRoleAssignment, Remove-ManagementScope)": raw cmdlets without
the names, and nothing about the service principal pointer it made. `roomsops policy remove --engine rbac --group
SyncIsAllowed --with-service-principal --yes` does take exactly that back (checked by hand), but the remedy does not
say so, and README's "Undo and uninstall" table ("Each change roomsops makes has a command that takes it back") has
no row for `policy migrate` at all. Then `policy list --engine rbac` — README: "shows what is left" — says "no …
role assignments of app …" and does not name the management scope SyncIsAllowed left behind. An administrator
expects the half-way remedy to name the roomsops command that undoes it, and the listing to show every piece left
(issue 21, Deliver 6 and 10: `policy list --engine rbac` and `policy remove --engine rbac` as the undo; Deliver 7:
nothing half-written without a way back)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def _half_way(invoke: Invoke, lab: Any, env: dict[str, str], addr: Any) -> Any:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env))
    lab.fault(protocol="cmdlet", operation="New-ManagementRoleAssignment", kind="cmdlet_error")
    sp = str(lab.app("rooms")["object_id"])
    run = invoke("policy", "migrate", "--sp-object-id", sp, "--yes", env=env)
    assert run.code == 1 and "stopped half-way" in run.err, run.out + run.err
    return run


def test_a_half_way_migrate_names_the_roomsops_command_that_undoes_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    run = _half_way(invoke, fresh_lab, env, addr)
    assert "roomsops policy remove --engine rbac" in run.err, run.err


def test_policy_list_rbac_shows_the_scope_a_half_way_migrate_left(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    _half_way(invoke, fresh_lab, env, addr)
    scopes = fresh_lab.admin("GET", "state").json()["rbac"]["management_scopes"]
    assert [s["name"] for s in scopes] == ["SyncIsAllowed"], scopes  # what is left in the tenant
    listing = ok(invoke("policy", "list", "--engine", "rbac", env=env))
    assert "SyncIsAllowed" in listing.out, listing.out
