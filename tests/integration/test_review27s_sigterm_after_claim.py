"""review27s: a sync worker stopped by SIGTERM right after its claim committed (systemd stopping the unit, a
CronJob's deadline: the signal comes at any point) keeps its leases: they are claimed and committed, but the
interruption lands before the batch's fence exists, outside the `try` that gives an interrupted batch's leases back,
so the batch's mailboxes wait `sync.worker_lease` (600 s) for another worker. README: "A worker stopped by SIGTERM
or Ctrl-C gives its leases back, due at once". Nothing is duplicated: it is the promised take-over that is lost.

Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py, the worker's CLI in-process receiving a
real SIGTERM at a chosen point (the claim's commit returned; the batch's fence not made yet), never timed."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, setup_persons, sql

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27s_a_worker_terminated_right_after_its_claim_gives_the_leases_back(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from roomsops.services.sync import worker

    setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path)
    real = worker.Fence
    signalled: list[bool] = []

    def fence(*args: Any, **kwargs: Any) -> Any:
        if not signalled:  # the claim committed; SIGTERM arrives now (its handler raises in this thread)
            signalled.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(worker, "Fence", fence)
    run = invoke("sync", "--worker", "--batch", "5", env=env)
    assert signalled and run.code != 0, (run.code, run.out, run.err)
    claimed = sql(
        env, "SELECT count(*) FROM mailbox_sync WHERE lease_owner IS NOT NULL OR next_run_utc IS NOT NULL"
    )
    assert claimed != [(0,)], claimed  # the claim was committed before the signal
    live = sql(env, "SELECT count(*) FROM mailbox_sync WHERE lease_until_utc > now() AT TIME ZONE 'UTC'")
    assert live == [(0,)], live  # actual: [(2,)]: both leases live for sync.worker_lease
