"""pg27b: `roomsops sync --worker` on PostgreSQL (issue 27 items 2 and 3): leased mailbox work for several workers.

Real parts: the lab over TLS, the real PostgreSQL server (tests/postgres.py), workers as subprocesses where they
run at once or are killed (a single worker whose process is not the point runs in-process). Lease expiry
is simulated by setting `lease_until_utc` in the past with SQL, never waited for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests import postgres
from tests.conftest import Invoke, ok, one_line_error

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration
ON_POSTGRESQL = pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)

DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=6, minute=0, second=0, microsecond=0)


def sql(env: dict[str, str], statement: str, *args: Any) -> list[tuple[Any, ...]]:
    """One statement in the test's schema (its own autocommit connection)."""
    url = make_url(env["ROOMSOPS_ROOMS_DATABASE"])
    schema = str(url.query["options"]).removeprefix("-csearch_path=")
    with postgres.admin(url.set(query={})) as conn:
        conn.execute(f"SET search_path TO {postgres.quoted(schema)}".encode())
        cur = conn.execute(statement.encode(), args)
        return list(cur.fetchall()) if cur.description else []


def setup_persons(
    invoke: Invoke,
    env: dict[str, str],
    lab: LabHelper,
    addr: Addr,
    n: int,
    tmp: Path,
    sync_mode: str = "O365",
) -> list[str]:
    """`n` persons (new lab mailboxes) of `sync_mode`, each with one booking of room-zurich at an hour of its own."""
    domain = lab.info["tenant"]["domain"]
    zurich = addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    people = [f"worker{i:02d}@{domain}".lower() for i in range(n)]
    for person in people:
        assert lab.admin("POST", "mailboxes", json={"email": person}).status_code == 201
    csv = tmp / "persons.csv"
    csv.write_text(
        "email,name,sync_mode,sync_url,conflict_behaviour\n"
        + "".join(f"{p},{p.split('@')[0]},{sync_mode},,\n" for p in people),
        encoding="utf-8",
    )
    ok(invoke("persons", "import", str(csv), "--no-check", env=env))
    for i, person in enumerate(people):
        start = DAY + timedelta(minutes=30 * i)
        ok(
            invoke(
                "bookings", "add", "--organizer", person, "--room", zurich, "--title", f"Meeting {i}",
                "--start", start.isoformat(), "--end", (start + timedelta(minutes=30)).isoformat(), env=env,
            )
        )  # fmt: skip
    return people


def meetings(lab: LabHelper, mailbox: str) -> list[str]:
    """Subjects of the live meetings `mailbox` organizes."""
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i["subject"] for i in items if i["organizer"].lower() == mailbox and not i["is_cancelled"]]


def worker_cmd(*extra: str) -> list[str]:
    return [sys.executable, "-m", "roomsops", "--json", "sync", "--worker", *extra]


def start_worker(env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        worker_cmd(*extra),
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen[str]) -> tuple[int, dict[str, Any]]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), (proc.returncode, out, err)
    return proc.returncode, json.loads(out)


def in_process_worker(invoke: Invoke, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """`sync --worker --until-idle` run in-process (CliRunner): for a single worker whose process is not what is
    tested (a subprocess costs ~3 s of start-up); the same exit codes and document as `finished`."""
    run = invoke("--json", "sync", "--worker", "--until-idle", env=env)
    assert run.code in (0, 1), (run.code, run.out, run.err)
    return run.code, json.loads(run.out)


def synced(doc: dict[str, Any]) -> list[str]:
    return [m["mailbox"].lower() for m in doc["mailboxes"]]


def created(doc: dict[str, Any]) -> int:
    return sum(m["created"] for m in doc["mailboxes"])


# 10 mailboxes in batches of 3: four batches for two workers claiming at once (20 before trim33, the same claims
# twice over; `scripts/bench --workers 1,2,4` runs workers over many more mailboxes).
MAILBOXES = 10


@ON_POSTGRESQL
def test_pg27b_two_workers_sync_every_mailbox_exactly_once_per_round_without_duplicates(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    people = setup_persons(invoke, env, fresh_lab, addr, MAILBOXES, tmp_path)
    for round_ in (1, 2):
        workers = [start_worker(env, "--until-idle", "--batch", "3") for _ in range(2)]
        docs = [finished(w) for w in workers]
        assert [code for code, _ in docs] == [0, 0], docs
        worked = Counter(m for _, doc in docs for m in synced(doc))
        assert worked == Counter(people), worked  # every mailbox once, none twice, across both workers
        assert sum(created(doc) for _, doc in docs) == (MAILBOXES if round_ == 1 else 0), docs
        assert all(doc["lease_lost"] == [] for _, doc in docs), docs
        for i, person in enumerate(people):
            assert meetings(fresh_lab, person) == [f"Meeting {i}"]  # 0 duplicate meetings
        # Every lease given back; every mailbox due again only after sync.worker_interval.
        rows = sql(
            env,
            "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NULL AND next_run_utc > now() AT TIME ZONE 'UTC'",
        )
        assert rows == [(MAILBOXES,)], rows
        # Nothing due: a worker finds no work and exits 0 at once (checked once, in-process: the point is the
        # claim, not the process, and each worker process costs ~3 s).
        if round_ == 1:
            code, idle = in_process_worker(invoke, env)
            assert (code, idle["mailboxes"], idle["batches"]) == (0, [], 0), idle
        sql(
            env, "UPDATE mailbox_sync SET next_run_utc = now() AT TIME ZONE 'UTC' - interval '1 second'"
        )  # round 2


class _Hook:
    """On the pass's first read of `mailbox`'s changes, the lease is expired by SQL and another worker (a
    subprocess) takes the mailbox over and syncs it, before this worker goes on."""

    def __init__(self, env: dict[str, str], mailbox: str) -> None:
        self.env, self.mailbox = env, mailbox
        self.other: dict[str, Any] | None = None

    def __call__(self, mailbox: str) -> None:
        if mailbox.lower() != self.mailbox or self.other is not None:
            return
        expired = sql(
            self.env,
            "UPDATE mailbox_sync SET lease_until_utc = now() AT TIME ZONE 'UTC' - interval '1 second' "
            "WHERE mailbox = %s AND lease_token IS NOT NULL RETURNING lease_owner",
            self.mailbox,
        )
        assert len(expired) == 1, expired
        code, self.other = finished(start_worker(self.env, "--until-idle"))
        assert code == 0, self.other


@ON_POSTGRESQL
def test_pg27b_a_worker_whose_lease_expired_cannot_write_and_another_takes_the_mailbox_over(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from roomsops.adapters.ews.backend import EwsCalendar

    people = setup_persons(invoke, env, fresh_lab, addr, 3, tmp_path)
    slow = people[1]
    hook = _Hook(env, slow)
    original = EwsCalendar.changes

    def changes(self: EwsCalendar, mailbox: str, state: str | None) -> Any:
        hook(mailbox)  # a network call: no transaction is open, no row lock held
        return original(self, mailbox, state)

    monkeypatch.setattr(EwsCalendar, "changes", changes)
    run = invoke("--json", "sync", "--worker", "--batch", "3", env=env)
    assert run.code == 1, run.out + run.err  # a lease lost is reported as a failure of this worker's run
    doc = json.loads(run.out)
    assert doc["lease_lost"] == [slow], doc
    mine = {m["mailbox"].lower(): m for m in doc["mailboxes"]}
    assert mine[slow]["error_code"] == "lease_lost" and mine[slow]["created"] == 0, mine[slow]
    assert [mine[p]["created"] for p in people if p != slow] == [1, 1], mine
    # The other worker took the mailbox over: it synced it, once, and gave it back.
    assert hook.other is not None and synced(hook.other) == [slow], hook.other
    assert created(hook.other) == 1, hook.other
    for i, person in enumerate(people):
        assert meetings(fresh_lab, person) == [f"Meeting {i}"]  # 0 duplicates: the stale worker sent nothing
    rows = sql(env, "SELECT mailbox, lease_token, sync_state IS NOT NULL FROM mailbox_sync ORDER BY mailbox")
    assert rows == [(p, None, True) for p in sorted(people)], rows


def graph_throttle(lab: LabHelper) -> dict[str, Any]:
    """The lab's Graph throttle: how many requests wait at its gate, how many are being answered."""
    return dict(lab.admin("GET", "graph").json()["throttle"])


def until(condition: Any, proc: subprocess.Popen[str] | None = None) -> None:
    """Poll `condition` until it holds (a condition, not a duration; bounded so a broken test cannot hang)."""
    for _ in range(1200):
        if condition():
            return
        assert proc is None or proc.poll() is None, proc.communicate(timeout=60)
        time.sleep(0.05)
    raise AssertionError("the condition never held")


@ON_POSTGRESQL
def test_pg27b_a_sigkilled_workers_mailboxes_are_taken_over_once_its_leases_expire(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """Over Graph, the lab's gate holds the worker's first meeting create: the worker is provably mid-batch (its
    claim committed, an intent stored, a create sent) when it is SIGKILLed; the held create then lands in
    Exchange with nobody to record it: the worker taking over finds it by its pending intent, no duplicate."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    people = setup_persons(invoke, env, fresh_lab, addr, 6, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    try:
        doomed = start_worker(env, "--batch", "6")
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, doomed)  # a create held: mid-batch
        claimed = sql(env, "SELECT mailbox FROM mailbox_sync WHERE lease_token IS NOT NULL")
        assert len(claimed) == 6, claimed
        pending = sql(env, "SELECT count(*) FROM booking_sync WHERE state = 'pending-create'")
        assert pending[0][0] >= 1, (
            pending
        )  # the intents of the creates held were stored before they were sent
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=60)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
    # The held creates go on and are made in Exchange (their answers go nowhere): none is left in flight.
    until(lambda: graph_throttle(fresh_lab)["active"] == 0)
    made = [p for p in people if meetings(fresh_lab, p)]
    assert made, "no held create reached Exchange: the takeover below would prove nothing about duplicates"
    # Its leases are live: another worker finds nothing to claim, and a plain sync refuses to run beside them.
    code, idle = in_process_worker(invoke, env)
    assert (code, idle["mailboxes"]) == (0, []), idle
    plain = invoke("sync", env=env)
    assert plain.code == 1 and "leased by sync workers" in one_line_error(plain), plain.err
    # The leases expire (by SQL): the next worker takes every mailbox over, syncs each once, no duplicate.
    sql(env, "UPDATE mailbox_sync SET lease_until_utc = now() AT TIME ZONE 'UTC' - interval '1 second'")
    code, doc = in_process_worker(invoke, env)
    assert code == 0, doc
    assert Counter(synced(doc)) == Counter(people), doc
    for i, person in enumerate(people):
        assert meetings(fresh_lab, person) == [f"Meeting {i}"]
    assert sql(env, "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL") == [(0,)]
    ok(invoke("sync", env=env))  # no lease live any more: a plain sync runs again


def test_pg27b_worker_on_sqlite_is_refused_in_one_line(invoke: Invoke, tmp_path: Path) -> None:
    env = {"ROOMSOPS_ROOMS_DATABASE": f"sqlite:///{tmp_path / 'rooms.db'}"}
    run = invoke("sync", "--worker", env=env)
    assert run.code == 2, run.out + run.err
    assert "PostgreSQL" in one_line_error(run) and "db copy" in run.err
    assert not (tmp_path / "rooms.db").exists()  # nothing made
    assert invoke("sync", "--batch", "5", env=env).code == 2


@ON_POSTGRESQL
def test_pg27b_workers_and_a_plain_sync_refuse_each_other_by_the_run_lock(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper
) -> None:
    from roomsops.cli.sync import lock_path
    from roomsops.core.settings import load_settings
    from roomsops.services.sync.lock import WORKER, run_lock

    ok(invoke("persons", "list", env=env))  # the schema made
    lock = lock_path(load_settings(None, environ={"ROOMSOPS_ROOMS_DATABASE": env["ROOMSOPS_ROOMS_DATABASE"]}))
    with run_lock(lock, WORKER), run_lock(lock, WORKER):  # workers share it
        plain = invoke("sync", env=env)
    assert plain.code == 1 and "sync workers ('roomsops sync --worker') are running" in one_line_error(plain)
    with run_lock(lock):  # a plain sync holds it
        worker = invoke("sync", "--worker", env=env)
    assert worker.code == 1 and "a plain 'roomsops sync' is running" in one_line_error(worker)
    ok(invoke("sync", "--worker", "--until-idle", env=env))
