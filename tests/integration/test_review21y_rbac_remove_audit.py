"""review21y: fix21x makes `policy remove --engine rbac` audit its way back ("to restore it: …") before the first
change, but it writes that line as `{"action": "policy.remove.rbac", …, "result": "ok"}` — before anything was
removed. When the first tenant write then fails (here Remove-ManagementRoleAssignment, a transient Exchange error),
the command exits 1, the role assignment and the scope are still there (`policy list --engine rbac` shows them),
and the audit log says the RBAC removal of SyncIsAllowed was "ok". README: the audit log holds "one JSON line per
change made" and "every change is in the audit log"; an administrator (or an auditor) reading it after an
unattended run expects no "ok" for a removal that did not happen (issue 21: safe to run unattended; `policy remove`
(application access policy) writes its "policy.remove.scope … ok" only after Remove-ApplicationAccessPolicy
succeeded, and the group's members before its removal without an "ok")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_a_failed_rbac_removal_is_not_audited_as_ok(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    sp = str(fresh_lab.app("rooms")["object_id"])
    ok(
        invoke(
            "policy",
            "restrict",
            "--engine",
            "rbac",
            "--member",
            addr("DiegoS"),
            "--sp-object-id",
            sp,
            "--yes",
            env=env,
        )
    )
    fresh_lab.fault(protocol="cmdlet", operation="Remove-ManagementRoleAssignment", kind="cmdlet_error")
    run = invoke("policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed", "--yes", env=env)
    assert run.code == 1, run.out + run.err
    left = ok(invoke("policy", "list", "--engine", "rbac", env=env))
    assert "EWS.AccessAsApp SyncIsAllowed" in left.out, left.out  # nothing was removed
    records = [
        json.loads(line) for line in (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    claimed = [r for r in records if r["action"] == "policy.remove.rbac" and r["result"] == "ok"]
    assert claimed == [], claimed
