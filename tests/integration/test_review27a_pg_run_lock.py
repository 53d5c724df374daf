"""review27a: the sync's run lock and summary file when rooms.database is a PostgreSQL server (issue 27 item 1).

For a server database `cli.sync.lock_path` is a file in this machine's temp folder named by a hash of the URL's
text, and `summary_path` puts `roomsops-last-sync.json` beside it: in the temp folder, one name for every server
database. So (a) two spellings of one database's URL get two locks and two `sync` runs on that database overlap
(product.md: "Two `sync` runs on one database never overlap (a lock; the second exits 1 saying who holds it)"),
and (b) every PostgreSQL installation on the machine shares one world-writable summary file, so `sync status` of
one reads another's run (product.md: "a last-run summary file that monitoring can read")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, ok

PERSON = "diego@contoso.com"


def _settings(url: str) -> object:
    from roomsops.core.settings import load_settings

    return load_settings(None, environ={"ROOMSOPS_ROOMS_DATABASE": url})


@pytest.mark.xfail(
    strict=True,
    reason="on PostgreSQL the sync run lock is a temp-folder file keyed by the URL's text: another spelling of "
    "the same database's URL (here one more connect_timeout parameter) is not locked out",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="on PostgreSQL the default sync summary file is <tempdir>/roomsops-last-sync.json for every server "
    "database: installations on one machine share (and overwrite) one summary in a world-writable folder",
)
def test_review27a_two_postgresql_installations_do_not_share_one_summary_file_in_the_temp_folder(
    tmp_path: Path,
) -> None:
    import tempfile

    from roomsops.cli.sync import summary_path

    first = summary_path(_settings("postgresql+psycopg://roomsops@dbhost/campus"))  # type: ignore[arg-type]
    second = summary_path(_settings("postgresql+psycopg://roomsops@dbhost/hospital"))  # type: ignore[arg-type]
    assert first != second, first
    assert first.parent != Path(tempfile.gettempdir()), first
