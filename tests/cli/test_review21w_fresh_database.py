"""review21w: fix21u made read-only listings refuse where no database is (no_database), but two commands that only
read the ROOMS database still create a new, empty one (rooms.db and a new installation id) on a fresh installation:

- `policy restrict --from-persons` refused exit 2 ("--from-persons found no mailbox", or `powershell.host is not
  set` when --member is given too) leaves rooms.db and rooms.db.installation-id behind: the refusal is raised
  after the database's `with` block, where open_database no longer removes what it made. "Nothing was changed"
  is not true, and a later command with the right settings is not warned (Deliver 1 and 9: nothing created when
  a command fails on configuration).
- `persons check` (no address) answers "no persons to check", exit 0, and creates the database, where
  `persons list` now refuses exit 2 no_database: a monitor running it with settings that do not lead to the real
  database (Task Scheduler without ROOMSOPS_SETTINGS) sees a healthy, empty installation (Deliver 3 and 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke

ADMIN_APP = "33333333-3333-3333-3333-333333333333"


def _database_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("rooms.db"))


@pytest.mark.parametrize(
    "extra",
    [(), ("--member", "DiegoS@contoso.onmicrosoft.com", "--dry-run")],
    ids=["no-mailbox", "powershell-host-unset"],
)
def test_a_refused_from_persons_creates_no_database(
    invoke: Invoke, tmp_path: Path, app_settings: Path, extra: tuple[str, ...]
) -> None:
    run = invoke("policy", "restrict", "--from-persons", "--app-id", ADMIN_APP, *extra)
    assert run.code == 2, run.out + run.err
    assert _database_files(tmp_path) == [], run.err


def test_persons_check_creates_no_database(invoke: Invoke, tmp_path: Path, app_settings: Path) -> None:
    run = invoke("persons", "check")
    assert _database_files(tmp_path) == [], run.out + run.err
    assert run.code == 2, run.out + run.err
