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


def test_sync_resolve_refused_on_a_fresh_machine_leaves_no_data_folder(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fix21cb removes the database a refused command created, "with the data folder if that was made for it"
    (README: "a command that fails on its configuration, or is refused (exit 2), creates nothing"). `sync resolve`
    takes the sync lock first (`rooms.db.sync.lock` in the data folder), so after the refusal ("booking 5 has no
    open difference", exit 2) the database is removed but the data folder stays, holding the lock file."""
    machine = tmp_path / "machine"
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    run = invoke("sync", "resolve", "5", "--use", "rooms")
    assert run.code == 2, run.out + run.err
    one_line_error(run)
    assert not machine.exists(), sorted(p.name for p in machine.iterdir())
