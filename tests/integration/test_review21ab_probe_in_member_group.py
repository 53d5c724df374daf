"""review21ab: `policy restrict` refuses a --probe that is also a --member before changing anything ("is both a
member and a --probe — a probe is a mailbox that must stay outside the group", exit 2), but not a probe that is a
member of a group given as --member. The group's members are known before anything is changed (the run already
reads a member group to refuse an empty one, review21g), and an application access policy's scope includes the
nested group's mailboxes, so the probe can only come out Granted. Today the run creates the group, adds the member
group, creates the RestrictAccess policy and only then reports "test AlexW: Granted (MISMATCH, expected Denied)",
exit 1: the tenant is changed by a run whose own plan was wrong (issue 21, Deliver 1: "resolves every member and
probe before changing anything"; Acceptance: "nothing was changed on refusal")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

from .conftest import changes
from .test_review21g_policy_guard import _make_empty_security_group, _policies


@pytest.mark.integration
def test_a_probe_inside_a_member_group_is_refused_before_anything_changes(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    from roomsops.adapters.exo.connect import open_exchange
    from roomsops.core.settings import load_settings

    _make_empty_security_group(fresh_lab, "Rooms Staff")
    settings = load_settings(str(fresh_lab.settings_path), environ={})
    with open_exchange(settings, {"ROOMSOPS_WINRM_PASSWORD": str(fresh_lab.info["winrm"]["password"])}) as s:
        s.run(
            "Add-DistributionGroupMember",
            {"Identity": "Rooms Staff", "Member": addr("AlexW"), "BypassSecurityGroupManagerCheck": True},
        )
    fresh_lab.reset_requests()
    run = invoke(
        "policy", "restrict", "--member", addr("RoomsStaff"), "--probe", addr("AlexW"), "--yes", env=env
    )
    assert changes(fresh_lab) == {}, (changes(fresh_lab), run.out, run.err)
    assert _policies(invoke, env) == [], run.out + run.err
    assert run.code == 2 and addr("AlexW") in run.err, run.out + run.err
