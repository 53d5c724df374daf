"""review21f: the sync lock beside the database as a symbolic link (fix21f made a folder, named pipe or device
there exit 2 naming it; README: rooms.db's files "may be symbolic links (e.g. into a backed-up folder)")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize("kind", ["dangling_into_a_missing_folder", "loop"])
def test_a_sync_lock_link_that_cannot_be_reached_is_exit_2_naming_it(
    invoke: Invoke, app_settings: Path, tmp_path: Path, kind: str
) -> None:
    """Steps: rooms.db.sync.lock is a symbolic link that cannot be reached — into a folder that is gone (the
    backed-up share it pointed at was removed), or a link loop; then `roomsops sync` (no persons: no connection
    needed).
    Expected (fix21f: anything but a regular file where the lock goes is exit 2 naming it with the remedy "remove
    it: roomsops creates it afresh"; README exit codes: 2 configuration, "nothing was changed"; issue 21.7:
    configuration errors → 2; the summary file's link of the same kind is exit 2 naming the link): exit 2, one
    line naming the lock file and how to fix it.
    Actual: exit 1, "Error: unexpected FileNotFoundError: [Errno 2] No such file or directory: '.../rooms.db.sync.lock'
    — run again with --debug for the traceback, and report it" (a loop: "unexpected OSError: [Errno 40] Too many
    levels of symbolic links"): the scheduler sees "ran but failed", and the remedy asks for a bug report."""
    assert (
        invoke(
            "--app-settings", str(app_settings), "persons", "add", "diego@contoso.com", "--sync-mode", "None"
        ).code
        == 0
    )  # a database (a person roomsops does not sync: no connection)
    lock = tmp_path / "rooms.db.sync.lock"
    if kind == "loop":
        lock.symlink_to(lock.name)
    else:
        lock.symlink_to(tmp_path / "share" / "rooms.db.sync.lock")
    run = invoke("--app-settings", str(app_settings), "sync")
    line = one_line_error(run)
    assert run.code == 2 and "unexpected" not in line and str(lock) in line, (run.code, line)


def test_a_refused_command_leaves_no_lock_file_made_through_a_dangling_link(
    invoke: Invoke, tmp_path: Path
) -> None:
    """Steps: rooms.db.sync.lock is a symbolic link to locks/rooms.db.sync.lock, which does not exist yet (the folder
    does); `roomsops sync resume --person x@example.com` is refused (exit 2: RoomsAppSettings.config does not
    exist) after taking the lock.
    Expected (README: "a command that fails on its configuration, or is refused (exit 2), creates nothing"; fix21d:
    "a refused command ... leaves no sync lock file"; without the link the lock file made is removed again): no new
    file in locks/.
    Actual: locks/rooms.db.sync.lock is left behind (holding the refused run's pid): run_lock takes a dangling link
    for an existing lock file, so it does not remove the file it created at the link's target."""
    (tmp_path / "locks").mkdir()
    (tmp_path / "rooms.db.sync.lock").symlink_to(tmp_path / "locks" / "rooms.db.sync.lock")
    run = invoke("sync", "resume", "--person", "x@example.com")
    assert run.code == 2, (run.code, run.err)
    assert list((tmp_path / "locks").iterdir()) == [], run.err
