"""review21p: a `--probe` that is a member's mailbox given by another of its addresses (an alias).

`policy restrict --member DiegoS@… --probe diegos@…` (the same address) is refused: exit 2, "is both a member and a
--probe", nothing changed. Given as Diego's alias (diego.siciliani@…), the same contradiction goes through: the
group, the member and the RestrictAccess policy (rbac: principal, scope, role assignment) are made, then the check
reports "Granted (MISMATCH, expected Denied)" and the run exits 1 — a change made on bad input (fix21o compares
members by mailbox, not the probes against them). Deliver 1: every member and probe is resolved before anything
changes; bad input is exit 2 with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("engine", ["aap", "rbac"])
def test_a_probe_that_is_an_alias_of_a_member_is_refused_before_any_change(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, engine: str
) -> None:
    diego, alias = addr("DiegoS"), addr("diego.siciliani")
    mailboxes = {m["primary_smtp"]: m["aliases"] for m in fresh_lab.admin("GET", "mailboxes").json()}
    assert alias in mailboxes[diego], mailboxes[diego]  # one mailbox, two addresses
    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]] if engine == "rbac" else []
    run = invoke(
        "policy", "restrict", "--engine", engine, *sp, "--member", diego, "--probe", alias, "--yes", env=env
    )
    state = fresh_lab.admin("GET", "state").json()
    made = (state["groups"], state["application_access_policies"], state["rbac"]["management_scopes"])
    assert made == ([], [], []), made
    assert run.code == 2, run.out + run.err
