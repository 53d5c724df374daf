"""review21p: `policy restrict` whose every change was made, and only the check after them (Test-ApplicationAccessPolicy)
failed with a transient Exchange error, reports "stopped half-way", "not done: nothing", and an undo. The policy
is in place as asked; an administrator told the run stopped half-way with an undo beside it may well undo a
finished restriction. What failed is the verification: the report should say the changes were made and point at
`roomsops policy test` (Deliver 6: a remedy that fits the situation)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_a_failed_check_after_every_change_is_no_half_done_run(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    diego = addr("DiegoS")
    fresh_lab.fault(protocol="cmdlet", operation="Test-ApplicationAccessPolicy", kind="cmdlet_error")
    run = invoke("policy", "restrict", "--member", diego, "--yes", env=env)
    assert run.code == 1, run.out + run.err  # the check did not pass: not a success
    policies = fresh_lab.admin("GET", "state").json()["application_access_policies"]
    assert [p["access_right"] for p in policies] == ["RestrictAccess"], policies  # every change was made
    assert "half-way" not in run.out + run.err, run.err
    assert f"roomsops policy test {diego}" in run.out + run.err, run.out + run.err
