"""review21d: fix21cb's "a command refused with exit 2 removes the database it created" (adapters/store/fresh.py)
must remove only what the command created: `discard_if_unused` unlinks the database *path*, so where the
administrator made rooms.db a symbolic link to the database's real place (another disk, a share kept by the
backup), a refused command deletes the administrator's link and leaves the database it made at the link's
target. The next command then makes a new rooms.db beside the link's old place: the data silently moves off the
disk the administrator chose, and a database with an installation id nobody remembers is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize(
    "args",
    [("persons", "remove", "nobody@contoso.com", "--yes"), ("bookings", "cancel", "5", "--yes")],
    ids=["remove-unknown", "cancel-unknown"],
)
def test_a_refused_command_keeps_the_administrators_link_to_the_database(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    machine = tmp_path / "machine"
    storage = tmp_path / "storage"  # e.g. a second disk mounted for the data
    machine.mkdir()
    storage.mkdir()
    link = machine / "rooms.db"
    link.symlink_to(storage / "rooms.db")  # the database is made there on first use
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    run = invoke(*args)
    assert run.code == 2, run.out + run.err
    one_line_error(run)
    assert link.is_symlink(), "the refused command deleted the administrator's link rooms.db"
    assert sorted(p.name for p in storage.iterdir()) == [], "a database was left at the link's target"
