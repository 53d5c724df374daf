"""fix21s: the undo a half-done tenant change names takes back only what that run made (the cases the lab tests in
tests/integration/test_review21r_*.py do not reach: a role assignment made over a scope that was there before, a run
stopped before its first change, the EwsEnabled value to set back)."""

from __future__ import annotations

from roomsops.cli.ews import _ews_enabled_undo
from roomsops.cli.policy import NOTHING_TO_UNDO, _migrate_undo, _rbac_restrict_undo, _restrict_undo
from roomsops.services.policy.model import RbacRequest, RestrictRequest

APP = "0c2b1a4e-1111-4222-8333-944455556666"


def test_a_role_assignment_made_over_an_existing_scope_is_removed_alone() -> None:
    request = RbacRequest(app_id=APP, group="SyncIsAllowed", members=("a@x.example",))
    made = ["role Application EWS.AccessAsApp → SyncIsAllowed: created"]
    undo = _rbac_restrict_undo(request, "ews", made, False)
    assert "policy remove" not in undo, undo  # it would remove the scope that was there before the run
    assert "Remove-ManagementRoleAssignment -Identity 'EWS.AccessAsApp SyncIsAllowed'" in undo, undo


def test_a_scope_made_by_the_run_is_removed_with_policy_remove() -> None:
    request = RbacRequest(app_id=APP, group="SyncIsAllowed", members=("a@x.example",))
    made = ["scope SyncIsAllowed: created", "role Application EWS.AccessAsApp → SyncIsAllowed: created"]
    assert "'roomsops policy remove --engine rbac --group SyncIsAllowed'" in _rbac_restrict_undo(
        request, "ews", made, False
    )


def test_a_run_stopped_before_its_first_change_has_nothing_to_undo() -> None:
    request = RestrictRequest(app_id=APP, group="SyncIsAllowed", members=("a@x.example",))
    assert _restrict_undo(request, [], [], False) == NOTHING_TO_UNDO
    rbac = RbacRequest(app_id=APP, group="SyncIsAllowed", members=("a@x.example",))
    assert _rbac_restrict_undo(rbac, "ews", [], False) == NOTHING_TO_UNDO


def test_members_taken_out_are_added_back_before_those_added_are_removed() -> None:
    request = RestrictRequest(app_id=APP, group="SyncIsAllowed", members=("a@x.example",), exact=True)
    made = ["member b@x.example: removed", "member a@x.example: added"]
    undo = _restrict_undo(request, made, [], False)
    assert undo.index("Add-DistributionGroupMember") < undo.index("Remove-DistributionGroupMember"), undo
    assert "policy remove" not in undo, undo  # the run made no policy


def test_ews_enabled_is_set_back_to_its_value_before() -> None:
    assert "-EwsEnabled $false" in _ews_enabled_undo(False)
    assert "-EwsEnabled $null" in _ews_enabled_undo(
        None
    )  # unset before the run (unverified in Exchange Online)


def test_a_half_way_migrate_undoes_each_scope_it_made_by_its_name() -> None:
    """fix21aa (review21z): two group scopes made, the service principal with the last one; a role assignment over
    a scope that was there before alone; the removed policies come back with policy restrict."""
    made = [
        "principal 0c2b1a4e-1111-4222-8333-944455556666: created",
        "scope SyncIsAllowed: created",
        "role Application EWS.AccessAsApp → SyncIsAllowed: created",
        "scope Rooms Zurich: created",
        "role Application EWS.AccessAsApp → Existing: created",
        "old policy-1: removed",
    ]
    undo = _migrate_undo(APP, made)
    assert f"'roomsops policy remove --engine rbac --scope SyncIsAllowed --app-id {APP} --yes'" in undo, undo
    last = (
        f"roomsops policy remove --engine rbac --scope 'Rooms Zurich' --app-id {APP} --with-service-principal"
    )
    assert last in undo and undo.count("--with-service-principal") == 1, undo
    assert "Remove-ManagementRoleAssignment -Identity 'EWS.AccessAsApp Existing'" in undo, undo
    assert "--scope Existing" not in undo and "'roomsops policy restrict'" in undo, undo
    assert _migrate_undo(APP, []) == NOTHING_TO_UNDO
