"""review21m: fix21l made the policy lock's data folder under a file exit 2, but a data folder that is a symbolic
link to a folder not there (a share or disk not mounted, a folder moved away) still ends `policy restrict` with
'unexpected FileExistsError … report it' and exit 1: `mkdir(parents=True)` of the link's path fails, and the blocker
check (`path.parents` that exist) skips a dangling link (exists() follows it). `sync` with the same data folder
follows the link (README: rooms.db's files may be links; the target is made if missing) and exits 0. Issue 21,
Deliver 7: configuration errors → 2 with a plain error and a remedy, never 'unexpected … report it'."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def test_policy_restrict_with_a_data_folder_linked_to_a_missing_folder_is_no_unexpected_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    link = tmp_path / "data"
    link.symlink_to(tmp_path / "unmounted" / "data")
    linked = {**env, "ROOMSOPS_DATA_DIR": str(link)}
    fresh_lab.reset_requests()
    run = invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=linked)
    if run.code != 0:  # refused: a configuration error, nothing changed, the link named
        assert changes(fresh_lab) == {}, changes(fresh_lab)
        assert json.loads(invoke("--json", "policy", "list", env=env).out)["policies"] == []
        line = one_line_error(run)
        assert "unexpected" not in line and "report it" not in line, line
        assert str(link) in line, line
        assert run.code == 2, (run.code, line)
    else:  # or followed, as `sync` follows it
        assert "SyncIsAllowed" in run.out, run.out
