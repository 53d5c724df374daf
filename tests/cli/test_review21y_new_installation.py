"""review21y: fix21x made the commands that need the database refuse on a new installation with one code,
no_database ("there is no ROOMS database at …; nothing was created", exit 2), because settings that lead to no
database are most often a scheduled task or a service account that misses the real one (review21w; issue 21,
Deliver 3, 6 and 9: nothing created when a command fails on configuration; every remedy points at a command that
works for that situation). Some commands were left out:

* `sync migrate --to graph --all` — a command an administrator runs once, by hand or from a runbook — creates
  rooms.db, rooms.db.installation-id and rooms.db.sync.lock and reports `"ok": true` with no person, exit 0: the
  real installation's persons were not migrated and nothing says so.
* `sync purge --person`, `sync resume --person`, `sync migrate --person` say "not a known person" and send the
  administrator to `roomsops persons list`, which then refuses with no_database; `db adopt-id --use database` and
  `--use remembered` each send to the other, both refused (a circle). The administrator expects the one no_database
  refusal (the settings lead to no database), as from `sync`, `persons list` and `sync diff`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke

PERSON = "DiegoS@contoso.com"


def _made(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("rooms.db"))


def test_sync_migrate_all_where_no_database_is_is_refused_and_creates_nothing(
    invoke: Invoke, tmp_path: Path, app_settings: Path
) -> None:
    assert invoke("sync", "diff").code == 2  # as fix21x made it: refused, nothing created
    run = invoke("--json", "sync", "migrate", "--to", "graph", "--all")
    assert _made(tmp_path) == [], run.out + run.err
    assert run.code == 2, run.out + run.err
    assert json.loads(run.out)["error"]["code"] == "no_database", run.out


@pytest.mark.parametrize(
    "command",
    [
        ("sync", "purge", "--person", PERSON, "--yes"),
        ("sync", "resume", "--person", PERSON),
        ("sync", "migrate", "--to", "graph", "--person", PERSON),
        ("db", "adopt-id", "--use", "database", "--yes"),
        ("db", "adopt-id", "--use", "remembered", "--yes"),
    ],
    ids=["purge", "resume", "migrate-person", "adopt-database", "adopt-remembered"],
)
def test_a_command_on_a_new_installation_says_there_is_no_database(
    invoke: Invoke, tmp_path: Path, app_settings: Path, command: tuple[str, ...]
) -> None:
    listing = invoke("--json", "persons", "list")
    assert json.loads(listing.out)["error"]["code"] == "no_database", listing.out  # where the remedies lead
    run = invoke("--json", *command)
    assert run.code == 2, run.out + run.err
    assert _made(tmp_path) == [], run.out + run.err
    assert json.loads(run.out)["error"]["code"] == "no_database", run.out
