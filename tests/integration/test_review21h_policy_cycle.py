"""review21h: the empty-group guard of `policy restrict` (issue 21, Deliver 1: "a RestrictAccess policy is never
created or left on an empty group") asks whether a member group holds a mailbox *before* the change. A group
that holds a mailbox only through the policy group itself (circular nesting, which Active Directory and so
Exchange allow) passes the guard, and `--exact` then removes those very mailboxes: the policy group and the
member group hold only each other, no mailbox, and the RestrictAccess policy locks the sync app out of every
mailbox of the tenant (the harm of issue 21.1) while the run exits 0."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def _exchange(fresh_lab: Any, *statements: tuple[str, dict[str, Any]]) -> None:
    from roomsops.adapters.exo.connect import open_exchange
    from roomsops.core.settings import load_settings

    settings = load_settings(str(fresh_lab.settings_path), environ={})
    password = str(fresh_lab.info["winrm"]["password"])
    with open_exchange(settings, {"ROOMSOPS_WINRM_PASSWORD": password}) as session:
        for cmdlet, params in statements:
            session.run(cmdlet, params)


def test_exact_onto_a_group_nesting_the_policy_group_keeps_a_mailbox_in_scope(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))  # group SyncIsAllowed: DiegoS
    # "Rooms Staff" holds the policy group (an umbrella group an administrator made): it holds DiegoS through it.
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
    run = invoke(
        "policy", "restrict", "--exact", "--force", "--yes", "--member", addr("RoomsStaff"), env=env
    )  # fmt: skip
    tested = json.loads(ok(invoke("--json", "policy", "test", addr("DiegoS"), env=env)).out)
    # DiegoS was the only mailbox in the scope: after the run some mailbox must still be granted, or the run
    # must have refused (exit 2) without removing DiegoS.
    assert [t["access_check_result"] for t in tested["tests"]] == ["Granted"], (run.code, run.out, run.err)
