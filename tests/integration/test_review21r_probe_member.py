"""review21r: fix21q refuses a `--probe` that is a `--member`'s mailbox under an alias (exit 2, nothing changed), but
not a `--probe` that is already a member of the existing group. Without `--exact` restrict never takes a member out,
so the probe's expected Denied cannot come true: the run adds the new members (a change), then reports the probe's
MISMATCH and exits 1 — the contradiction fix21q's guard exists for, knowable from the group read before any change
(Deliver 1: every member and probe resolved before changing anything)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def _members(lab: Any) -> list[list[dict[str, str]]]:
    return [g["members"] for g in lab.admin("GET", "state").json()["groups"]]


def test_a_probe_that_is_already_a_member_of_the_group_is_refused_before_any_change(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    made = invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env)
    assert made.code == 0, made.out + made.err
    before = _members(fresh_lab)
    run = invoke(
        "policy", "restrict", "--member", addr("MeganB"), "--probe", addr("DiegoS"), "--yes", env=env
    )
    assert _members(fresh_lab) == before, run.out + run.err  # nothing changed: MeganB not added
    assert run.code == 2, run.out + run.err
    assert addr("DiegoS") in run.err, run.err  # names the probe that is in the group
