"""review27a: the sync's run lock and summary file when rooms.database is a PostgreSQL server (issue 27 item 1).

For a server database `cli.sync.lock_path` is a file in this machine's temp folder named by a hash of the URL's
text, and `summary_path` puts `roomsops-last-sync.json` beside it: in the temp folder, one name for every server
database. So (a) two spellings of one database's URL get two locks and two `sync` runs on that database overlap
(product.md: "Two `sync` runs on one database never overlap (a lock; the second exits 1 saying who holds it)"),
and (b) every PostgreSQL installation on the machine shares one world-writable summary file, so `sync status` of
one reads another's run (product.md: "a last-run summary file that monitoring can read")."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.conftest import Invoke, ok

PERSON = "diego@contoso.com"


def _settings(url: str) -> object:
    from roomsops.core.settings import load_settings

    return load_settings(None, environ={"ROOMSOPS_ROOMS_DATABASE": url})


def test_review27a_a_second_spelling_of_the_same_postgresql_database_is_held_by_the_run_lock(
    invoke: Invoke, postgres_url: str
) -> None:
    from roomsops.cli.sync import lock_path
    from roomsops.services.sync.lock import run_lock

    ok(invoke("persons", "add", PERSON, env={"ROOMSOPS_ROOMS_DATABASE": postgres_url}))
    same_database = postgres_url + "&connect_timeout=10"  # the same server, database and schema
    # A sync holds the lock of the database as rooms.database spells it on one host ...
    with run_lock(lock_path(_settings(postgres_url))):  # type: ignore[arg-type]
        # ... and a lock-taking command configured with another spelling (another host's settings file, say)
        # must be refused as a second `sync` is.
        second = invoke("sync", "resume", "--person", PERSON, env={"ROOMSOPS_ROOMS_DATABASE": same_database})
    assert second.code == 1 and "another sync is running" in second.err, (second.code, second.out, second.err)
    # The refusal names the holder, as the file lock's does (from the lock's connection in pg_stat_activity).
    assert f"(pid {os.getpid()} on {socket.gethostname()[:20]}" in second.err, second.err
    ok(
        invoke("sync", "resume", "--person", PERSON, env={"ROOMSOPS_ROOMS_DATABASE": same_database})
    )  # released


def test_fix27a_sync_status_names_the_holder_of_a_postgresql_run_lock_without_taking_it(
    postgres_url: str,
) -> None:
    from roomsops.cli.sync import lock_path
    from roomsops.services.sync.lock import lock_holder, run_lock

    lock = lock_path(_settings(postgres_url))  # type: ignore[arg-type]
    assert lock_holder(lock) is None
    with run_lock(lock):
        holder = lock_holder(lock_path(_settings(postgres_url + "&application_name=probe")))  # type: ignore[arg-type]
        assert holder is not None and holder["pid"] == os.getpid(), holder
        assert holder["host"] == socket.gethostname()[: len(str(holder["host"]))], holder
    assert lock_holder(lock) is None  # released when the run's connection closed


def test_fix27a_an_installation_in_another_schema_of_the_same_database_is_not_held(
    postgres_url: str, postgres_database: URL
) -> None:
    from roomsops.cli.sync import lock_path
    from roomsops.services.sync.lock import LockHeld, run_lock
    from tests import postgres

    name, other = postgres.create_schema(postgres_database)
    try:
        with run_lock(lock_path(_settings(postgres_url))):  # type: ignore[arg-type]
            with run_lock(lock_path(_settings(other))):  # type: ignore[arg-type]
                pass  # another installation: its own lock
            with pytest.raises(LockHeld):  # the same installation (a second connection) is held
                with run_lock(lock_path(_settings(postgres_url))):  # type: ignore[arg-type]
                    pass
    finally:
        postgres.drop_schema(postgres_database, name)


def test_review27a_two_postgresql_installations_do_not_share_one_summary_file_in_the_temp_folder(
    tmp_path: Path,
) -> None:
    import tempfile

    from roomsops.cli.sync import summary_path

    first = summary_path(_settings("postgresql+psycopg://roomsops@dbhost/campus"))  # type: ignore[arg-type]
    second = summary_path(_settings("postgresql+psycopg://roomsops@dbhost/hospital"))  # type: ignore[arg-type]
    assert first != second, first
    assert first.parent != Path(tempfile.gettempdir()), first
    # Another spelling of the same database (a query parameter, the host's case) is the same summary file.
    assert summary_path(_settings("postgresql+psycopg://roomsops@DBHOST/campus?connect_timeout=5")) == first  # type: ignore[arg-type]


@pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
def test_fix27a_the_postgresql_summary_file_is_in_the_data_folder_and_written_owner_only(
    invoke: Invoke, env: dict[str, str], tmp_path: Path
) -> None:
    from roomsops.cli.sync import summary_path

    env = {k: v for k, v in env.items() if k != "ROOMSOPS_SYNC_SUMMARY_FILE"} | {
        "ROOMSOPS_DATA_DIR": str(tmp_path / "data")
    }
    path = summary_path(_settings(env["ROOMSOPS_ROOMS_DATABASE"]))  # type: ignore[arg-type]
    ok(invoke("sync", env=env))
    written = tmp_path / "data" / path.name
    assert written.is_file(), sorted(p.name for p in (tmp_path / "data").iterdir())
    assert written.stat().st_mode & 0o077 == 0, oct(written.stat().st_mode)
    assert ok(invoke("sync", "status", env=env)).out.rstrip().endswith("last full run: ok")
