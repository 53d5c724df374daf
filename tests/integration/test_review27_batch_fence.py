"""review27: a sync worker's first pass of a person with more new bookings than one Graph $batch holds (20). The
engine sends all of a mailbox's new meetings in one `create_many`; `FencedCalendar.create_many` proves the lease
once, and the Graph client then sends the creates in several $batch requests, each with a retry budget of its own
(up to one write's longest time each). Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py, the
worker's CLI. The lease lost between two $batch requests (it expired, another worker claimed the mailbox) is set by
SQL at that point, never waited for."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_pg27b_workers import DAY, ON_POSTGRESQL, meetings, setup_persons, sql
from .test_review27d_workers import LEASED_BY_ANOTHER

pytestmark = pytest.mark.integration

#: New bookings of the person: two $batch requests of creates.
BOOKINGS = 25


@ON_POSTGRESQL
def test_review27_no_create_of_a_batch_is_sent_after_the_lease_was_lost(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    [person] = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path, sync_mode="Microsoft365")
    zurich = addr("room-zurich").lower()
    for i in range(1, BOOKINGS):
        start = DAY + timedelta(days=1, minutes=30 * i)
        ok(
            invoke(
                "bookings", "add", "--organizer", person, "--room", zurich, "--title", f"Meeting {i}",
                "--start", start.isoformat(), "--end", (start + timedelta(minutes=30)).isoformat(), env=env,
            )
        )  # fmt: skip
    from roomsops.adapters.graph.client import GraphClient

    batches: list[bool] = []  # each write $batch sent on the wire: whether the lease was already lost
    original = GraphClient._send

    def send(self: GraphClient, mailbox: str, method: str, url: str, body: Any, *args: Any) -> Any:
        # Counted where the request goes out (after the client's lease check, fix27v), not where it is asked for.
        is_batch = url.endswith("/$batch") and any(r.get("method") == "POST" for r in body["requests"])
        if is_batch:
            batches.append(bool(batches))
        answer = original(self, mailbox, method, url, body, *args)
        if (
            is_batch and len(batches) == 1
        ):  # the first 20 created: the lease expires, another worker claims it
            assert sql(env, LEASED_BY_ANOTHER, person) == [(person,)]
        return answer

    monkeypatch.setattr(GraphClient, "_send", send)
    run = invoke("--json", "sync", "--worker", "--batch", "1", env=env)
    assert batches and batches[0] is False, (batches, run.out)
    # before the fix: [False, True]: the second $batch (5 creates) sent after the lease was lost
    assert batches == [False], (batches, len(meetings(fresh_lab, person)))
