"""bench27g: a sync worker gives each mailbox's lease back as soon as that mailbox's pass is done, not when its
whole batch is done, so a worker killed midway leaves only the leases of the mailboxes it had not finished to
expire (issue 27, acceptance: a killed worker's mailboxes are taken over within the lease time).

Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py, the worker in this process (its calendar
writes observed where they are fenced)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, meetings, setup_persons, sql

pytestmark = pytest.mark.integration

RELEASED = (
    "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NULL AND next_run_utc > now() AT TIME ZONE 'UTC'"
)
HELD = "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL"


@ON_POSTGRESQL
def test_bench27g_a_workers_mailbox_is_given_back_when_its_pass_is_done_not_with_the_batch(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from roomsops.services.sync.fence import Fence

    people = setup_persons(invoke, env, fresh_lab, addr, 4, tmp_path)
    seen: list[tuple[int, int]] = []  # (released, held) when each meeting create is about to be sent
    original = Fence.verify

    def verify(self: Fence, store: Any, mailbox: str, now: Any = None) -> None:
        seen.append((sql(env, RELEASED)[0][0], sql(env, HELD)[0][0]))
        original(self, store, mailbox, now)

    monkeypatch.setattr(Fence, "verify", verify)
    # One batch of 4, one mailbox at a time: each mailbox's create is its pass's last write.
    run = invoke("--json", "sync", "--worker", "--batch", "4", "--concurrency", "1", env=env)
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    assert doc["claimed"] == 4 and doc["lease_lost"] == [], doc
    assert sorted(m["mailbox"].lower() for m in doc["mailboxes"]) == sorted(people), doc
    # Before the n-th create, the n-1 mailboxes done were given back already (due after sync.worker_interval);
    # a SIGKILL there would leave only the others' leases to expire.
    assert seen == [(0, 4), (1, 3), (2, 2), (3, 1)], seen
    assert sql(env, RELEASED) == [(4,)] and sql(env, HELD) == [(0,)]
    for i, person in enumerate(people):
        assert meetings(fresh_lab, person) == [f"Meeting {i}"]
