"""review21c: the move of the default database from the working folder to the data folder (issue 21.9) on an
installation that already has one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke, ok


def test_a_database_left_in_the_working_folder_is_not_silently_replaced(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before issue 21, without a settings file `rooms.database = "sqlite:///rooms.db"` was ./rooms.db: a
    scheduled task started in C:\\ROOMS\\sync kept its database (persons, rooms, bookings, the installation id)
    there. After the upgrade the same task, same folder, opens a new empty database in the data folder: `persons
    list` says "no persons", exit 0, and `sync` has nothing to do and reports success — ROOMS' bookings silently
    stop reaching Exchange. A rooms.db in the working folder where the data folder has none must at least be
    named (warned about, or refused with the remedy to move it or set rooms.database)."""
    work = tmp_path / "ROOMS-sync"
    work.mkdir()
    monkeypatch.chdir(work)
    old = {"ROOMSOPS_ROOMS_DATABASE": f"sqlite:///{work / 'rooms.db'}"}  # what ./rooms.db was before
    ok(invoke("persons", "add", "diego@contoso.com", "--no-check", env=old))
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(tmp_path / "machine"))

    run = invoke("--json", "persons", "list")
    persons = json.loads(run.out).get("persons", []) if run.out.strip() else []
    named = str(work / "rooms.db") in run.err or "rooms.db" in run.err
    assert persons or named or run.code == 2, (run.code, run.out, run.err)
