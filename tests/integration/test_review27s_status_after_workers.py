"""review27s: `sync status` on an installation synced by sync workers without `--name`, once they have finished (the
usual state between two CronJob runs) says "no full run recorded ...: run 'roomsops sync' (and schedule it)": the
remedy schedules a plain sync on a database its workers sync (README: "use one or the other on a database"; a plain
sync is refused beside their leases and refuses them while it runs). review27 fixed this only while a worker runs.
The database knows the workers ran (their queue: every mailbox's next run set); the remedy to give is --name.

Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py, the worker's CLI in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, in_process_worker, setup_persons

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27s_sync_status_after_unnamed_workers_does_not_ask_for_a_plain_sync(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path)
    code, doc = in_process_worker(invoke, env)
    assert code == 0 and doc["mailboxes"], doc
    status = invoke("sync", "status", env=env)
    assert status.code == 1, (status.out, status.err)  # nothing it can judge: not "ok"
    # actual: "last full run: no full run recorded in …/last-sync.json: run 'roomsops sync' (and schedule it)"
    assert "'roomsops sync'" not in status.out and "--name" in status.out, status.out
