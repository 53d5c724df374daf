"""Review of issue 17: the database and its installation-id file as a FIFO, a device, a folder or huge.

Before the fixes: a FIFO as rooms.db.installation-id hung every command that opens the database for ever; a
link to /dev/zero was read until MemoryError ('unexpected', exit 1), a big file was read whole; a FIFO as
rooms.db was 'disk I/O error', exit 1, without a remedy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters import store as db
from roomsops.adapters.store.db import id_file
from roomsops.core.errors import InputError
from tests.conftest import Invoke, Run, one_line_error

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices and POSIX symlinks")


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# --- the database and its installation-id file --------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Path, settings_file: Callable[[str], Path], invoke: Invoke) -> Callable[..., Run]:
    settings = settings_file(f'[rooms]\ndatabase = "sqlite:///{tmp_path / "rooms.db"}"\n')
    return lambda *args: invoke("--settings", str(settings), *args)


def _made(path: Path) -> None:
    db.open_store(f"sqlite:///{path}").close()
    assert id_file(path).exists()


@posix_only
@pytest.mark.parametrize("planted", ["fifo", "dev-zero", "folder"])
def test_a_hostile_installation_id_file_is_exit_2(
    cli_db: Callable[..., Run], tmp_path: Path, planted: str
) -> None:
    """Before: a FIFO hung every command; a link to /dev/zero read until MemoryError ('unexpected', exit 1)."""
    database = tmp_path / "rooms.db"
    _made(database)
    remembered = id_file(database)
    remembered.unlink()
    if planted == "fifo":
        _fifo(remembered)
    elif planted == "dev-zero":
        remembered.symlink_to("/dev/zero")
    else:
        remembered.mkdir()
    for args in (("rooms", "list"), ("db", "adopt-id", "--use", "database", "--yes")):
        run = cli_db(*args)
        assert run.code == 2
        assert one_line_error(run).startswith(f"Error: {remembered} is not a regular file — ")


def test_a_huge_installation_id_file_is_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "rooms.db"
    _made(database)
    id_file(database).write_bytes(b"x" * 10_000_000)
    read: list[int] = []
    real_fdopen = os.fdopen

    def counting_fdopen(*args: Any, **kwargs: Any) -> Any:
        stream = real_fdopen(*args, **kwargs)
        real_read = stream.read

        def counted(n: int = -1) -> Any:
            read.append(n)
            return real_read(n)

        stream.read = counted
        return stream

    monkeypatch.setattr(os, "fdopen", counting_fdopen)
    with pytest.raises(InputError, match="does not hold an installation id"):
        db.open_store(f"sqlite:///{database}").close()
    assert read and all(0 < n <= 257 for n in read)


@posix_only
def test_a_fifo_as_the_database_is_exit_2_not_a_disk_error(
    cli_db: Callable[..., Run], tmp_path: Path
) -> None:
    """Before: 'database error in …: disk I/O error', exit 1, no remedy."""
    database = _fifo(tmp_path / "rooms.db")
    for args in (("rooms", "list"), ("db", "adopt-id", "--use", "database", "--yes")):
        run = cli_db(*args)
        assert run.code == 2
        assert one_line_error(run).startswith(f"Error: the database {database} is not a regular file — ")
