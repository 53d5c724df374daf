"""review21d: `policy remove --with-group` (issue 21.10) after fix21ca: the group is kept when another app's policy
or a management scope uses it, but a group is also "used" when it is a member of another policy's group (nested
groups count for application access policies: fix21ca's own test_fix21ca_nested_groups)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration

OTHER_APP = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(
    ("access_right", "before", "after_would_be"),
    [("RestrictAccess", "Granted", "Denied"), ("DenyAccess", "Denied", "Granted")],
)
def test_with_group_keeps_a_group_nested_in_another_apps_policy_group(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, access_right: str, before: str,
    after_would_be: str,
) -> None:
    """The sync app's SyncIsAllowed = {DiegoS}. Another application (a partner app, here OTHER_APP) has a policy on
    its own group PartnerApp, whose member is the group SyncIsAllowed ("users or groups, including nested groups").
    `policy remove --group SyncIsAllowed --with-group --yes` removes SyncIsAllowed: the other app's policy now
    misses DiegoS — a RestrictAccess app loses the mailbox (Granted -> Denied, an outage of another application),
    a DenyAccess app gains it (Denied -> Granted, a security hole). The guard ("unless another app's policy ...
    uses it") looks only at policies scoped to the group itself. Expected: the group stays, kept_group says why."""
    diego = addr("DiegoS")
    ok(invoke("policy", "restrict", "--member", diego, "--yes", env=env))
    ok(
        invoke(
            "policy", "restrict", "--app-id", OTHER_APP, "--group", "PartnerApp", "--access-right", access_right,
            "--member", addr("SyncIsAllowed"), "--yes", env=env,
        )
    )
    check = json.loads(ok(invoke("--json", "policy", "test", "--app-id", OTHER_APP, diego, env=env)).out)
    assert [t["access_check_result"] for t in check["tests"]] == [before], check

    fresh_lab.reset_requests()
    run = invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    after = json.loads(invoke("--json", "policy", "test", "--app-id", OTHER_APP, diego, env=env).out)
    assert [t["access_check_result"] for t in after["tests"]] == [before], (
        f"the other app's access to {diego} changed to {after['tests']}: {run.out}"
    )
    assert "cmdlet:Remove-DistributionGroup" not in changes(fresh_lab), run.out
    doc = json.loads(run.out)
    assert doc["removed_group"] is None and "PartnerApp" in (doc["kept_group"] or ""), doc
