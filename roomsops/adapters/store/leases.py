"""Leased mailbox work (issue 27.2, schema 12): the mailbox state table is the queue of several sync workers.

A worker claims a batch of due mailboxes whose lease is free or expired (``SELECT ... FOR UPDATE SKIP LOCKED``,
then one UPDATE each), in a short `Store.leases()` transaction committed at once: no row lock is held while it
talks to Exchange. Each claim gives a new random token; the worker extends its leases while working and writes its
results only with that token (`extend_lease`, `release_lease` refuse a stale one: the lease expired and another
worker claimed the mailbox). SQLite has no row locks: there the claim runs under its one write lock (BEGIN
IMMEDIATE), which serialises claimers as well. `roomsops sync --worker` (`services/sync/worker.py`) uses this on
PostgreSQL only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from roomsops.adapters.store.records import email_key
from roomsops.adapters.store.schema import mailbox_sync


@dataclass(frozen=True)
class Lease:
    """A worker's claim on one mailbox: valid while `until` is ahead and the row still carries `token`."""

    mailbox: str
    owner: str
    token: str
    until: datetime


def ensure_mailboxes(conn: Connection, mailboxes: Iterable[str], now: datetime) -> int:
    """Give each mailbox a row in the queue (due now) if it has none; the number added."""
    keys = sorted({email_key(m) for m in mailboxes})
    if not keys:
        return 0
    there: set[str] = set()
    for start in range(0, len(keys), 500):  # databases cap the number of bound parameters of one statement
        chunk = keys[start : start + 500]
        there |= set(
            conn.execute(select(mailbox_sync.c.mailbox).where(mailbox_sync.c.mailbox.in_(chunk))).scalars()
        )
    missing = [{"mailbox": k, "updated_utc": now} for k in keys if k not in there]
    if missing:
        # Several workers starting at once on a new queue each find the rows missing: a row another one inserted
        # meanwhile is left as it is (ON CONFLICT DO NOTHING), never a failed start (the bench's finding: three of
        # four workers started together failed on the primary key).
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(dialect_insert(mailbox_sync).on_conflict_do_nothing(index_elements=["mailbox"]), missing)
    return len(missing)


def claim_mailboxes(
    conn: Connection, owner: str, now: datetime, lease_for: timedelta, limit: int
) -> list[Lease]:
    """Claim up to `limit` mailboxes that are due (next run NULL or not after `now`) and whose lease is free or
    expired, the longest due first; rows another claimer holds locked are skipped, never waited for."""
    assert limit >= 1 and lease_for > timedelta(0)
    due = (
        select(mailbox_sync.c.mailbox)
        .where(
            or_(mailbox_sync.c.next_run_utc.is_(None), mailbox_sync.c.next_run_utc <= now),
            or_(mailbox_sync.c.lease_until_utc.is_(None), mailbox_sync.c.lease_until_utc <= now),
        )
        .order_by(mailbox_sync.c.next_run_utc.asc().nulls_first(), mailbox_sync.c.mailbox)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    until = now + lease_for
    leases = []
    for mailbox in conn.execute(due).scalars().all():
        token = uuid.uuid4().hex
        conn.execute(
            update(mailbox_sync)
            .where(mailbox_sync.c.mailbox == mailbox)
            .values(lease_owner=owner, lease_until_utc=until, lease_token=token)
        )
        leases.append(Lease(mailbox=mailbox, owner=owner, token=token, until=until))
    return leases


def extend_lease(conn: Connection, lease: Lease, now: datetime, lease_for: timedelta) -> Lease | None:
    """The lease moved to `now + lease_for`; None when it is no longer this worker's (expired and claimed again)."""
    until = now + lease_for
    result = conn.execute(
        update(mailbox_sync)
        .where(mailbox_sync.c.mailbox == lease.mailbox, mailbox_sync.c.lease_token == lease.token)
        .values(lease_until_utc=until)
    )
    return Lease(lease.mailbox, lease.owner, lease.token, until) if result.rowcount == 1 else None


def release_lease(conn: Connection, lease: Lease, next_run: datetime) -> bool:
    """Give the mailbox back, due again at `next_run`; False (nothing written) when the token is stale."""
    result = conn.execute(
        update(mailbox_sync)
        .where(mailbox_sync.c.mailbox == lease.mailbox, mailbox_sync.c.lease_token == lease.token)
        .values(next_run_utc=next_run, lease_owner=None, lease_until_utc=None, lease_token=None)
    )
    return result.rowcount == 1


def live_leases(conn: Connection, now: datetime) -> list[Lease]:
    """The leases not expired at `now` (a plain `sync` refuses to run beside them), the latest first."""
    rows = conn.execute(
        select(
            mailbox_sync.c.mailbox,
            mailbox_sync.c.lease_owner,
            mailbox_sync.c.lease_token,
            mailbox_sync.c.lease_until_utc,
        )
        .where(mailbox_sync.c.lease_token.is_not(None), mailbox_sync.c.lease_until_utc > now)
        .order_by(mailbox_sync.c.lease_until_utc.desc(), mailbox_sync.c.mailbox)
    )
    return [Lease(mailbox=m, owner=o or "?", token=t, until=u) for m, o, t, u in rows]
