"""`roomsops sync --worker` (issue 27.2): one of several sync workers sharing a PostgreSQL database.

The mailbox state table is the queue (`adapters/store/leases.py`). A worker, in a loop:
1. gives every synced person's mailbox a row in the queue (due now) if it has none, and claims up to `batch` due
   mailboxes whose lease is free or expired (``FOR UPDATE SKIP LOCKED``), committed at once: no row lock is held
   while it talks to Exchange;
2. works the batch with the pass code of a plain sync (`run.sync_pass`, phase by phase), every write of a mailbox
   fenced by its lease token and the leases extended at each write and each phase (`fence.py`), and each calendar
   write sent only after its lease was verified right before it: a worker whose lease expired and was claimed by
   another writes nothing more, in the database or in Exchange (reported: `lease_lost`); the same for the persons
   who left the sync whose mailboxes it claimed (their cancellations and purges);
3. releases each lease by its token as soon as the mailbox's pass is done (its last phase), the mailbox due again
   `sync.worker_interval` seconds later (a release refused is a lease lost too); what is left at the end of the
   batch (the persons who left the sync) is released then. A worker killed mid-batch so leaves to expire only
   the leases of the mailboxes it had not finished.
Without `until_idle` one batch is worked; with it, batches until nothing is due that was due when the run started
(by the database's clock): a mailbox the run gave back itself is due again only after that, so a round longer than
`sync.worker_interval` does not work it twice, and the run ends (the next run takes what became due meanwhile). Workers hold the run lock shared
(`services/sync/lock.py`: any number at once; a plain `sync` is refused beside them, and it refuses them), and a
plain `sync` also refuses while a lease is live (`refuse_beside_leases`), so a killed worker's mailboxes are not
worked by a plain sync before its leases expire.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from roomsops.adapters.store import Store, email_key, now_utc
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.leases import (
    Lease,
    claim_mailboxes,
    database_now,
    ensure_mailboxes,
    live_leases,
    release_lease,
)
from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.logs import AuditLog, log
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.core.vocabulary import SYNCED_MODES
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.engine import MailboxReport
from roomsops.services.sync.fence import LEASE_LOST, MAILBOX_GONE, Fence
from roomsops.services.sync.run import COUNTS, SyncResult, sync_pass

#: Mailboxes a worker claims at once by default (`--batch`).
DEFAULT_BATCH = 50
BATCH_MAX = 10000


def worker_name() -> str:
    """The worker's name in `lease_owner`: host, pid and a random part (a pid is reused across restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:200]


def refuse_on_sqlite(store_is_postgresql: bool, command: str = "sync") -> None:
    """`roomsops sync --worker` (or `serve --worker`, `command`) on SQLite: exit 2."""
    if not store_is_postgresql:
        raise InputError(
            f"{command} --worker needs a PostgreSQL database (rooms.database); with SQLite one 'roomsops "
            f"{command}' works every mailbox under the run lock",
            f"run 'roomsops {command}' without --worker, or move the installation to PostgreSQL with 'roomsops db "
            "copy --to URL' (README: Scaling out)",
            code="worker_needs_postgresql",
        )


#: Seconds one call to Exchange may wait in all before its request is given up (the EWS and Graph clients'
#: `retry_budget`: 429/503 waited out, reads sent again).
RETRY_BUDGET = 60


def longest_write(settings: Settings) -> int:
    """The longest one calendar write may take, in seconds: a send (bounded by network.timeout_seconds), the retry
    budget's waits, and the send after the last wait."""
    return int(2 * settings.network.timeout_seconds + RETRY_BUDGET + 0.999)


def refuse_short_lease(settings: Settings) -> None:
    """A lease is extended right before each write and must outlast it (`fence.py`), or it runs out while the
    write is in flight and the next owner sends it again: `sync.worker_lease` shorter than twice the longest write
    (a margin for the extension itself and a slow database) is a bad setting (exit 2)."""
    needed = 2 * longest_write(settings)
    if settings.sync.worker_lease < needed:
        raise InputError(
            f"sync.worker_lease is {settings.sync.worker_lease} s, shorter than {needed} s (twice one calendar "
            f"write's longest time: network.timeout_seconds {settings.network.timeout_seconds:g} s twice plus "
            f"{RETRY_BUDGET} s of retry waits): a lease would run out while a write is in flight and another worker "
            "would send it again; nothing was changed",
            f"set sync.worker_lease to {needed} or more (default 600), or lower network.timeout_seconds",
            code="worker_lease_too_short",
        )


def leased(store: Store, mailboxes: list[str]) -> set[str]:
    """Of `mailboxes`, those sync workers hold live leases on (by the database's clock); none on SQLite."""
    if not store.is_postgresql or not mailboxes:
        return set()
    with store.read() as conn:
        return {lease.mailbox for lease in live_leases(conn, None, mailboxes)}


def refuse_beside_leases(
    store: Store,
    mailboxes: list[str] | None = None,
    what: str = "a plain sync does not run beside them",
    command: str = "'roomsops sync'",
) -> None:
    """A plain `sync` (or `sync purge`, `resolve`, `migrate`: of `mailboxes` only, when given) on a server database
    refuses while sync workers hold live leases (exit 1), by the database's clock: it would work mailboxes a worker
    is working (a worker killed leaves its leases until they expire)."""
    if not store.is_postgresql:
        return
    with store.read() as conn:
        live = live_leases(conn, None, mailboxes)
    if live:
        until = max(lease.until for lease in live).isoformat(timespec="seconds")
        raise OperationFailed(
            f"{len(live)} mailbox(es) are leased by sync workers (e.g. {live[0].mailbox} by {live[0].owner}) until "
            f"{until} at the latest; {what}",
            f"let the workers ('roomsops sync --worker') sync, or stop them and run {command} after "
            f"{until} (a stopped worker's leases expire then)",
            code="sync_leased",
        )


@dataclass(frozen=True)
class WorkerResult(Result):
    owner: str
    started: datetime
    finished: datetime
    batches: int
    claimed: int
    mailboxes: tuple[MailboxReport, ...]
    #: mailboxes whose lease this worker lost (expired and claimed by another worker): their writes were refused
    lease_lost: tuple[str, ...]
    heartbeats: int  # lease extensions made (per write and per phase of a batch)
    #: calendar writes sent only after their mailbox's lease was verified (and extended) right before (`fence.py`)
    writes_fenced: int = 0
    #: persons who left the sync whose mailboxes this worker claimed: what it did about their meetings (as `sync`)
    left_sync: dict[str, dict[str, object]] = field(default_factory=dict)
    #: leased mailboxes whose person was removed or renamed meanwhile (their queue row gone, no worker took them
    #: over): their writes were refused, nothing failed
    left_meanwhile: tuple[str, ...] = ()
    #: why the worker stopped before it was idle (its run lock lost), or None
    stopped: dict[str, str | None] | None = None

    @property
    def ok(self) -> bool:
        return (
            all(m.ok or m.error_code == MAILBOX_GONE for m in self.mailboxes)
            and not self.lease_lost
            and self.stopped is None
        )

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(m, k) for m in self.mailboxes) for k in COUNTS}

    def lines(self) -> list[str]:
        out = SyncResult(
            self.started, self.finished, False, self.mailboxes, left_sync=self.left_sync
        ).lines()[:-1]
        failed = [
            m.mailbox for m in self.mailboxes if not m.ok and m.error_code not in (LEASE_LOST, MAILBOX_GONE)
        ]
        totals = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in self.totals.items() if v) or "no changes"
        out.append(
            f"worker {self.owner}: {self.batches} batch(es), {len(self.mailboxes)} mailbox(es): {totals}"
            + (f"; failed: {', '.join(failed)}" if failed else "")
            + (
                f"; lease lost (taken over by another worker, writes refused): {', '.join(self.lease_lost)}"
                if self.lease_lost
                else ""
            )
            + (
                f"; removed or renamed while worked (writes refused): {', '.join(self.left_meanwhile)}"
                if self.left_meanwhile
                else ""
            )
        )
        if self.stopped is not None:
            out.append(f"stopped: {self.stopped['message']} — {self.stopped['remedy']}")
        return out


def worker_run(
    store: Store,
    backend: CalendarBackend,
    settings: Settings,
    audit: AuditLog,
    *,
    batch: int = DEFAULT_BATCH,
    until_idle: bool = False,
    concurrency: int = 4,
    owner: str | None = None,
    progress: Callable[[str], None] | None = None,
    lock_held: Callable[[], bool] | None = None,
    interval_for: Callable[[str], timedelta] | None = None,
) -> WorkerResult:
    """`lock_held`: whether this worker still holds the run lock (its connection may have ended: an idle timeout, a
    server restart); asked before each claim, and a worker that lost it claims nothing more (exit 1).
    `interval_for`: how long after its pass a mailbox (its key) is due again, instead of `sync.worker_interval`
    (`roomsops serve --worker`: `serve.ews_interval` or `serve.graph_interval` by the mailbox's service)."""
    refuse_on_sqlite(store.is_postgresql)
    owner = owner or worker_name()
    lease_for = timedelta(seconds=settings.sync.worker_lease)
    interval: timedelta | Callable[[str], timedelta] = interval_for or timedelta(
        seconds=settings.sync.worker_interval
    )
    started = now_utc()
    reports: list[MailboxReport] = []
    left_sync: dict[str, dict[str, object]] = {}
    lost: list[str] = []
    gone: set[str] = set()
    stopped: OperationFailed | None = None
    batches = claimed = heartbeats = fenced = 0
    ensured = False
    due_by: datetime | None = None
    while True:
        if not ensured:
            # Once per run, not per batch: reading every person for each batch of 50 made the database's cost
            # per mailbox grow with the number of persons (a person added meanwhile is queued by the next run).
            with store.read() as conn:
                mailboxes = [p.email for p in q.list_persons(conn, sync_modes=SYNCED_MODES)]
        if lock_held is not None and not lock_held():
            stopped = OperationFailed(
                f"sync worker {owner} lost its run lock (its database connection ended: an idle timeout, a network "
                f"failure, a server restart) after {batches} batch(es); it claims no more mailboxes (a plain sync may "
                "hold the lock now)",
                "start the worker again (cron, systemd or serve does); if this repeats, look for what ends idle "
                "connections to the database (a firewall, idle_session_timeout)",
                code="worker_lock_lost",
            )
            log.error(stopped.one_line(), extra={"fields": {"event": "lock_lost", "owner": owner}})
            break
        # From the claim to the batch's pass, one `try`: a SIGTERM landing anywhere after the claim committed
        # (before the fence exists, review27s) gives the claimed leases back like one landing mid-pass.
        leases: list[Lease] = []
        fence: Fence | None = None
        try:
            with store.leases() as conn:  # committed at once: the claim's row locks end here
                if not ensured:
                    ensure_mailboxes(conn, mailboxes, now_utc())
                    ensured = True
                    # The run's start by the database's clock: only what was due by then is claimed in this run. A
                    # mailbox this run gave back is due `sync.worker_interval` after its release, later than this: a
                    # round longer than the interval never claims it again (it never became idle, review27).
                    due_by = database_now(conn)
                leases = claim_mailboxes(
                    conn, owner, None, lease_for, batch, due_by
                )  # by the database's clock
            if not leases:
                break
            batches += 1
            claimed += len(leases)
            log.info(
                "sync worker %s: claimed %d mailbox(es)",
                owner,
                len(leases),
                extra={"fields": {"event": "claim", "owner": owner, "mailboxes": len(leases)}},
            )
            # Each mailbox's lease is given back as soon as its pass is done (`Fence.release`), not with the batch's.
            fence = Fence({lease.mailbox: lease for lease in leases}, lease_for, release_after=interval)
            result = sync_pass(
                store,
                backend,
                settings,
                audit,
                [lease.mailbox for lease in leases],
                False,
                concurrency,
                progress,
                False,
                fence=fence,
            )
        except BaseException:
            # Interrupted (SIGTERM, Ctrl-C) or a database failure: what this worker still holds is given back, due
            # at once, so the other workers need not wait for the leases to expire (a SIGKILL leaves them to that).
            if fence is None and leases:
                fence = Fence({lease.mailbox: lease for lease in leases}, lease_for, release_after=interval)
            if fence is not None:
                _give_back(store, fence)
            raise
        reports += result.mailboxes
        left_sync |= {p: said for p, said in result.left_sync.items() if email_key(p) not in fence.lost}
        heartbeats += fence.heartbeats
        fenced += fence.verified
        with store.leases() as conn:
            released = {
                lease.mailbox: lease.mailbox not in fence.lost
                and (
                    lease.mailbox in fence.released  # given back when its pass was done
                    or release_lease(
                        conn, fence.leases[lease.mailbox], fence.due_again(lease.mailbox)
                    )  # by the database's clock
                )
                for lease in leases
            }
            for mailbox in fence.gone:  # renamed meanwhile: the lease went with the row; due at once there
                release_lease(conn, fence.leases[mailbox], timedelta(0))
        gone |= fence.gone
        for mailbox, ok in released.items():
            if not ok and mailbox in fence.gone:
                log.info(
                    "sync worker %s: %s was removed or renamed while worked; its writes were refused",
                    owner,
                    mailbox,
                    extra={"fields": {"event": "mailbox_gone", "owner": owner, "mailbox": mailbox}},
                )
            elif not ok:
                lost.append(mailbox)
                log.warning(
                    "sync worker %s: the lease on %s was lost (another worker took it over); its writes were refused",
                    owner,
                    mailbox,
                    extra={"fields": {"event": "lease_lost", "owner": owner, "mailbox": mailbox}},
                )
        if not until_idle:
            break
    return WorkerResult(
        owner=owner,
        started=started,
        finished=now_utc(),
        batches=batches,
        claimed=claimed,
        mailboxes=tuple(reports),
        lease_lost=tuple(sorted(set(lost))),
        left_meanwhile=tuple(sorted(gone)),
        stopped=None if stopped is None else stopped.as_dict(),
        heartbeats=heartbeats,
        writes_fenced=fenced,
        left_sync=left_sync,
    )


def _give_back(store: Store, fence: Fence) -> None:
    """The leases of an interrupted batch given back, due at once; never one whose mailbox has a calendar write in
    flight (a second SIGTERM interrupts the wait for it): that lease expires `sync.worker_lease` after the write's
    last extension, so no other worker sends the write again before its answer is in."""
    returned = fence.close()
    try:
        with store.leases() as conn:
            for lease in returned:
                release_lease(conn, lease, timedelta(0))
    except Exception:  # the database itself may be what failed: the leases then expire
        log.debug("sync worker: the leases could not be given back", exc_info=True)
        return
    kept = sorted(key for key, count in fence.in_flight.items() if count)
    log.info(
        "sync worker: interrupted: %d lease(s) given back, due at once; kept until they expire (a write in "
        "flight): %s",
        len(returned),
        ", ".join(kept) or "none",
    )
