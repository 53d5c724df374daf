"""review21z: fix21z refuses `--app-id` with the admin app's id (exo.app_id) in every admin command that connects
("--app-id … is the admin app's id (exo.app_id) … not the sync app; nothing was changed", exit 2). The same mistake
with `--print-script` (the runbook for an administrator who runs the cmdlets themselves; it connects nowhere) is
rendered without a word, exit 0: `policy restrict --print-script` restricts the admin app instead of the sync app
(the sync app keeps its tenant-wide access while the administrator believes it restricted), and `--engine rbac`
even grants the admin app EWS.AccessAsApp over the group's mailboxes. exo.app_id is in the settings, so the check
needs no connection. An administrator expects the refusal the same command gets without --print-script: exit 2,
the one line naming --app-id, no runbook on stdout (issue 21, Deliver 6; the admin-safety guards hold whichever way
the change is made)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("engine", ["aap", "rbac"])
def test_print_script_refuses_the_admin_app_as_app_id(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, engine: str
) -> None:
    admin_app = str(fresh_lab.app("admin")["app_id"])
    command = ("policy", "restrict", "--engine", engine, "--member", addr("DiegoS"), "--app-id", admin_app)
    applied = invoke(*command, "--yes", env=env)
    assert applied.code == 2 and "is the admin app's id" in applied.err, applied.out + applied.err
    run = invoke(*command, "--print-script", env=env)
    assert admin_app not in run.out, run.out[:600]
    assert run.code == 2, run.out[:600] + run.err
    assert "is the admin app's id" in run.err, run.err
