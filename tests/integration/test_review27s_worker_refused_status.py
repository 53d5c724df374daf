"""review27s: a named sync worker refused before it starts (a bad setting: sync.worker_lease lowered below twice a
write's longest time, exit 2) leaves its summary file as it was: `sync status` goes on reporting the worker's last
success (exit 0) while every scheduled run of it is refused. A plain `sync` refused so writes "ok": false into its
existing summary (`_refused_before_starting`: "so that `sync status` does not report the last success"); a worker
does not.

Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py, the worker's CLI in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, setup_persons

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27s_a_named_worker_refused_before_starting_is_not_reported_ok(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path)
    assert invoke("sync", "--worker", "--until-idle", "--name", "a", env=env).code == 0
    assert invoke("sync", "status", env=env).code == 0  # its last run: ok
    refused = invoke(
        "sync", "--worker", "--until-idle", "--name", "a", env=env | {"ROOMSOPS_SYNC_WORKER_LEASE": "60"}
    )
    assert refused.code == 2 and "worker_lease" in one_line_error(refused), refused.err
    status = invoke("sync", "status", env=env)
    assert status.code == 1, status.out  # actual: 0, "worker a  ok" (the run before the refusal)
