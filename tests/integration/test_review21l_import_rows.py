"""review21l: `persons import` names only the first row that is a ROOMS room (issue 21, Deliver 12: CSV import
reports every bad row, with line, column and reason). The check of the database before Exchange (fix21k) stops at
the first such row, so the administrator fixes one line per run; the rows Exchange refuses are reported together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration

HEADER = "email,name,sync_mode,sync_url,conflict_behaviour\n"


@pytest.mark.parametrize("check", ["true", "false"])
def test_persons_import_names_every_row_that_is_a_rooms_room(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path, check: str
) -> None:
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", addr("room-bern"), "--name", "Bern", env=env))
    csv = tmp_path / "persons.csv"
    csv.write_text(HEADER + f"{addr('room-zurich')},,,,\n{addr('DiegoS')},,,,\n{addr('room-bern')},,,,\n")
    fresh_lab.reset_requests()
    run = invoke("persons", "import", str(csv), env={**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": check})
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert changes(fresh_lab) == {}
    assert json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"] == []
    assert "line 2" in line, line
    assert "line 4" in line, line  # the second room row, named in the same run
