"""Issue 17, D12: a damaged, read-only, locked, emptied or swapped database is exit 2 with the remedy,
and the installation id is remembered beside the database so that a re-created one cannot silently take
a new id (every meeting written before would become foreign and never be touched again)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from roomsops.adapters import store as db
from roomsops.adapters.store.db import id_file
from roomsops.core.errors import InputError
from tests.conftest import Invoke, Run

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "rooms.db"


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def made(path: Path) -> str:
    """A database with a person in it; its installation id."""
    store = db.open_store(url(path))
    with store.write() as conn:
        db.insert_person(
            conn, db.PersonFields("diego@contoso.com", "Diego", "O365", None, "Rollback"), db.now_utc()
        )
        installation = db.installation_id(conn)
    store.close()  # the last connection checkpoints the WAL into the file
    return installation


@pytest.fixture
def cli_db(
    tmp_path: Path, settings_file: Callable[[str], Path], invoke: Invoke
) -> Iterator[Callable[..., Run]]:
    settings = settings_file(f'[rooms]\ndatabase = "sqlite:///{tmp_path / "rooms.db"}"\n')

    def run(*args: str) -> Run:
        return invoke("--settings", str(settings), *args)

    yield run


# --- the installation id --------------------------------------------------------------------------------


def test_a_new_database_remembers_its_id_beside_it_owner_only(path: Path) -> None:
    installation = made(path)
    assert id_file(path) == path.with_name("rooms.db.installation-id")
    assert id_file(path).read_text() == installation + "\n"
    if sys.platform != "win32":
        assert stat.S_IMODE(id_file(path).stat().st_mode) == 0o600
    db.open_store(url(path)).close()  # agrees: opens


@posix_only
def test_a_new_database_is_created_owner_only(path: Path) -> None:
    """Before: rooms.db (and its -wal, -shm) were created with the umask's 0644."""
    old = os.umask(0o022)
    try:
        store = db.open_store(url(path))
        with store.write() as conn:
            db.insert_room(conn, "eiger@contoso.com", "Eiger", False, db.now_utc())
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.glob("rooms.db*")}
        store.close()
    finally:
        os.umask(old)
    assert modes == {
        name: 0o600 for name in ("rooms.db", "rooms.db-wal", "rooms.db-shm", "rooms.db.installation-id")
    }


def test_an_emptied_database_is_refused_not_recreated_with_a_new_id(path: Path) -> None:
    """Before: a 0-byte rooms.db was silently re-created with a new installation id."""
    installation = made(path)
    path.write_bytes(b"")
    with pytest.raises(InputError) as caught:
        db.open_store(url(path))
    assert caught.value.code == "database_missing"
    assert caught.value.one_line() == (
        f"the database {path} is empty (0 bytes), but this installation's id {installation} is remembered in "
        "rooms.db.installation-id: the meetings the sync wrote carry it, and a new database would treat them "
        "as foreign for ever — restore it from a backup (with roomsops stopped), or point rooms.database at it; "
        "to start an empty database that keeps this id, run `roomsops db adopt-id --use remembered`"
    )
    assert path.read_bytes() == b""


def test_a_deleted_database_is_refused_while_its_id_is_remembered(path: Path) -> None:
    made(path)
    path.unlink()
    with pytest.raises(InputError, match="does not exist, but this installation's id"):
        db.open_store(url(path))
    assert not path.exists()


def test_a_replaced_database_is_refused_naming_both_ids(path: Path, tmp_path: Path) -> None:
    installation = made(path)
    (tmp_path / "other").mkdir()
    other = made(tmp_path / "other" / "rooms.db")
    (tmp_path / "other" / "rooms.db").replace(path)
    with pytest.raises(db.InstallationIdChanged) as caught:
        db.open_store(url(path))
    assert caught.value.exit_code == 2
    assert caught.value.one_line().startswith(
        f"the database {path} has installation id {other}, but {installation} is remembered in "
        "rooms.db.installation-id: the database was re-created or replaced"
    )
    assert "roomsops db adopt-id --use remembered" in caught.value.one_line()


def test_a_database_from_before_the_id_file_gets_one(path: Path) -> None:
    installation = made(path)
    id_file(path).unlink()
    db.open_store(url(path)).close()
    assert id_file(path).read_text().strip() == installation


def test_adopt_remembered_recreates_an_emptied_database_with_the_old_id(
    path: Path, cli_db: Callable[..., Run]
) -> None:
    installation = made(path)
    path.write_bytes(b"")
    run = cli_db("db", "adopt-id", "--use", "remembered")
    assert run.code == 2  # destructive: needs --yes without a terminal
    assert path.read_bytes() == b""
    run = cli_db("--json", "db", "adopt-id", "--use", "remembered", "--yes")
    assert run.code == 0, run.err
    assert json.loads(run.out) == {
        "database": str(path),
        "action": "adopted",
        "installation_id": installation,
        "previous": None,
        "ok": True,
    }
    store = db.open_store(url(path))
    with store.read() as conn:
        assert db.installation_id(conn) == installation
        assert db.list_persons(conn) == []
    store.close()


@pytest.mark.parametrize("use", ["remembered", "database"])
def test_adopt_settles_a_replaced_database_either_way(
    path: Path, tmp_path: Path, cli_db: Callable[..., Run], use: str
) -> None:
    installation = made(path)
    (tmp_path / "other").mkdir()
    other = made(tmp_path / "other" / "rooms.db")
    (tmp_path / "other" / "rooms.db").replace(path)
    run = cli_db("db", "adopt-id", "--use", use, "--yes")
    assert run.code == 0, run.err
    kept, dropped = (installation, other) if use == "remembered" else (other, installation)
    assert run.out == (
        f"{path}: installation id {kept} (adopted)\n"
        f"  meetings tagged with {dropped} are foreign to this installation from now on\n"
    )
    store = db.open_store(url(path))
    with store.read() as conn:
        assert db.installation_id(conn) == kept
        assert [p.email for p in db.list_persons(conn)] == ["diego@contoso.com"]  # the data stays
    store.close()
    assert id_file(path).read_text().strip() == kept
    again = cli_db("db", "adopt-id", "--use", use)
    assert (again.code, again.out) == (0, f"{path}: installation id {kept} (unchanged)\n")


def test_adopt_database_needs_a_database(path: Path, cli_db: Callable[..., Run]) -> None:
    made(path)
    path.write_bytes(b"")
    run = cli_db("db", "adopt-id", "--use", "database", "--yes")
    assert run.code == 2
    assert run.err.startswith(f"Error: the database {path} has no installation id to keep")


# --- faults: exit 2 with the remedy -------------------------------------------------------------------------


def test_a_damaged_database_is_exit_2_with_the_remedy(path: Path, cli_db: Callable[..., Run]) -> None:
    """Before: 'database error in …: database disk image is malformed', exit 1, no remedy."""
    made(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\x5a" * (4096 - 100)  # page 1 after the header: the schema table
    path.write_bytes(bytes(data))
    run = cli_db("persons", "list")
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith(f"Error: the database {path} is damaged (")
    assert run.err.endswith(
        f"— restore it from a backup (with roomsops stopped); `sqlite3 {path} .recover` can save what is left "
        "into a new file\n"
    )


def test_a_read_only_database_is_exit_2_with_the_remedy(path: Path) -> None:
    """Before: 'database error in …: attempt to write a readonly database', exit 1, no remedy."""
    made(path)
    store = db.open_store(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with pytest.raises(InputError) as caught, store.write() as conn:
            db.insert_room(conn, "eiger@contoso.com", "Eiger", False, db.now_utc())
    finally:
        store.close()
    assert caught.value.code == "database_read_only"
    assert "give the account that runs roomsops write access to" in caught.value.one_line()


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file cannot be written by this account: mode 0444, or for root (who ignores modes) immutable."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield
        return
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@posix_only
def test_a_read_only_database_file_is_exit_2(path: Path, cli_db: Callable[..., Run]) -> None:
    made(path)
    before = path.read_bytes()
    with read_only(path):
        run = cli_db("rooms", "add", "eiger@contoso.com", "--name", "Eiger")
    assert path.read_bytes() == before
    assert run.code == 2
    assert "is read-only for this account" in run.err


def test_a_locked_database_is_exit_2_with_the_remedy(path: Path) -> None:
    """Another program holds the whole file (an exclusive-mode sqlite3 shell): nothing can be read."""
    made(path)
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE installation SET slot = 1")
        with pytest.raises(InputError) as caught:
            db.open_store(url(path), busy_timeout_ms=50)
        holder.execute("ROLLBACK")
    assert caught.value.code == "database_locked"
    assert caught.value.one_line() == (
        f"the database {path} is locked by another program — close what holds it (a sqlite3 shell, a backup "
        "or copy tool, another roomsops command), then run the command again"
    )
