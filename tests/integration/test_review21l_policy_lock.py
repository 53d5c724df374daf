"""review21l: the per-tenant policy lock (fix21k) lives in the data folder, which `policy restrict|remove|migrate`
never needed before: a data folder that cannot be made (a file where a folder is wanted) now ends every
tenant-changing policy command with an 'unexpected … report it' error and exit 1, where issue 21 (Deliver 7)
wants configuration errors to be exit 2 with a plain error and a remedy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def test_policy_restrict_with_an_unusable_data_folder_is_a_plain_configuration_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder's parent should be\n")
    broken = {**env, "ROOMSOPS_DATA_DIR": str(blocker / "data")}
    fresh_lab.reset_requests()
    run = invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=broken)
    assert changes(fresh_lab) == {}, changes(fresh_lab)  # holds today too: the lock comes before the session
    listed = json.loads(invoke("--json", "policy", "list", env=env).out)
    assert listed["policies"] == [], listed
    line = one_line_error(run)
    assert "unexpected" not in line and "report it" not in line, line
    assert str(blocker) in line, line  # names what is in the way
    assert run.code == 2, (run.code, line)
