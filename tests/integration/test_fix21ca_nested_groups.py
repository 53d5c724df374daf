"""`policy restrict --member` naming a mail-enabled security group (review21c #5): the restore line of
`policy remove --with-group` lists a nested group among the members, so restrict takes it where nested groups
count (application access policies) and refuses it, saying why, where they do not (RBAC's MemberOfGroup)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration


def test_a_group_member_counts_for_a_policy_and_is_refused_for_an_rbac_scope(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    from roomsops.adapters.exo.connect import open_exchange
    from roomsops.core.settings import load_settings

    with open_exchange(load_settings(str(fresh_lab.settings_path), environ={}), env) as session:
        session.run(
            "New-DistributionGroup", {"Name": "Rooms Staff", "Type": "Security", "Members": ["AdeleV"]}
        )
        session.run("New-DistributionGroup", {"Name": "Newsletter", "Members": ["AlexW"]})
    staff = addr("RoomsStaff")
    run = ok(invoke("--json", "policy", "restrict", "--member", addr("DiegoS"), "--member", staff, env=env))
    steps = {s["target"]: s for s in json.loads(run.out)["steps"] if s["step"] == "member"}
    assert steps[staff]["outcome"] == "added" and "group" in steps[staff]["detail"], steps
    tests = json.loads(ok(invoke("--json", "policy", "test", addr("AdeleV"), addr("MeganB"), env=env)).out)
    results = {t["mailbox"].casefold(): t["access_check_result"] for t in tests["tests"]}
    assert results == {addr("AdeleV").casefold(): "Granted", addr("MeganB").casefold(): "Denied"}, results

    fresh_lab.reset_requests()
    sp = fresh_lab.app("rooms")["object_id"]
    rbac = invoke(
        "policy", "restrict", "--engine", "rbac", "--sp-object-id", sp, "--group", "Scoped",
        "--member", addr("DiegoS"), "--member", staff, env=env,
    )  # fmt: skip
    assert rbac.code == 2 and "MemberOfGroup" in rbac.err and staff in rbac.err, rbac.err
    newsletter = invoke("policy", "restrict", "--group", "Other", "--member", addr("Newsletter"), env=env)
    assert newsletter.code == 2 and "not a mailbox or a mail-enabled security group" in newsletter.err
    assert changes(fresh_lab) == {}, changes(fresh_lab)
