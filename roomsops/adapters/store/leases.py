"""Leased mailbox work (issue 27.2, schema 12): the mailbox state table is the queue of several sync workers.

A worker claims a batch of due mailboxes whose lease is free or expired (``SELECT ... FOR UPDATE SKIP LOCKED``,
then one UPDATE each), in a short `Store.leases()` transaction committed at once: no row lock is held while it
talks to Exchange. Each claim gives a new random token; the worker extends its leases while working and writes its
results only with that token (`extend_lease`, `release_lease` refuse a stale one: the lease expired and another
worker claimed the mailbox). SQLite has no row locks: there the claim runs under its one write lock (BEGIN
IMMEDIATE), which serialises claimers as well. `roomsops sync --worker` (`services/sync/worker.py`) uses this on
PostgreSQL only.

Every lease time is the database's clock (`database_now`: PostgreSQL's ``clock_timestamp()``), never a worker
host's: a host whose clock runs ahead (no NTP, a VM resumed) would otherwise see another worker's live lease as
expired and claim it, and two workers would work one mailbox. SQLite is on the host it runs on: its clock is the
host's. The `now` arguments are for tests that move time on; production passes none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, case, func, or_, select, text, update
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


def database_now(conn: Connection) -> datetime:
    """The database's clock (UTC): PostgreSQL's `clock_timestamp()`, the host's on SQLite (an SQLite database is
    on the host that uses it)."""
    if conn.dialect.name != "postgresql":
        return datetime.now(UTC)
    found = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    assert isinstance(found, datetime) and found.tzinfo is not None
    return found.astimezone(UTC)


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
    conn: Connection,
    owner: str,
    now: datetime | None,
    lease_for: timedelta,
    limit: int,
    due_by: datetime | None = None,
) -> list[Lease]:
    """Claim up to `limit` mailboxes that are due (next run NULL or not after `now`, the database's clock when
    None; with `due_by`, not after that earlier moment: a `--until-idle` run's start, so that it never claims again
    a mailbox it gave back itself, due `sync.worker_interval` after that) and whose lease is free or expired, the
    longest due first; rows another claimer holds locked are skipped, never waited for."""
    assert limit >= 1 and lease_for > timedelta(0)
    now = now or database_now(conn)
    due_at = now if due_by is None else min(now, due_by)
    due = (
        select(mailbox_sync.c.mailbox)
        .where(
            or_(mailbox_sync.c.next_run_utc.is_(None), mailbox_sync.c.next_run_utc <= due_at),
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
        # The next run is cleared while leased (NULL: due, should the lease expire unreleased): a next run written
        # under the lease is a change notification the pass under way may have missed (`make_due`), and the
        # release keeps it if it is sooner than the one it would set (`release_lease`). This claim's pass reads the
        # changes notified before it, so an earlier lease's notification is settled here.
        conn.execute(
            update(mailbox_sync)
            .where(mailbox_sync.c.mailbox == mailbox)
            .values(lease_owner=owner, lease_until_utc=until, lease_token=token, next_run_utc=None)
        )
        leases.append(Lease(mailbox=mailbox, owner=owner, token=token, until=until))
    return leases


def extend_lease(conn: Connection, lease: Lease, now: datetime | None, lease_for: timedelta) -> Lease | None:
    """The lease moved to `now + lease_for` (the database's clock when `now` is None); None when it is no longer
    this worker's (expired and claimed again, or the row gone: `mailbox_gone`)."""
    until = (now or database_now(conn)) + lease_for
    result = conn.execute(
        update(mailbox_sync)
        .where(mailbox_sync.c.mailbox == lease.mailbox, mailbox_sync.c.lease_token == lease.token)
        .values(lease_until_utc=until)
    )
    return Lease(lease.mailbox, lease.owner, lease.token, until) if result.rowcount == 1 else None


def release_lease(conn: Connection, lease: Lease, next_run: datetime | timedelta) -> bool:
    """Give the mailbox back, due again at `next_run` (a timedelta: that long after the database's now), or sooner
    if a change notification made it due while leased (`make_due`: the next run written under the lease, which
    the claim cleared); False (nothing written) when the token is stale. Found by its token alone (random, one per
    claim): a person renamed while leased took the row, lease and all, to the new address (`rename_person`), and
    the worker gives it back there (it worked the old one; its writes to it were refused)."""
    if isinstance(next_run, timedelta):
        next_run = database_now(conn) + next_run
    notified = mailbox_sync.c.next_run_utc
    result = conn.execute(
        update(mailbox_sync)
        .where(mailbox_sync.c.lease_token == lease.token)
        .values(
            next_run_utc=case((and_(notified.is_not(None), notified < next_run), notified), else_=next_run),
            lease_owner=None,
            lease_until_utc=None,
            lease_token=None,
        )
    )
    return result.rowcount == 1


def mailbox_gone(conn: Connection, mailbox: str) -> bool:
    """The mailbox has no row in the queue any more: its person was removed (or renamed) while it was leased;
    no worker took it over."""
    found = conn.execute(select(mailbox_sync.c.mailbox).where(mailbox_sync.c.mailbox == email_key(mailbox)))
    return found.first() is None


def live_leases(
    conn: Connection, now: datetime | None = None, mailboxes: Iterable[str] | None = None
) -> list[Lease]:
    """The leases not expired at `now` (the database's clock when None), the latest first; of `mailboxes` only
    when given (a plain `sync` refuses to run beside them; `sync purge` beside its person's)."""
    now = now or database_now(conn)
    wanted = None if mailboxes is None else sorted({email_key(m) for m in mailboxes})
    if wanted == []:
        return []
    # Databases cap the bound parameters of one statement (PostgreSQL 65,535): many mailboxes are asked in chunks.
    chunks: list[list[str] | None] = (
        [None] if wanted is None else [wanted[i : i + 500] for i in range(0, len(wanted), 500)]
    )
    leases: list[Lease] = []
    for chunk in chunks:
        rows = conn.execute(
            select(
                mailbox_sync.c.mailbox,
                mailbox_sync.c.lease_owner,
                mailbox_sync.c.lease_token,
                mailbox_sync.c.lease_until_utc,
            ).where(
                mailbox_sync.c.lease_token.is_not(None),
                mailbox_sync.c.lease_until_utc > now,
                *([] if chunk is None else [mailbox_sync.c.mailbox.in_(chunk)]),
            )
        )
        leases += [Lease(mailbox=m, owner=o or "?", token=t, until=u) for m, o, t, u in rows]
    return sorted(leases, key=lambda lease: (-lease.until.timestamp(), lease.mailbox))


def make_due(conn: Connection, mailbox: str, delay: timedelta, under_lease: bool = True) -> None:
    """A change notification named `mailbox` (`roomsops serve --worker`), or a change in ROOMS its pass has not
    written (`under_lease` False): its next run moved to `delay` from the database's now (never later than it was), so whichever worker
    claims it next works it. Written under a live lease too, and so kept in the database whatever becomes of the
    service that took the notification: the claim cleared the next run, and giving the lease back keeps this one
    if it is sooner (`release_lease`: the pass under way may have read the mailbox before the change). Without
    `under_lease` a live lease leaves the row as it is (a change in ROOMS: the pass under way most likely reads it,
    and every service that saw it unsynced meanwhile would otherwise bring a second pass). A mailbox without a row
    (a person not synced yet) is queued due at once anyway."""
    key = email_key(mailbox)
    now = database_now(conn)
    due = now + delay
    free = (
        []
        if under_lease
        else [or_(mailbox_sync.c.lease_until_utc.is_(None), mailbox_sync.c.lease_until_utc <= now)]
    )
    conn.execute(
        update(mailbox_sync)
        .where(
            mailbox_sync.c.mailbox == key,
            or_(mailbox_sync.c.next_run_utc.is_(None), mailbox_sync.c.next_run_utc > due),
            *free,
        )
        .values(next_run_utc=due)
    )


def _aware(when: datetime) -> datetime:
    """A stored time as UTC (SQLite gives naive ones back)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def queue_state(conn: Connection) -> tuple[int, datetime | None, datetime, datetime | None]:
    """For a service's scheduler (`roomsops serve --worker`): how many mailboxes are due now and free to claim
    (lease free or expired), the earliest next run of those free but not due yet (None: none), the database's
    now they were counted at, and the earliest end of a live lease under which a change notification made its
    mailbox due (`make_due`; None: none) — that mailbox is due once the lease is given back, at the latest when
    it ends."""
    now = database_now(conn)
    free = or_(mailbox_sync.c.lease_until_utc.is_(None), mailbox_sync.c.lease_until_utc <= now)
    due = conn.execute(
        select(func.count())
        .select_from(mailbox_sync)
        .where(free, or_(mailbox_sync.c.next_run_utc.is_(None), mailbox_sync.c.next_run_utc <= now))
    ).scalar_one()
    soonest = conn.execute(
        select(func.min(mailbox_sync.c.next_run_utc)).where(free, mailbox_sync.c.next_run_utc > now)
    ).scalar_one()
    waiting = conn.execute(
        select(func.min(mailbox_sync.c.lease_until_utc)).where(
            mailbox_sync.c.lease_until_utc > now, mailbox_sync.c.next_run_utc.is_not(None)
        )
    ).scalar_one()
    return (
        int(due),
        None if soonest is None else _aware(soonest),
        now,
        None if waiting is None else _aware(waiting),
    )
