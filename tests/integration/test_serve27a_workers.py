"""serve27a: `roomsops serve --worker` (issue 27.2: sync workers "under `roomsops serve`"): several services on one
PostgreSQL database share the mailboxes through the sync workers' leases instead of the run lock.

Real parts: the lab over TLS, the real PostgreSQL server (tests/postgres.py), the services as subprocesses where
two run at once. Nothing is timed: the lab's Graph gate holds each service's first meeting create, so both are
provably mid-round, holding their leases, when the other claims and when a plain sync is tried; the tests count
claims, passes and meetings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Invoke, one_line_error

from .conftest import Addr, LabHelper
from .test_pg27b_workers import (
    ON_POSTGRESQL,
    graph_throttle,
    meetings,
    setup_persons,
    sql,
    until,
)
from .test_serve_lab import metrics, status_url, wait_for

pytestmark = pytest.mark.integration

#: The environment of a service: its status listener on a free port, one mailbox at a time (so a create held at
#: the gate is exactly one per service).
SERVE_ENV = {"ROOMSOPS_SERVE_STATUS_LISTEN": "127.0.0.1:0", "ROOMSOPS_SYNC_CONCURRENCY": "1"}


def start_serve(env: dict[str, str], tmp_path: Path, name: str, *extra: str) -> subprocess.Popen[str]:
    """`serve --worker --name NAME` as a subprocess, its stderr in `serve-NAME.err`."""
    return subprocess.Popen(
        [sys.executable, "-m", "roomsops", "--json", "serve", "--worker", "--name", name, *extra],
        env=os.environ | env | SERVE_ENV,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / f"serve-{name}.err").open("w"),
        text=True,
    )


def stopped(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, (proc.returncode, out, proc.args)
    doc: dict[str, Any] = json.loads(out)
    return doc


@ON_POSTGRESQL
def test_serve27a_two_serve_workers_share_the_mailboxes_by_their_leases_with_no_duplicate(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    people = setup_persons(invoke, env, fresh_lab, addr, 4, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    services: list[subprocess.Popen[str]] = []
    try:
        services.append(start_serve(env, tmp_path, "a", "--max-ticks", "1", "--batch", "2"))
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, services[0])  # a: 2 claimed, mid-batch
        services.append(start_serve(env, tmp_path, "b", "--max-ticks", "1", "--batch", "2"))
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 2, services[1])  # b: the other 2, mid-batch
        owners = sql(
            env,
            "SELECT split_part(lease_owner, '@', 1), count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL "
            "GROUP BY 1 ORDER BY 1",
        )
        # neither took a mailbox the other holds: each claimed its own batch of 2
        assert owners == [("a", 2), ("b", 2)], owners
        plain = invoke("sync", env=env)  # the services' rounds hold the run lock shared, as sync workers do
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        docs = [stopped(proc) for proc in services]
    assert plain.code == 1 and "sync workers ('roomsops sync --worker') are running" in one_line_error(plain)
    # every mailbox synced once across the two services, no lease lost, no pass failed
    assert [(d["ticks"], d["claimed"], d["passes"], d["failed"], d["lease_lost"]) for d in docs] == [
        (1, 2, 2, 0, 0),
        (1, 2, 2, 0, 0),
    ], docs
    for i, person in enumerate(people):
        assert meetings(fresh_lab, person) == [f"Meeting {i}"]  # 0 duplicates
    assert Counter(
        m for (m,) in sql(env, "SELECT mailbox FROM mailbox_sync WHERE last_pass_utc IS NOT NULL")
    ) == (Counter(people))
    # every lease given back, each mailbox due again after serve.graph_interval (not at once: no second pass)
    rows = sql(
        env,
        "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NULL "
        "AND next_run_utc > now() AT TIME ZONE 'UTC' + interval '10 minutes'",
    )
    assert rows == [(4,)], rows


@ON_POSTGRESQL
def test_serve27a_a_serve_worker_round_waits_while_a_plain_sync_holds_the_run_lock(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    from roomsops.cli.sync import lock_path
    from roomsops.core.settings import load_settings
    from roomsops.services.sync.lock import run_lock

    (person,) = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path)
    served = env | SERVE_ENV
    lock = lock_path(load_settings(None, environ={"ROOMSOPS_ROOMS_DATABASE": env["ROOMSOPS_ROOMS_DATABASE"]}))
    with run_lock(lock):  # as a plain `roomsops sync` holds it
        refused = invoke("--json", "serve", "--worker", "--max-ticks", "1", env=served)
    assert refused.code == 0, refused.out + refused.err
    doc = json.loads(refused.out)
    assert (doc["claimed"], doc["passes"]) == (0, 0), doc
    assert meetings(fresh_lab, person) == []
    assert "a plain 'roomsops sync' is running" in Path(env["ROOMSOPS_LOG_FILE"]).read_text(encoding="utf-8")
    # the lock free, the next round claims and syncs the mailbox
    again = invoke("--json", "serve", "--worker", "--max-ticks", "1", env=served)
    assert again.code == 0, again.out + again.err
    doc = json.loads(again.out)
    assert (doc["claimed"], doc["passes"], doc["failed"]) == (1, 1, 0), doc
    assert meetings(fresh_lab, person) == ["Meeting 0"]


@ON_POSTGRESQL
def test_serve27a_sigterm_gives_the_leases_back_and_another_serve_takes_the_rest_over(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """SIGTERM while a create is held at the gate: the service finishes that write (the lease of its mailbox kept
    until its answer is in), gives every lease back and exits 0; the mailboxes it had not synced are due at once
    and the next service's round takes them over: each synced once, no duplicate."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    people = setup_persons(invoke, env, fresh_lab, addr, 3, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    first = start_serve(env, tmp_path, "a", "--batch", "3")
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, first)  # 3 claimed, the first create held
        assert sql(env, "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL") == [(3,)]
        first.send_signal(signal.SIGTERM)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
    doc = stopped(first)
    assert (doc["ticks"], doc["lease_lost"], doc["failed"]) == (0, 0, 0), doc  # the round interrupted
    done = [p for p in people if meetings(fresh_lab, p)]
    assert len(done) == 1, done  # the write in flight finished; no further mailbox was started
    # every lease given back; those not synced due at once
    assert sql(env, "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL") == [(0,)]
    due = sql(env, "SELECT mailbox FROM mailbox_sync WHERE next_run_utc <= now() AT TIME ZONE 'UTC'")
    assert sorted(m for (m,) in due) == sorted(set(people) - set(done)), due
    # The next service takes them over; its status listener works as one service's: /metrics counts its claims,
    # /healthz is ready, the page lists the mailboxes.
    second = start_serve(env, tmp_path, "b")
    try:
        url = status_url(tmp_path / "serve-b.err", second)
        # ready once its first round is published (its claims were counted before)
        wait_for(lambda: requests.get(url + "healthz", timeout=10).text == "ok: live, ready\n", second)
        assert metrics(url).get(("roomsops_serve_claimed_total", ())) == 2
        page = requests.get(url, timeout=10).text
        assert all(f'data-mailbox="{person}"' in page for person in people), page
        assert not [k for k in metrics(url) if k[0] == "roomsops_serve_lease_lost_total"]  # none lost
    finally:
        second.send_signal(signal.SIGTERM)
    doc = stopped(second)
    assert (doc["claimed"], doc["passes"], doc["failed"], doc["lease_lost"]) == (2, 2, 0, 0), doc
    for i, person in enumerate(people):
        assert meetings(fresh_lab, person) == [f"Meeting {i}"]  # 0 duplicates


@ON_POSTGRESQL
def test_fix27z_a_second_sigterm_cuts_the_wait_for_a_write_in_flight_and_keeps_its_lease(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """review27y: README says a `serve --worker` stops as `sync --worker` does: a second signal no longer waits for
    the write in flight (a create held at the gate), its mailbox's lease left to expire, the others given back.
    Before fix27z the second SIGTERM only said it was still waiting (the service stayed until the answer came)."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    people = setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    log = Path(env["ROOMSOPS_LOG_FILE"])

    def logged(text: str) -> bool:
        return log.exists() and text in log.read_text(encoding="utf-8")

    service = start_serve(env, tmp_path, "a", "--batch", "2")
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, service)  # 2 claimed, the first create held
        service.send_signal(signal.SIGTERM)
        until(lambda: logged("sync: interrupted (SIGTERM)"), service)  # the pass waits for the held create
        service.send_signal(signal.SIGTERM)
        until(
            lambda: logged("sync worker: interrupted: "), service
        )  # the wait cut short, the gate still shut
        held = sql(env, "SELECT mailbox FROM mailbox_sync WHERE lease_token IS NOT NULL")
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        service.communicate(timeout=120)
    assert len(held) == 1, held  # the mailbox with the create in flight keeps its lease; the other given back
    until(lambda: graph_throttle(fresh_lab)["waiting"] == graph_throttle(fresh_lab)["active"] == 0)
    assert sorted(len(meetings(fresh_lab, p)) for p in people) == [0, 1]  # the held create landed, once


@ON_POSTGRESQL
def test_serve27a_one_serve_worker_per_database_keeps_the_graph_subscriptions(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """`serve --worker`s without serve.listen run side by side (the test above); one with the webhook holds the
    service lock, so a second with serve.listen is refused (exit 1) before it subscribes anything: it would delete
    the first's subscriptions as left over."""
    from roomsops.cli.sync import lock_path
    from roomsops.core.settings import load_settings
    from roomsops.services.serve.run import SERVE_WEBHOOK_LOCK, serve_lock_path
    from roomsops.services.sync.lock import run_lock

    (person,) = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path, sync_mode="Microsoft365")
    hooked = (
        env
        | SERVE_ENV
        | {
            "ROOMSOPS_SERVE_LISTEN": "127.0.0.1:0",
            "ROOMSOPS_SERVE_PUBLIC_URL": "https://rooms.example.com/roomsops",
        }
    )
    lock = lock_path(load_settings(None, environ={"ROOMSOPS_ROOMS_DATABASE": env["ROOMSOPS_ROOMS_DATABASE"]}))
    with run_lock(serve_lock_path(lock), SERVE_WEBHOOK_LOCK):  # as the first such service holds it
        second = invoke("serve", "--worker", "--max-ticks", "1", env=hooked)
    assert second.code == 1, second.out + second.err
    assert "another roomsops serve with the Graph webhook (serve.listen) is running" in one_line_error(second)
    assert meetings(fresh_lab, person) == []  # no round ran


@ON_POSTGRESQL
def test_serve27a_a_killed_serves_leases_expire_and_another_serve_takes_its_mailboxes_over(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """SIGKILL while a create is held at the gate: the held create lands in Exchange with nobody to record it.
    While the killed service's leases live, another service's round claims nothing; once they expired (by SQL,
    never waited for), it takes both mailboxes over and syncs each once: the pending intent finds the create, no
    duplicate."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    people = setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    doomed = start_serve(env, tmp_path, "a", "--batch", "2")
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, doomed)  # 2 claimed, the first create held
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=60)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
    until(lambda: graph_throttle(fresh_lab)["active"] == 0)  # the held create answered (to nobody)
    assert sum(len(meetings(fresh_lab, p)) for p in people) == 1
    served = env | SERVE_ENV
    idle = invoke("--json", "serve", "--worker", "--max-ticks", "1", env=served)
    assert idle.code == 0 and json.loads(idle.out)["claimed"] == 0, idle.out + idle.err  # the leases live
    sql(env, "UPDATE mailbox_sync SET lease_until_utc = now() AT TIME ZONE 'UTC' - interval '1 second'")
    run = invoke("--json", "serve", "--worker", "--max-ticks", "1", env=served)
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    assert (doc["claimed"], doc["passes"], doc["failed"], doc["lease_lost"]) == (2, 2, 0, 0), doc
    for i, person in enumerate(people):
        assert meetings(fresh_lab, person) == [f"Meeting {i}"]  # 0 duplicates
    assert sql(env, "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL") == [(0,)]
