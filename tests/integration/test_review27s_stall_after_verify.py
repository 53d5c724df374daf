"""review27s: the per-request fence proves the lease in the database right before a write and then sends it; a
worker that stalls between the two for longer than `sync.worker_lease` (a VM paused or live-migrated, a swap storm,
SIGSTOP) sends its create after another worker took the mailbox over and created the meeting already: a duplicate
over EWS. fence.py assumes "no other worker can claim the mailbox before the write's answer is in" because a write
takes less than the lease: true of the request's own timeouts and retries, not of the time before it is sent. The
new owner finds the stalled worker's pending intent, finds no meeting with its tag yet, and creates; EWS has no
idempotency key (over Graph the transactionId keeps the two creates one meeting).

Real parts: the lab over TLS (EWS), the PostgreSQL server of tests/postgres.py, the taking-over worker as a
subprocess; the stall is made deterministic: at the stalled worker's first create, after its lease was verified and
before the request is sent, its lease is expired by SQL and the other worker runs to its end (not timed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, created, finished, meetings, setup_persons, sql, start_worker

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27s_a_worker_stalled_between_its_verify_and_its_send_does_not_duplicate_the_meeting(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from roomsops.adapters.ews.backend import EwsCalendar

    [person] = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path)
    other: list[tuple[int, dict[str, Any]]] = []

    def stall() -> None:
        if other:
            return
        expired = sql(
            env,
            "UPDATE mailbox_sync SET lease_until_utc = now() AT TIME ZONE 'UTC' - interval '1 second' "
            "WHERE lease_token IS NOT NULL RETURNING mailbox",
        )
        assert expired == [(person,)], expired  # the lease was this worker's, verified just now
        other.append(finished(start_worker(env, "--until-idle")))

    for name in ("create", "create_many"):
        original = getattr(EwsCalendar, name)

        def sent_after_a_stall(self: EwsCalendar, *args: Any, _original: Any = original) -> Any:
            stall()  # the lease verified (fence.py), the request not sent yet: the worker stalls here
            return _original(self, *args)

        monkeypatch.setattr(EwsCalendar, name, sent_after_a_stall)
    run = invoke("--json", "sync", "--worker", "--batch", "1", env=env)
    assert other, run.out + run.err
    code, doc = other[0]
    assert code == 0 and created(doc) == 1, doc  # the other worker took the mailbox over and created it
    mine = json.loads(run.out)
    # actual: the stalled worker's create was sent as well: ['Meeting 0', 'Meeting 0']
    assert meetings(fresh_lab, person) == ["Meeting 0"], (mine["mailboxes"], mine["lease_lost"])
