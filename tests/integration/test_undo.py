"""Issue 21.10 against the lab: the undo of `ews allow` (`ews disallow`) and of `policy restrict --engine rbac`
(`policy list|remove --engine rbac`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.test_readme_json import assert_documented
from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration

OTHER_APP = "0f0e0d0c-0b0a-4909-8807-060504030201"


def organization(lab: Any) -> tuple[Any, list[str]]:
    with lab.lab.tenant.read() as state:
        return state.organization.ews_enabled, list(state.organization.ews_allowed_app_ids)


def set_organization(lab: Any, **changes: Any) -> None:
    with lab.lab.tenant.change() as state:
        for key, value in changes.items():
            setattr(state.organization, key, value)


def test_ews_disallow_takes_only_the_sync_app_off_and_asks_while_ews_is_enabled(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    sync_app = fresh_lab.info["apps"]["rooms"]["app_id"]
    set_organization(fresh_lab, ews_enabled=True, ews_allowed_app_ids=[OTHER_APP])
    ok(invoke("ews", "allow", "--yes", env=env))
    assert organization(fresh_lab) == (True, [OTHER_APP, sync_app])

    fresh_lab.reset_requests()
    refused = invoke("ews", "disallow", env=env)  # EwsEnabled True: it would stop the sync; no terminal
    assert refused.code == 2 and "With EwsEnabled True it stops syncing" in refused.err
    assert organization(fresh_lab) == (True, [OTHER_APP, sync_app]) and changes(fresh_lab) == {}

    done = json.loads(ok(invoke("--json", "ews", "disallow", "--yes", env=env)).out)
    assert (done["allowed_before"], done["allowed_after"]) == ([OTHER_APP, sync_app], [OTHER_APP])
    assert organization(fresh_lab) == (True, [OTHER_APP])

    again = invoke("ews", "disallow", "--yes", env=env)
    assert again.code == 0 and "was not on EwsAllowedAppIDs; nothing was changed" in again.err


def test_ews_disallow_of_the_only_app_clears_the_list(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    ok(invoke("ews", "allow", env=env))
    assert organization(fresh_lab)[1] == [fresh_lab.info["apps"]["rooms"]["app_id"]]
    ok(invoke("ews", "disallow", env=env))  # EwsEnabled unset: nothing stops, no question
    assert organization(fresh_lab) == (None, [])


def test_policy_list_and_remove_with_the_rbac_engine(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
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
    listed = json.loads(ok(invoke("--json", "policy", "list", "--engine", "rbac", env=env)).out)
    assert listed["service_principal"] == sp
    assert_documented("policy list --engine rbac", listed)
    (row,) = listed["assignments"]
    assert (row["role"], row["scope"]) == ("Application EWS.AccessAsApp", "SyncIsAllowed")
    assert row["recipient_filter"].startswith("MemberOfGroup -eq ")

    fresh_lab.reset_requests()
    before = fresh_lab.admin("GET", "/lab/state").json()
    refused = invoke("policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed", env=env)
    assert refused.code == 2 and "pass --yes" in refused.err
    assert changes(fresh_lab) == {} and fresh_lab.admin("GET", "/lab/state").json() == before

    removed = json.loads(
        ok(
            invoke(
                "--json", "policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed", "--yes", env=env
            )
        ).out
    )
    assert (removed["removed_assignments"], removed["removed_scope"]) == ([row["name"]], "SyncIsAllowed")
    assert_documented("policy remove --engine rbac", removed)
    assert changes(fresh_lab) == {
        "cmdlet:Remove-ManagementRoleAssignment": 1,
        "cmdlet:Remove-ManagementScope": 1,
    }
    after = json.loads(ok(invoke("--json", "policy", "list", "--engine", "rbac", env=env)).out)
    assert after["assignments"] == []
    again = invoke("policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed", "--yes", env=env)
    assert again.code == 1 and "no role assignment of app" in again.out
