"""review21o: the `policy restrict --print-script` runbook lacks issue 21's guard (Deliver 1: "a RestrictAccess
policy is never created or left on an empty group"). README: it "prints the equivalent runbook for an administrator
to run by hand". The live run refuses an unknown member before any change; the runbook, given the mistyped member of
issue 21.1 (`--member nobody@…`, printed with exit 0), creates the group without members, turns the failed
Add-DistributionGroupMember into a Write-Warning and goes on to New-ApplicationAccessPolicy -AccessRight
RestrictAccess over the empty group: run by hand, the whole organisation's sync stops.

No PowerShell runs here: the test reads the printed runbook. Between the member additions and
New-ApplicationAccessPolicy there must be a statement that stops the script (a `throw`) other than the one about an
existing policy's access right — an addition that failed (or a group left without a member) must stop the runbook
before the policy is made."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def _between_additions_and_policy(script: str) -> str:
    start = script.index("Add-DistributionGroupMember")
    end = script.index("New-ApplicationAccessPolicy", start)
    return script[start:end]


def test_the_runbook_adds_the_members_before_it_makes_the_policy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Guard of the premise: printed with exit 0, nothing run, additions then the policy."""
    fresh_lab.reset_requests()
    run = invoke("policy", "restrict", "--member", addr("nobody"), "--print-script", env=env)
    assert run.code == 0, run.out + run.err
    assert fresh_lab.requests() == {}
    assert "-AccessRight $AccessRight" in run.out and "$AccessRight = 'RestrictAccess'" in run.out
    assert _between_additions_and_policy(run.out)


def test_the_runbook_stops_before_the_policy_when_a_member_cannot_be_added(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    run = invoke("policy", "restrict", "--member", addr("nobody"), "--print-script", env=env)
    assert run.code == 0, run.out + run.err
    segment = _between_additions_and_policy(run.out)
    stops = [
        line.strip()
        for line in segment.splitlines()
        if re.search(r"\bthrow\b", line) and "A policy with access right" not in line
    ]
    assert stops, segment
