"""review27: `roomsops sync --worker --until-idle` (what README's timers and CronJobs run every few minutes) over a
round longer than `sync.worker_interval`. Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py.
The interval elapsing mid-round is set by SQL (the first mailbox made due again while the worker reads the second),
never waited for. It is made due at that moment (the database's clock), not a second before: a mailbox this run gave
back is due `sync.worker_interval` after its release, never before the run started (a fast run took less than the
second, so "a second ago" modelled a mailbox due before the run, which the run rightly works)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, sql
from .test_review27d_workers import synced_once

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27_until_idle_works_each_mailbox_once_per_run(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    first, second = synced_once(invoke, env, fresh_lab, addr, 2, tmp_path)
    from roomsops.adapters.ews.backend import EwsCalendar

    reads: list[str] = []
    original = EwsCalendar.changes

    def changes(self: EwsCalendar, read: str, state: str | None) -> Any:
        reads.append(read.lower())
        if read.lower() == second and reads.count(second) == 1:  # the round's second batch: the interval has
            # passed for the first mailbox (a long round), by the database's clock: it is due from this moment,
            # after its release in this run (never before the run started, which no release of this run can be)
            sql(
                env,
                "UPDATE mailbox_sync SET next_run_utc = clock_timestamp() AT TIME ZONE 'UTC' "
                "WHERE mailbox = %s RETURNING mailbox",
                first,
            )
        return original(self, read, state)

    monkeypatch.setattr(EwsCalendar, "changes", changes)
    run = invoke("--json", "sync", "--worker", "--batch", "1", "--until-idle", env=env)
    doc = json.loads(run.out)
    assert run.code == 0 and reads.count(second) == 1, (run.out, reads)
    assert reads.count(first) == 1, (
        reads,
        doc["batches"],
    )  # before the fix: 2 (three batches: first, second, first)
