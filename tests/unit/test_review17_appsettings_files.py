"""Review of issue 17: RoomsAppSettings.config and its edit lock as a FIFO, a device, a loop of links, or a
link planted by whoever may write the folder.

Before the fixes: a FIFO hung `config show`/`set`/`check` for ever; a loop of links crashed `config set`
('unexpected RuntimeError', exit 1); a link planted as RoomsAppSettings.config.lock made roomsops create (or
open) the file it pointed at, as the user running it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from roomsops.adapters.appsettings.document import read_document
from roomsops.adapters.appsettings.lock import edit_lock, lock_path
from roomsops.core.errors import InputError
from tests.conftest import SAMPLE, Invoke, one_line_error

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices and POSIX symlinks")


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# --- RoomsAppSettings.config -----------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize(
    "args", [("config", "show"), ("config", "set", "K", "v", "--force"), ("config", "check")]
)
def test_a_fifo_as_the_config_file_is_exit_2_not_a_hang(
    invoke: Invoke, tmp_path: Path, args: tuple[str]
) -> None:
    """Before: open() of the FIFO waited for a writer, for ever (the command never returned)."""
    fifo = _fifo(tmp_path / "RoomsAppSettings.config")
    run = invoke("--app-settings", str(fifo), *args)
    assert run.code == 2
    assert one_line_error(run) == (
        f"Error: {fifo} is not a regular file — point --app-settings at ROOMS' RoomsAppSettings.config"
    )


@posix_only
def test_a_device_as_the_config_file_is_refused_unread() -> None:
    with pytest.raises(InputError, match="is not a regular file"):
        read_document(Path("/dev/zero"))


@posix_only
def test_a_loop_of_links_as_the_config_file_is_exit_2_not_an_internal_error(
    invoke: Invoke, tmp_path: Path
) -> None:
    """Before: `config set` crashed with 'unexpected RuntimeError: Symlink loop', exit 1."""
    (tmp_path / "a.config").symlink_to(tmp_path / "b.config")
    (tmp_path / "b.config").symlink_to(tmp_path / "a.config")
    for args in (
        ("config", "set", "K", "v", "--force"),
        ("config", "unset", "K", "--force"),
        ("config", "show"),
    ):
        run = invoke("--app-settings", str(tmp_path / "a.config"), *args)
        assert run.code == 2, run.err
        assert "unexpected" not in one_line_error(run)


@posix_only
def test_the_edit_lock_never_follows_a_planted_link(
    invoke: Invoke, app_settings: Path, tmp_path: Path
) -> None:
    """Before: a link planted as RoomsAppSettings.config.lock made roomsops create the file it named (as the
    user running it: root or an administrator), e.g. /etc/nologin, and left it there."""
    elsewhere = tmp_path / "elsewhere" / "nologin"
    elsewhere.parent.mkdir()
    lock_path(app_settings).symlink_to(elsewhere)
    run = invoke("--app-settings", str(app_settings), "config", "set", "K", "v", "--force")
    assert run.code == 2
    assert "is a symbolic link (roomsops never makes one)" in one_line_error(run)
    assert not elsewhere.exists()
    assert app_settings.read_bytes() == SAMPLE


@posix_only
def test_a_fifo_as_the_edit_lock_is_refused_not_waited_on(app_settings: Path) -> None:
    _fifo(lock_path(app_settings))
    with pytest.raises(InputError, match="is not a regular file"), edit_lock(app_settings, wait_seconds=0):
        pass


def test_a_lock_left_by_a_killed_command_does_not_stop_the_next_edit(
    invoke: Invoke, app_settings: Path
) -> None:
    """The OS released the dead holder's lock; its empty file is taken over at once and removed."""
    lock_path(app_settings).write_bytes(b"")
    run = invoke("--app-settings", str(app_settings), "config", "set", "K", "v", "--force")
    assert run.code == 0, run.err
    assert not lock_path(app_settings).exists()
