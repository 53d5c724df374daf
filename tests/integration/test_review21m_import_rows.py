"""review21m: `persons import` still reports its bad rows in rounds (issue 21, Deliver 12: CSV import reports every
bad row, with line, column and reason). fix21l names every row that is a ROOMS room in one error, but a file with a
bad value on one row and a room on another names only the bad value ('1 problem(s)'); once that is corrected, the
next run names the room row; once that is corrected, the next names the rows Exchange refuses (no such mailbox).
The administrator corrects the file once per kind of problem, told each time that it has only these."""

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
def test_persons_import_names_a_room_row_with_a_bad_value_row(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path, check: str
) -> None:
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    csv = tmp_path / "persons.csv"
    csv.write_text(HEADER + f"{addr('room-zurich')},,,,\n{addr('DiegoS')},,Bogus,,\n")
    fresh_lab.reset_requests()
    run = invoke("persons", "import", str(csv), env={**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": check})
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert changes(fresh_lab) == {}
    assert json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"] == []
    assert "line 3" in line, line  # the bad sync mode
    assert "line 2" in line, line  # the room, named in the same run


def test_persons_import_names_a_room_row_with_a_row_exchange_refuses(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    csv = tmp_path / "persons.csv"
    csv.write_text(HEADER + f"{addr('room-zurich')},,,,\n{addr('DiegoSS')},,,,\n")
    fresh_lab.reset_requests()
    run = invoke("persons", "import", str(csv), env={**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"})
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert changes(fresh_lab) == {}
    assert json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"] == []
    assert "line 2" in line, line  # the room
    assert "line 3" in line, line  # no mailbox has DiegoSS@, named in the same run
