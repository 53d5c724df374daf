"""review27s: commands other than a plain sync that take the sync's run lock (`sync purge`, `db copy`), refused
beside running sync workers, say "a plain sync does not run beside them": the refusal was written for `roomsops
sync` (`lock._held_in`) and names the wrong command to an administrator who ran neither.

Real parts: the lab over TLS (its Graph gate holds the worker's create: provably mid-batch, not timed), the
PostgreSQL server of tests/postgres.py, the worker as a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests import postgres
from tests.conftest import Invoke, one_line_error

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, finished, graph_throttle, setup_persons, start_worker, until

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27s_purge_and_copy_beside_running_workers_name_themselves(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    postgres_database: URL,
) -> None:  # fmt: skip
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    people = setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    name, target = postgres.create_schema(postgres_database)
    worker = start_worker(env, "--batch", "1")
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, worker)  # the worker mid-batch
        purge = invoke("sync", "purge", "--person", people[1], "--yes", env=env)
        copy = invoke("db", "copy", "--to", target, env=env)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        finished(worker)
        postgres.drop_schema(postgres_database, name)
    lines = [one_line_error(purge), one_line_error(copy)]
    assert (purge.code, copy.code) == (1, 1), lines
    # actual: "sync workers ('roomsops sync --worker') are running on this database (...); a plain sync does not
    # run beside them — ..."
    assert not [line for line in lines if "plain sync" in line], lines
