"""review27s: a named sync worker retired for good (workers scaled down from 4 to 2, a host decommissioned) leaves its
summary file, and from then on `sync status --max-age` fails (exit 1) for ever: "worker a started … ago, longer than
--max-age (60 min): is it still scheduled?". Neither the line nor README ("Scaling out") says how to retire a worker's
name (its summary file `….worker-NAME.json`, which only the administrator can remove): the monitor pages on every
check after an intended scale-down.

Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py, the workers' CLI in-process; the retired
worker's last run is made old by rewriting its summary's start (not by waiting)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, setup_persons, sql

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27s_sync_status_says_how_to_retire_a_worker_name(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path)
    assert invoke("sync", "--worker", "--until-idle", "--name", "a", env=env).code == 0
    [retired] = tmp_path.glob("*.worker-a.json")
    doc = json.loads(retired.read_text())
    retired.write_text(json.dumps(doc | {"started": "2026-01-01T00:00:00+00:00"}))  # its last run, long ago
    sql(env, "UPDATE mailbox_sync SET next_run_utc = now() AT TIME ZONE 'UTC' - interval '1 second'")
    assert invoke("sync", "--worker", "--until-idle", "--name", "b", env=env).code == 0  # the one kept
    status = invoke("sync", "status", "--max-age", "1h", env=env)
    assert status.code == 1, status.out
    [line] = [line for line in status.out.splitlines() if line.startswith("sync workers:")]
    # actual: "sync workers: worker a started … min ago, longer than --max-age (60 min): is it still scheduled?"
    assert retired.name in line, line
