"""review21g: the empty-group guard of `policy restrict` (issue 21, Deliver 1: "a RestrictAccess policy is never
created or left on an empty group") counts a nested mail-enabled security group as a member even when it holds
no mailbox. An application access policy's scope is the group's mailboxes, nested groups' included: a group
whose only member is an empty group holds no mailbox, so a RestrictAccess policy on it locks the sync app out
of every mailbox of the tenant — the very harm of issue 21.1 — and roomsops reports success (exit 0)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration


def _make_empty_security_group(fresh_lab: Any, name: str) -> None:
    from roomsops.adapters.exo.connect import open_exchange
    from roomsops.core.settings import load_settings

    settings = load_settings(str(fresh_lab.settings_path), environ={})
    password = str(fresh_lab.info["winrm"]["password"])
    with open_exchange(settings, {"ROOMSOPS_WINRM_PASSWORD": password}) as session:
        session.run("New-DistributionGroup", {"Name": name, "Type": "Security"})


def _policies(invoke: Invoke, env: dict[str, str]) -> list[dict[str, Any]]:
    return list(json.loads(ok(invoke("--json", "policy", "list", env=env)).out)["policies"])


def test_a_member_group_without_a_mailbox_gets_no_restrict_access_policy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    _make_empty_security_group(fresh_lab, "Rooms Staff")
    fresh_lab.reset_requests()
    run = invoke("policy", "restrict", "--member", addr("RoomsStaff"), env=env)
    # What the sync app may open after this run (the lab evaluates nested groups as Exchange does).
    tested = json.loads(ok(invoke("--json", "policy", "test", addr("DiegoS"), addr("AdeleV"), env=env)).out)
    results = {t["access_check_result"] for t in tested["tests"]}
    assert run.code == 2, (run.code, run.out, run.err, results)
    assert "RoomsStaff" in run.err and "no mailbox" in run.err, run.err
    assert _policies(invoke, env) == [], results
    assert changes(fresh_lab) == {}, changes(fresh_lab)


def test_exact_onto_a_group_without_a_mailbox_does_not_empty_a_policy_group(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    _make_empty_security_group(fresh_lab, "Rooms Staff")
    run = invoke(
        "policy", "restrict", "--exact", "--force", "--yes", "--member", addr("RoomsStaff"), env=env
    )  # fmt: skip
    tested = json.loads(ok(invoke("--json", "policy", "test", addr("DiegoS"), env=env)).out)
    # DiegoS was the group's only mailbox: the run must not take it out while the policy stays.
    assert [t["access_check_result"] for t in tested["tests"]] == ["Granted"], (run.code, run.out, run.err)
    assert run.code != 0, run.out + run.err
