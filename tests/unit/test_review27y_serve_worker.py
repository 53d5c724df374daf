"""review27y: adversarial review of `roomsops serve --worker` (issue 27.2, serve27a).

Against the real PostgreSQL server (tests/postgres.py), the service's scheduler driven by hand as in
test_serve27a_worker_notices.py (nothing timed, no lab: the findings are in what the service keeps and shows)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from roomsops.adapters.store import Store, now_utc
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.leases import database_now, ensure_mailboxes, release_lease
from roomsops.adapters.store.records import MailboxSyncState
from roomsops.adapters.store.schema import mailbox_sync
from roomsops.core.logs import AuditLog
from roomsops.core.settings import load_settings
from roomsops.services.serve.service import Serve, WorkerMode
from roomsops.services.serve.webhook import Notice
from roomsops.services.sync.engine import MailboxReport

from .test_serve27a_worker_notices import HOUR, due_now, lease, postgresql

__all__ = ["postgresql"]  # the fixture, imported for the tests here

MAILBOX = "held@contoso.com"


def worker_service(store: Store, tmp_path: Path) -> Serve:
    """A `serve --worker` service ("serve-a") whose passes never run here, notification debounce 0."""

    def no_backend(persons: object, services: object) -> Any:
        raise AssertionError("no pass runs here")

    settings = load_settings(environ={"ROOMSOPS_SERVE_NOTIFICATION_DEBOUNCE": "0"})
    return Serve(
        settings,
        store,
        AuditLog(None),
        tmp_path / "sync.lock",
        no_backend,
        lambda: None,
        worker=WorkerMode(5, "serve-a"),
    )


def test_review27y_a_notification_waiting_for_a_lease_survives_the_notifying_service_stopping(
    postgresql: Store, tmp_path: Path
) -> None:
    """The webhook's service (serve.listen, one per database) took a change notification for a mailbox another
    service's pass holds (acknowledged to Graph: it is never sent again). It is stopped (SIGTERM: a rolling update
    of the pods) before that lease is given back. The holder's pass may have read the mailbox before the change;
    when it gives the lease back, due again `serve.graph_interval` (15 min) later, the change must still bring a
    pass now — not be lost until the safety-net interval."""
    store = postgresql
    with store.leases() as conn:
        ensure_mailboxes(conn, [MAILBOX], now_utc())
        conn.execute(update(mailbox_sync).values(next_run_utc=database_now(conn) + HOUR))
    held = lease(store, MAILBOX, "token-b")  # serve-b's pass under way
    serve = worker_service(store, tmp_path)
    serve.notices.put(Notice(MAILBOX, "change", now_utc()))
    serve._take_notices()
    # SIGTERM: the service stops (its run loop ends at once: no round under way)
    serve.stop()
    serve.run()
    # serve-b's pass done: its lease given back, due again after the interval (as `Fence.release` does)
    with store.leases() as conn:
        assert release_lease(conn, held, HOUR)
    assert due_now(store) == {MAILBOX}  # failed before fix27z: due in an hour, the notification lost


def test_review27y_the_page_shows_the_latest_pass_of_a_mailbox_another_service_passed_since(
    postgresql: Store, tmp_path: Path
) -> None:
    """serve-a's pass of a mailbox failed (Exchange refused it); later serve-b claimed the mailbox and passed it
    fine (the database records that pass, no error). serve-a's page (any replica behind the load balancer) must not
    go on saying the mailbox fails with the old error: README says the page shows the mailboxes others work as the
    database records their last pass."""
    store = postgresql
    serve = worker_service(store, tmp_path)
    key = MAILBOX.casefold()
    serve.schedule.update({MAILBOX: "ews"}, {key: None}, {key: 0})
    failed = MailboxReport(
        MAILBOX,
        error="Exchange answered 503 Service Unavailable",
        error_code="exchange_unavailable",
        remedy="wait",
    )
    serve._account([failed], list(serve.schedule.mailboxes.values()), {}, set())
    # serve-b's pass later: ok, recorded in the database
    with store.write() as conn:
        later = database_now(conn) + timedelta(minutes=5)
        q.save_mailbox_sync(conn, MailboxSyncState(MAILBOX, last_pass=later, last_error=None), later)
    (row,) = serve._snapshot(None, None).mailboxes
    # failed before fix27z: ("failed", "Exchange answered 503 …")
    assert (row.result, row.error) == ("ok", None), row
    assert row.last_pass == later, row


class SimulatedWake:
    """The run loop's `wake` event, its waits simulated (never slept): each wait's timeout is added up, and the
    service is stopped once `limit` seconds (or an endless wait) were asked for."""

    def __init__(self, serve: Serve, limit: float) -> None:
        self.serve, self.limit, self.waited = serve, limit, 0.0

    def wait(self, timeout: float | None = None) -> bool:
        self.waited += float("inf") if timeout is None else timeout
        if self.waited >= self.limit:
            self.serve.stopping.set()
        return False

    def set(self) -> None:
        return None

    def clear(self) -> None:
        return None

    def is_set(self) -> bool:
        return False


def test_review27y_a_notification_waiting_for_a_lease_does_not_bring_a_round_every_second(
    postgresql: Store, tmp_path: Path
) -> None:
    """Nothing is due; one notified mailbox is held by another service's lease for an hour (a long batch, or a
    SIGKILLed service whose lease has not expired). Waiting for it is asking one row again, not a round: over 10
    (simulated) seconds the service reads the persons and their mailboxes' states at most twice (its first round,
    one more), not once a second — with 10,000 persons that is some 20,000 statements a second on the shared
    database for up to sync.worker_lease (600 s)."""
    store = postgresql
    with store.leases() as conn:
        ensure_mailboxes(conn, [MAILBOX], now_utc())
        conn.execute(update(mailbox_sync).values(next_run_utc=database_now(conn) + HOUR))
    lease(store, MAILBOX, "token-b")
    serve = worker_service(store, tmp_path)
    serve.notices.put(Notice(MAILBOX, "change", now_utc()))
    reads = 0
    read_persons = serve._read_persons

    def counted() -> tuple[list[tuple[str, str]], dict[str, str]]:
        nonlocal reads
        reads += 1
        return read_persons()

    serve._read_persons = counted  # type: ignore[method-assign]
    serve.wake = SimulatedWake(serve, 10.0)  # type: ignore[assignment]
    serve.run()
    assert not serve._notified  # fix27z: the notification is the database's (the mailbox due once given back)
    assert due_now(store) == set()  # still leased for an hour: nothing to claim
    assert reads <= 2, (reads, serve.ticks)  # failed before fix27z: a round (every person read) each second


def test_review27y_rounds_with_nothing_to_claim_do_not_make_a_failing_service_ready(
    postgresql: Store, tmp_path: Path
) -> None:
    """serve-a cannot work (its token service refuses it: an expired certificate on its host only); serve-b works
    fine. Each round of serve-a that finds a mailbox due fails; between them, rounds find nothing due (serve-b
    claimed it, or a notification's lease recheck). A round that did no work is not a success: after three failed
    rounds serve-a's /healthz must say not ready, whatever empty rounds came between — else the orchestrator
    keeps a pod that never syncs anything."""
    from roomsops.core.errors import OperationFailed
    from roomsops.services.serve.status import NOT_READY_AFTER

    store = postgresql
    with store.leases() as conn:
        ensure_mailboxes(conn, [MAILBOX], now_utc())

    def refused() -> None:
        raise OperationFailed("the token service refused the certificate", "renew it", code="auth_failed")

    serve = worker_service(store, tmp_path)
    serve.check_token = refused
    for _ in range(NOT_READY_AFTER):
        serve.tick()  # the mailbox due and free: the round fails before any claim
        assert serve.busy_rounds == 0 and serve.failed_rounds >= 1
        held = lease(store, MAILBOX, "token-b")  # serve-b claims it: serve-a's next round finds nothing due
        serve.tick()
        with store.leases() as conn:  # serve-b's pass done, due again at once (a notification, say)
            assert release_lease(conn, held, timedelta(0))
    serve.tick()
    snapshot, ready = serve.board.read()
    assert ready
    # fails: 1 — each empty round reset the count, /healthz answers "ok: live, ready"
    assert snapshot.failed_rounds >= NOT_READY_AFTER, snapshot.failed_rounds
