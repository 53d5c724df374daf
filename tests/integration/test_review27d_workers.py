"""review27d: attacks on the sync workers of issue 27 (pg27b, pg27c) that found defects (fixed in fix27e).
Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py. A worker's pause, a killed
worker's leases and a host's clock skew are set by SQL or a patched clock, never waited for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters.store import now_utc
from tests.conftest import Invoke, ok, one_line_error

from .conftest import Addr, LabHelper
from .test_pg27b_workers import (
    DAY,
    ON_POSTGRESQL,
    created,
    finished,
    graph_throttle,
    meetings,
    setup_persons,
    sql,
    start_worker,
    synced,
    until,
)
from .test_serve_lab import HUNG
from .test_serve_lab import start as start_serve

pytestmark = pytest.mark.integration

#: A live lease of another worker, by the database's clock, as a worker SIGKILLed mid-batch leaves it.
LEASED_BY_ANOTHER = (
    "UPDATE mailbox_sync SET lease_owner = 'other-host:4242:0badc0de', lease_token = 'feedface', "
    "lease_until_utc = now() AT TIME ZONE 'UTC' + interval '5 minutes' WHERE mailbox = %s RETURNING mailbox"
)
DUE_NOW = "UPDATE mailbox_sync SET next_run_utc = now() AT TIME ZONE 'UTC' - interval '1 second'"


def synced_once(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, n: int, tmp: Path
) -> list[str]:
    """`n` persons each with one booking, synced by one worker (their queue rows made), all due again."""
    people = setup_persons(invoke, env, fresh_lab, addr, n, tmp)
    code, first = finished(start_worker(env, "--until-idle"))
    assert code == 0 and created(first) == n, first
    sql(env, DUE_NOW)
    return people


def admin_while_reading(
    env: dict[str, str], mailbox: str, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> list[subprocess.CompletedProcess[str]]:
    """When this process's worker first reads `mailbox`'s changes (its lease held, no write yet), an administrator's
    `roomsops ARGV` runs to its end (a subprocess); what it did is appended to the list returned."""
    from roomsops.adapters.ews.backend import EwsCalendar

    ran: list[subprocess.CompletedProcess[str]] = []
    original = EwsCalendar.changes

    def changes(self: EwsCalendar, read: str, state: str | None) -> Any:
        if read.lower() == mailbox and not ran:
            command = [sys.executable, "-m", "roomsops", *argv]
            ran.append(
                subprocess.run(command, env=os.environ | env, capture_output=True, text=True, timeout=120)
            )
        return original(self, read, state)

    monkeypatch.setattr(EwsCalendar, "changes", changes)
    return ran


@ON_POSTGRESQL
def test_review27d_a_worker_whose_host_clock_runs_ahead_does_not_claim_a_live_lease(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Another worker (on a host whose clock agrees with the database) holds a lease for 5 more minutes. A worker on
    a host whose clock runs 10 minutes ahead (no NTP; a VM resumed) must not claim that mailbox: the issue's
    'two workers never work one mailbox at once' cannot depend on every host's clock agreeing within the lease."""
    import roomsops.services.sync.worker as worker_module

    people = synced_once(invoke, env, fresh_lab, addr, 2, tmp_path)
    assert sql(env, LEASED_BY_ANOTHER, people[0]) == [(people[0],)]
    monkeypatch.setattr(worker_module, "now_utc", lambda: now_utc() + timedelta(minutes=10))
    run = invoke("--json", "sync", "--worker", "--until-idle", env=env)
    doc = json.loads(run.out)
    assert synced(doc) == [people[1]], doc  # the leased mailbox is not worked a second time at once
    owner = sql(env, "SELECT lease_owner, lease_token FROM mailbox_sync WHERE mailbox = %s", people[0])
    assert owner == [("other-host:4242:0badc0de", "feedface")], owner  # the live lease is left to its owner


@ON_POSTGRESQL
def test_review27d_serve_does_not_write_to_a_mailbox_a_killed_worker_still_leases(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """A worker SIGKILLed mid-batch leaves its leases live (its run lock gone with its connections). `roomsops
    serve` on the same database then takes the run lock and syncs the leased mailbox: a new booking's meeting is
    created while the killed worker's pending intents are not yet the business of anyone but the lease's next
    owner. The plain `sync` refuses in this state (test_pg27b's SIGKILL test); serve must not write either."""
    people = synced_once(invoke, env, fresh_lab, addr, 2, tmp_path)
    zurich = addr("room-zurich").lower()
    start = DAY + timedelta(hours=5)
    ok(
        invoke(
            "bookings", "add", "--organizer", people[0], "--room", zurich, "--title", "Booked meanwhile",
            "--start", start.isoformat(), "--end", (start + timedelta(minutes=30)).isoformat(), env=env,
        )
    )  # fmt: skip
    assert sql(env, LEASED_BY_ANOTHER, people[0]) == [(people[0],)]
    # Its last pass an hour ago: due for serve's first round (serve.ews_interval, 60 s).
    sql(env, "UPDATE mailbox_sync SET last_pass_utc = now() AT TIME ZONE 'UTC' - interval '1 hour'")
    plain = invoke("sync", env=env)
    assert plain.code == 1 and "leased by sync workers" in one_line_error(plain), plain.err  # sync refuses
    process, err = start_serve(env, tmp_path, "--max-ticks", "1")
    out, _ = process.communicate(timeout=HUNG)
    assert process.returncode == 0, err.read_text()
    assert meetings(fresh_lab, people[0]) == ["Meeting 0"], out  # serve wrote nothing there


@ON_POSTGRESQL
def test_review27d_a_worker_lease_shorter_than_one_write_is_refused_as_a_bad_setting(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """The fence proves the lease right before each write and gives it `sync.worker_lease` seconds from then
    (fence.py: 'longer than one write takes (its timeouts and retry waits)'); README asks the same. With 10 s
    (allowed) and the default 30 s request timeout that promise is broken by the settings themselves; a bad
    combination of settings is exit 2 naming the key, nothing changed."""
    people = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path)
    short = env | {"ROOMSOPS_SYNC_WORKER_LEASE": "10"}
    run = invoke("sync", "--worker", env=short)
    assert run.code == 2, run.out + run.err
    assert "sync.worker_lease" in one_line_error(run), run.err
    assert meetings(fresh_lab, people[0]) == []  # nothing sent


@ON_POSTGRESQL
def test_review27d_sync_purge_refuses_a_mailbox_a_killed_worker_still_leases(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """A person leaves the sync; the worker that claimed their mailbox (and was purging it) is SIGKILLed, its lease
    live. An administrator's `sync purge --person` then writes to that mailbox beside the lease, as serve does."""
    people = synced_once(invoke, env, fresh_lab, addr, 2, tmp_path)
    ok(invoke("persons", "set", people[0], "--sync-mode", "None", env=env))
    assert sql(env, LEASED_BY_ANOTHER, people[0]) == [(people[0],)]
    run = invoke("sync", "purge", "--person", people[0], "--yes", env=env)
    assert run.code == 1 and "leased" in one_line_error(run), run.out + run.err
    assert meetings(fresh_lab, people[0]) == ["Meeting 0"]  # nothing cancelled beside the lease


@ON_POSTGRESQL
def test_review27d_a_worker_that_lost_its_run_lock_claims_no_more_batches_beside_a_plain_sync(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The shared run lock is a session lock on a connection that is idle for the whole run: a firewall's or
    PostgreSQL's idle timeout (or a restart) ends it and PostgreSQL releases the lock. During the worker's first
    batch (one mailbox) that connection ends and a plain sync takes the run lock (it sees no lease between the
    worker's batches, so `refuse_beside_leases` would not stop it either). The worker must not claim its next batch
    while the plain sync holds the lock: it would work the mailboxes the plain sync is working."""
    from roomsops.adapters.ews.backend import EwsCalendar
    from roomsops.cli.sync import lock_path
    from roomsops.core.settings import load_settings
    from roomsops.services.sync.lock import run_lock

    synced_once(invoke, env, fresh_lab, addr, 2, tmp_path)
    lock = lock_path(load_settings(None, environ={"ROOMSOPS_ROOMS_DATABASE": env["ROOMSOPS_ROOMS_DATABASE"]}))
    held: list[Any] = []
    original = EwsCalendar.changes

    def changes(self: EwsCalendar, mailbox: str, state: str | None) -> Any:
        if not held:
            ended = sql(
                env,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
                f"roomsops-worker|{os.getpid()}|%",
            )
            assert ended == [(True,)], ended  # this worker's run-lock connection ended
            plain = run_lock(lock)  # a plain sync starts: the exclusive lock is free now
            plain.__enter__()
            held.append(plain)
        return original(self, mailbox, state)

    monkeypatch.setattr(EwsCalendar, "changes", changes)
    try:
        run = invoke("--json", "sync", "--worker", "--until-idle", "--batch", "1", env=env)
    finally:
        for plain in held:
            plain.__exit__(None, None, None)
    assert held, "the worker read no mailbox"
    doc = json.loads(run.out) if run.out.startswith("{") else {"mailboxes": []}
    assert len(doc["mailboxes"]) <= 1, doc  # no second batch claimed beside the plain sync's lock
    assert run.code != 0, run.out + run.err  # and the run says it stopped short


@ON_POSTGRESQL
def test_review27d_a_person_removed_while_leased_is_not_reported_as_taken_over(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """An administrator removes a person (`persons remove --cancel-bookings --leave-meetings --yes`) while a worker
    is reading their mailbox. Removing a person deletes their queue row with the lease, so the worker's next write
    is refused: right (nothing is sent), but its run then says another worker took the mailbox over, which no
    worker did, and fails; README's monitoring reads every lost lease as 'a batch took longer than
    sync.worker_lease'."""
    people = synced_once(invoke, env, fresh_lab, addr, 2, tmp_path)
    gone = people[0]
    zurich = addr("room-zurich").lower()
    start = DAY + timedelta(hours=5)
    ok(
        invoke(
            "bookings", "add", "--organizer", gone, "--room", zurich, "--title", "Booked before leaving",
            "--start", start.isoformat(), "--end", (start + timedelta(minutes=30)).isoformat(), env=env,
        )
    )  # fmt: skip
    removed = admin_while_reading(
        env, gone, ["persons", "remove", gone, "--cancel-bookings", "--leave-meetings", "--yes"], monkeypatch
    )
    run = invoke("--json", "sync", "--worker", "--batch", "5", env=env)
    assert removed and removed[0].returncode == 0, removed
    doc = json.loads(run.out)
    assert meetings(fresh_lab, gone) == ["Meeting 0"], doc  # nothing sent for the removed person: safe
    assert doc["lease_lost"] == [], doc  # no other worker took it over


@ON_POSTGRESQL
def test_review27d_a_second_sigterm_gives_no_lease_back_while_a_write_is_in_flight(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """Over Graph, the lab's gate holds the worker's create (sent, its answer not in). SIGTERM: the pass stops
    starting mailboxes and waits for the writes in flight (`sync_pass`), then gives the leases back. A second
    SIGTERM (systemd's stop repeated, Ctrl-C twice) interrupts that wait, and `worker_run` gives the leases back,
    due at once, with the create still in flight: the next worker finds no meeting by the pending intent's tag,
    creates it, and the held create lands too (a duplicate). The leases must stay while a write is in flight.
    speed36b: the second SIGTERM is sent once the worker's log says the first stopped the pass (before, SIGTERMs
    sent back to back could reach the worker as one, and the second-SIGTERM path went untested)."""
    import signal

    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    [person] = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    leased = "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL"
    worker = start_worker(env, "--batch", "1")
    log = Path(env["ROOMSOPS_LOG_FILE"])

    def logged(text: str) -> bool:
        return log.exists() and text in log.read_text(encoding="utf-8")

    other = None
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, worker)  # the create sent and held
        worker.send_signal(signal.SIGTERM)
        until(lambda: logged("sync: interrupted (SIGTERM)"), worker)  # the pass waits for the held create
        worker.send_signal(signal.SIGTERM)  # a stop repeated (systemd, Ctrl-C twice): interrupts that wait
        until(lambda: logged("sync worker: interrupted: "))  # the leases it gives back are given back
        if sql(env, leased) == [(0,)]:  # given back with the create in flight: the next worker claims it
            other = start_worker(env, "--batch", "1")
            until(lambda: graph_throttle(fresh_lab)["waiting"] >= 2, other)  # its own create sent
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        worker.communicate(timeout=120)
        if other is not None:
            other.communicate(timeout=120)
    # The held create is answered by the lab once the gate opens, whether or not the worker still waits for it (a
    # worker that exited after the second SIGTERM does not): read the calendar once the lab has answered it.
    until(lambda: graph_throttle(fresh_lab)["waiting"] == graph_throttle(fresh_lab)["active"] == 0)
    assert meetings(fresh_lab, person) == ["Meeting 0"]  # 0 duplicates
    assert other is None, "the lease was given back while its create was in flight"


@ON_POSTGRESQL
def test_review27d_a_person_renamed_while_leased_is_not_left_leased_by_nobody(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """`persons set OLD --email NEW` moves the mailbox's queue row to the new address with every column, the
    lease of the worker reading OLD included. That worker's writes are refused (right: nothing is sent under a
    changed address), but it cannot give the lease back (it asks by the old address), so the renamed person's row
    stays leased by a worker that no longer works it for up to `sync.worker_lease` (600 s)."""
    people = synced_once(invoke, env, fresh_lab, addr, 2, tmp_path)
    old = people[0]
    new = f"renamed00@{fresh_lab.info['tenant']['domain']}".lower()
    renamed = admin_while_reading(
        env, old, ["persons", "set", old, "--email", new, "--no-check"], monkeypatch
    )
    run = invoke("--json", "sync", "--worker", "--batch", "5", env=env)
    assert renamed and renamed[0].returncode == 0, renamed
    doc = json.loads(run.out)
    rows = sql(env, "SELECT mailbox, lease_token IS NOT NULL FROM mailbox_sync WHERE mailbox = %s", new)
    assert rows == [(new, False)], (rows, doc)  # no lease left behind on the renamed person's row
