"""review27: the connection to PostgreSQL lost inside a sync worker's transaction (a server restart, a failover, an
administrator's pg_terminate_backend). Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py,
the worker's CLI; the loss is made at a chosen statement (the worker's first write transaction ends its own
session), never timed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Invoke, one_line_error

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, setup_persons, sql

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27_a_worker_whose_database_connection_ends_says_so_in_one_line_with_a_remedy_exit_3(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path)
    from roomsops.adapters.store import queries as q

    original = q.installation_id
    ended: list[bool] = []

    def installation_id(conn: Any) -> Any:
        if not ended:  # the worker's first write transaction: its session ends under it
            ended.append(True)
            conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return original(conn)

    monkeypatch.setattr(q, "installation_id", installation_id)
    run = invoke("sync", "--worker", "--batch", "5", env=env)
    assert ended, run.out + run.err
    line = one_line_error(run)
    live = sql(env, "SELECT count(*) FROM mailbox_sync WHERE lease_until_utc > now() AT TIME ZONE 'UTC'")
    assert live == [(0,)], (live, line)  # nothing left leased
    assert " — " in line, line  # actual: "... terminating connection due to administrator command", no remedy
    assert run.code == 3, (run.code, line)  # actual: 1
