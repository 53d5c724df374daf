"""review27s: two installations in one PostgreSQL database, each in a schema of its own (rooms.database's
`options=-csearch_path=...`, a layout the run lock supports: it is keyed per schema), whose settings share a data
folder (two settings files in one folder: production and test). Their summary files are named by a digest of server,
port and database name only, not the schema: `sync status` of the installation that never ran reports the other's
run as its own (exit 0, a monitor sees a healthy sync that does not exist). The named workers' name locks sit
beside those files too, so a worker `--name a` of one installation refuses `--name a` of the other.

Real parts: the PostgreSQL server of tests/postgres.py (two schemas of the test's database), the lab's settings, the
CLI in-process; a plain sync over an installation without persons sends nothing to Exchange."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests import postgres
from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
ON_POSTGRESQL = pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)


@pytest.fixture
def other_schema(postgres_database: URL) -> Iterator[str]:
    name, url = postgres.create_schema(postgres_database)
    try:
        yield url
    finally:
        postgres.drop_schema(postgres_database, name)


@ON_POSTGRESQL
def test_review27s_sync_status_of_an_installation_in_another_schema_is_not_the_others_run(
    invoke: Invoke, env: dict[str, str], other_schema: str, tmp_path: Path
) -> None:
    # The default place of the summary files: the data folder both settings share (no sync.summary_file).
    env = {k: v for k, v in env.items() if k != "ROOMSOPS_SYNC_SUMMARY_FILE"}
    env |= {"ROOMSOPS_DATA_DIR": str(tmp_path / "data")}
    ok(invoke("sync", env=env))  # production (the test's schema): a plain sync, no persons, ok
    mine = invoke("--json", "sync", "status", env=env)
    assert mine.code == 0, (mine.out, mine.err)
    ok(
        invoke("persons", "list", env=env | {"ROOMSOPS_ROOMS_DATABASE": other_schema})
    )  # the test installation
    other = invoke("--json", "sync", "status", env=env | {"ROOMSOPS_ROOMS_DATABASE": other_schema})
    doc = json.loads(other.out)
    # actual: exit 0, "ok", the production run's summary file (it never ran a sync)
    assert other.code == 1, (other.code, doc)
    assert json.loads(mine.out)["runs"][0]["file"] != doc["runs"][0]["file"], doc
