"""review21t: `policy remove --engine rbac --group SyncIsAlowed` (a typo of the scope roomsops made) exits 1 with a
plain "no role assignment of app … over scope SyncIsAlowed, and no such scope": no `Error:` line, no remedy, no
closest name. The same typo with the application access policy engine is refused as bad input, exit 2, "(closest:
SyncIsAllowed) … see 'roomsops policy list'" (README: a group that does not exist is refused, exit 2, with the
closest of the policies' groups). Issue 21, Deliver 1/7/10: a mistyped name is bad input (exit 2, one line with the
closest known match), also for `--engine rbac`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_a_misspelt_scope_is_refused_with_the_closest_one(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    made = invoke("policy", "restrict", "--engine", "rbac", *sp, "--member", addr("DiegoS"), "--yes", env=env)
    assert made.code == 0, made.out + made.err
    run = invoke("policy", "remove", "--engine", "rbac", "--group", "SyncIsAlowed", "--yes", env=env)
    rbac = fresh_lab.admin("GET", "state").json()["rbac"]
    assert (len(rbac["management_scopes"]), len(rbac["role_assignments"])) == (1, 1), rbac  # nothing changed
    assert run.code == 2, run.out + run.err
    assert run.err.startswith("Error: ") and "SyncIsAllowed" in run.err, run.err
