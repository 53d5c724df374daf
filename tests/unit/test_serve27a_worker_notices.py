"""serve27a: `roomsops serve --worker` takes a Graph change notification into the database, not into its own
schedule: the notified mailbox is made due there (its next run moved to now + the debounce), so whichever service
claims it next works it. Under a live lease (another service's pass under way, which may have read the mailbox
before the change) it is written all the same (fix27z: not kept in the notifying service's memory), and giving that
lease back keeps it if it is sooner than the next run the release sets; a claim made after the notification clears
it (its pass reads the change).

Against the real PostgreSQL server (tests/postgres.py); the service's scheduler is not run (`_take_notices` is what
a round and the thread beside it call), so nothing here is timed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from roomsops.adapters.store import Store, now_utc, open_store
from roomsops.adapters.store.leases import (
    Lease,
    claim_mailboxes,
    database_now,
    ensure_mailboxes,
    release_lease,
)
from roomsops.adapters.store.schema import mailbox_sync
from roomsops.core.logs import AuditLog
from roomsops.core.settings import load_settings
from roomsops.services.serve.service import Serve, WorkerMode
from roomsops.services.serve.webhook import Notice

HOUR = timedelta(hours=1)
FREE, HELD, CLAIMED = "free@contoso.com", "held@contoso.com", "claimed@contoso.com"


@pytest.fixture
def postgresql(postgres_url: str) -> Iterator[Store]:
    opened = open_store(postgres_url)
    try:
        yield opened
    finally:
        opened.close()


def due_now(store: Store) -> set[str]:
    """The mailboxes a claim would take now: due, and no live lease holds them."""
    with store.read() as conn:
        now = database_now(conn)
        rows = conn.execute(
            select(mailbox_sync.c.mailbox, mailbox_sync.c.next_run_utc, mailbox_sync.c.lease_until_utc)
        ).all()
    return {
        mailbox
        for mailbox, next_run, until in rows
        if (next_run is None or next_run <= now) and (until is None or until <= now)
    }


def lease(store: Store, mailbox: str, token: str) -> Lease:
    """`mailbox` leased by another service (its token), for an hour; its next run cleared, as a claim does."""
    with store.leases() as conn:
        until = database_now(conn) + HOUR
        conn.execute(
            update(mailbox_sync)
            .where(mailbox_sync.c.mailbox == mailbox)
            .values(lease_owner="serve-b", lease_token=token, lease_until_utc=until, next_run_utc=None)
        )
    return Lease(mailbox, "serve-b", token, until)


def test_serve27a_a_notification_makes_its_mailbox_due_in_the_database_once_a_live_lease_is_given_back(
    postgresql: Store, tmp_path: Path
) -> None:
    store = postgresql
    with store.leases() as conn:
        ensure_mailboxes(conn, [FREE, HELD, CLAIMED], now_utc())
        # each passed just now: due again in an hour
        conn.execute(update(mailbox_sync).values(next_run_utc=database_now(conn) + HOUR))
    held = lease(store, HELD, "token-b")
    lease(store, CLAIMED, "token-c")

    def no_backend(persons: object, services: object) -> Any:
        raise AssertionError("no pass runs here")

    settings = load_settings(environ={"ROOMSOPS_SERVE_NOTIFICATION_DEBOUNCE": "0"})
    serve = Serve(
        settings,
        store,
        AuditLog(None),
        tmp_path / "sync.lock",
        no_backend,
        lambda: None,
        worker=WorkerMode(5, "serve-a"),
    )
    for mailbox in (FREE, HELD, CLAIMED):
        serve.notices.put(Notice(mailbox, "change", now_utc()))
    serve._take_notices()
    assert due_now(store) == {FREE}  # the leased ones are left to their leases
    assert serve._notified == {}  # fix27z: all in the database, none waiting in this service's memory

    # CLAIMED: its lease expired and another claim took it after the notification (a new token): that pass reads
    # the change, so the claim settles the notification (given back, due in an hour). The earliest due first: the
    # notifications were written in the order of their addresses, CLAIMED's first.
    with store.leases() as conn:
        conn.execute(
            update(mailbox_sync)
            .where(mailbox_sync.c.mailbox == CLAIMED)
            .values(lease_until_utc=database_now(conn) - HOUR)
        )
        (claim,) = claim_mailboxes(conn, "serve-d", None, HOUR, 1)
        assert claim.mailbox == CLAIMED
        assert release_lease(conn, claim, HOUR)
    # HELD's lease given back as a pass's release does (due again in an hour): the notification keeps it due now.
    with store.leases() as conn:
        assert release_lease(conn, held, HOUR)
    assert due_now(store) == {FREE, HELD}
