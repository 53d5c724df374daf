"""review27, the batch fence's wider case: one write of the calendar port may be several write requests, each with a
retry budget of its own. A sync worker's first pass of a person with a weekly series that has a cancelled and a
moved occurrence creates the master over Graph, then cancels one occurrence and PATCHes the other: three write
requests under one verification of the lease before the fix. Each write request after the first is now preceded
by a verification (`core/write_fence.py`): a lease lost after the master was created stops the occurrences' writes.

Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py, the worker's CLI. The lease lost after the
master's create is set by SQL at that point, never waited for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_sync import book_series

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, setup_persons, sql
from .test_review27d_workers import LEASED_BY_ANOTHER

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_workers36_no_write_of_a_series_is_sent_after_the_lease_was_lost(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    [person] = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path, sync_mode="Microsoft365")
    series = book_series(
        invoke,
        env,
        person,
        addr("room-zurich").lower(),
        "2027-03-15T09:00",
        "--weekly",
        "mon",
        "--count",
        "3",
    )
    ok(invoke("bookings", "cancel", str(series), "--occurrence", "2027-03-29", "--yes", env=env))
    moved = ["--start", "2027-03-23T14:00", "--end", "2027-03-23T15:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", *moved, env=env))
    from roomsops.adapters.graph.client import GraphClient

    writes: list[
        tuple[str, str, bool]
    ] = []  # each write request sent: method, path's end, lease lost already
    original, send = GraphClient.request, GraphClient._send
    lost = [False]

    def sent(self: GraphClient, mailbox: str, method: str, url: str, *args: Any) -> Any:
        if method != "GET":  # on its way to the lab
            writes.append((method, url.split("?")[0].rsplit("/", 1)[-1], lost[0]))
        return send(self, mailbox, method, url, *args)

    def request(self: GraphClient, mailbox: str, method: str, url: str, **kw: Any) -> Any:
        answer = original(self, mailbox, method, url, **kw)
        if kw.get("write") and method == "POST" and url.endswith("/events") and not lost[0]:
            # the series' master created: the lease expires, another worker claims the mailbox
            assert sql(env, LEASED_BY_ANOTHER, person) == [(person,)]
            lost[0] = True
        return answer

    monkeypatch.setattr(GraphClient, "request", request)
    monkeypatch.setattr(GraphClient, "_send", sent)
    run = invoke("--json", "sync", "--worker", "--batch", "1", env=env)
    doc = json.loads(run.out)
    assert run.code == 1 and doc["lease_lost"] == [person], (run.out, writes)
    assert ("POST", "events", False) in writes, writes  # the master was sent while the lease was held
    # before the fix: the occurrence's cancel and PATCH were sent after the lease was lost
    assert [w for w in writes if w[2]] == [], writes
