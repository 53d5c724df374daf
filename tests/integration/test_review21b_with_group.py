"""review21b: `policy remove --with-group` (issue 21.10) as a hostile administrator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration


def test_with_group_keeps_a_group_an_rbac_scope_of_the_app_still_filters_on(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Half-way through a move from application access policies to RBAC for Applications both exist over the
    same group (the default SyncIsAllowed). `policy remove --with-group` (aap) checked only other apps'
    *policies* and removed the group: the RBAC management scope is left with `MemberOfGroup -eq <a group
    that is gone>`, which matches no mailbox, so the sync app loses EWS access to every mailbox (the
    lock-out of issue 21.1 by the undo command). The group must stay (and the result say why)."""
    sp = fresh_lab.app("rooms")["object_id"]
    diego = addr("DiegoS")
    ok(invoke("policy", "restrict", "--member", diego, env=env))
    ok(invoke("policy", "restrict", "--engine", "rbac", "--sp-object-id", sp, "--member", diego, env=env))
    listed = json.loads(ok(invoke("--json", "policy", "list", "--engine", "rbac", env=env)).out)
    assert [row["scope"] for row in listed["assignments"]] == ["SyncIsAllowed"]

    fresh_lab.reset_requests()
    run = invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    assert run.code == 0, run.out + run.err
    assert "cmdlet:Remove-DistributionGroup" not in changes(fresh_lab), changes(fresh_lab)
    doc = json.loads(run.out)
    assert doc["removed_group"] is None and doc["kept_group"], doc
