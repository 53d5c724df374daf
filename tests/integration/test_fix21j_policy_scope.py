"""fix21j: `policy restrict` asks, before any change, whether the policy group will hold a mailbox after the run
(issue 21, Deliver 1: "a RestrictAccess policy is never created or left on an empty group"): the members it keeps
and adds, nested groups followed but never back through the policy group itself. The policy group is refused as
its own member."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def _exchange(fresh_lab: Any, *statements: tuple[str, dict[str, Any]]) -> None:
    from roomsops.adapters.exo.connect import open_exchange
    from roomsops.core.settings import load_settings

    settings = load_settings(str(fresh_lab.settings_path), environ={})
    password = str(fresh_lab.info["winrm"]["password"])
    with open_exchange(settings, {"ROOMSOPS_WINRM_PASSWORD": password}) as session:
        for cmdlet, params in statements:
            session.run(cmdlet, params)


def _granted(invoke: Invoke, env: dict[str, str], address: str) -> list[str]:
    tested = json.loads(ok(invoke("--json", "policy", "test", address, env=env)).out)
    return [t["access_check_result"] for t in tested["tests"]]


def test_exact_onto_a_group_nesting_the_policy_group_is_refused_before_any_change(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    _exchange(
        fresh_lab,
        ("New-DistributionGroup", {"Name": "Rooms Staff", "Type": "Security"}),
        (
            "Add-DistributionGroupMember",
            {
                "Identity": "Rooms Staff",
                "Member": addr("SyncIsAllowed"),
                "BypassSecurityGroupManagerCheck": True,
            },
        ),
    )
    fresh_lab.reset_requests()
    for extra in (("--dry-run",), ("--force", "--yes"), ()):
        run = invoke("policy", "restrict", "--exact", *extra, "--member", addr("RoomsStaff"), env=env)
        assert run.code == 2, (extra, run.code, run.out, run.err)
        one_line_error(run)
        assert "would hold no mailbox" in run.err and "nothing was changed" in run.err, run.err
        assert addr("DiegoS") in run.err and "only through SyncIsAllowed itself" in run.err, run.err
    assert changes(fresh_lab) == {}, changes(fresh_lab)
    assert _granted(invoke, env, addr("DiegoS")) == ["Granted"]


def test_exact_onto_a_nested_group_with_its_own_mailbox_goes_ahead(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """The guard counts what the group will hold: a member group with a mailbox of its own keeps the scope."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    _exchange(
        fresh_lab,
        ("New-DistributionGroup", {"Name": "Rooms Staff", "Type": "Security"}),
        (
            "Add-DistributionGroupMember",
            {
                "Identity": "Rooms Staff",
                "Member": addr("SyncIsAllowed"),
                "BypassSecurityGroupManagerCheck": True,
            },
        ),
        (
            "Add-DistributionGroupMember",
            {"Identity": "Rooms Staff", "Member": addr("AdeleV"), "BypassSecurityGroupManagerCheck": True},
        ),
    )
    ok(invoke("policy", "restrict", "--exact", "--force", "--yes", "--member", addr("RoomsStaff"), env=env))
    assert _granted(invoke, env, addr("AdeleV")) == ["Granted"]
    assert _granted(invoke, env, addr("DiegoS")) == ["Denied"]


def test_the_policy_group_is_refused_as_its_own_member(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    fresh_lab.reset_requests()
    run = invoke(
        "policy", "restrict", "--exact", "--force", "--yes", "--member", addr("SyncIsAllowed"), env=env
    )
    assert run.code == 2, (run.code, run.out, run.err)
    one_line_error(run)
    assert "is the group SyncIsAllowed itself" in run.err and "nothing was changed" in run.err, run.err
    assert changes(fresh_lab) == {}, changes(fresh_lab)
    assert _granted(invoke, env, addr("DiegoS")) == ["Granted"]
