"""fix21i (review21g, untested (a)): `policy restrict --exact` adds the new members before it removes the old ones;
when an addition fails, the removals must not run, or the group (under its RestrictAccess policy) could be left
without a mailbox. The lab fails exactly one Add-DistributionGroupMember statement of the pipeline (a `cmdlet`
fault: Exchange's transient directory error) while the others run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration


def test_a_failed_addition_stops_exact_before_any_removal(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    fresh_lab.fault(protocol="cmdlet", operation="Add-DistributionGroupMember", kind="cmdlet_error", count=1)
    fresh_lab.reset_requests()
    run = invoke(
        "--json", "policy", "restrict", "--exact", "--force", "--yes",
        "--member", addr("AdeleV"), "--member", addr("MeganB"), env=env,
    )  # fmt: skip
    assert run.code == 1, run.out + run.err
    steps = {s["target"].casefold(): s for s in json.loads(run.out)["steps"] if s["step"] == "member"}
    # The first addition failed, the second ran (one statement of the pipeline failed, not the pipeline) ...
    assert steps[addr("AdeleV").casefold()]["outcome"] == "failed", steps
    assert steps[addr("MeganB").casefold()]["outcome"] == "added", steps
    # ... and no removal was sent: DiegoS stays, reported as kept with the reason.
    assert steps[addr("DiegoS").casefold()]["outcome"] == "kept", steps
    assert "an addition failed" in steps[addr("DiegoS").casefold()]["detail"], steps
    assert "cmdlet:Remove-DistributionGroupMember" not in changes(fresh_lab), changes(fresh_lab)
    tested = json.loads(ok(invoke("--json", "policy", "test", addr("DiegoS"), addr("MeganB"), env=env)).out)
    assert [t["access_check_result"] for t in tested["tests"]] == ["Granted", "Granted"], tested

    # Once the addition works, the same command finishes the job.
    again = ok(invoke("--json", "policy", "restrict", "--exact", "--force", "--yes",
                      "--member", addr("AdeleV"), "--member", addr("MeganB"), env=env))  # fmt: skip
    outcomes = {
        s["target"].casefold(): s["outcome"] for s in json.loads(again.out)["steps"] if s["step"] == "member"
    }
    assert outcomes == {
        addr("AdeleV").casefold(): "added",
        addr("MeganB").casefold(): "already",
        addr("DiegoS").casefold(): "removed",
    }, outcomes
