"""review21t: `policy restrict --group ""` (an empty value given explicitly, e.g. a scheduler's script with
`--group "$GROUP"` and the variable unset) is taken as no --group: the run goes ahead on the default group
(policy.group, SyncIsAllowed) — creating it and its RestrictAccess policy, or with `--exact` making it hold only the
given members. `--scope ""` with `--engine rbac` likewise. `policy remove --group ""` refuses the same value ("no
group given"). An empty name is bad input: exit 2, nothing changed (issue 21, Deliver 1 and 7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_an_empty_group_name_is_refused_and_nothing_is_created(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    run = invoke("policy", "restrict", "--group", "", "--member", addr("DiegoS"), env=env)
    state = fresh_lab.admin("GET", "/lab/state").json()
    assert state["application_access_policies"] == [], state["application_access_policies"]
    assert [g["name"] for g in state["groups"] if g["name"] == "SyncIsAllowed"] == []
    assert run.code == 2, run.out + run.err
    assert run.err.startswith("Error: "), run.err
