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
3. releases each lease by its token, the mailbox due again `sync.worker_interval` seconds later (a release refused
   is a lease lost too).
Without `until_idle` one batch is worked; with it, batches until nothing is due. Workers hold the run lock shared
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
from roomsops.adapters.store.leases import claim_mailboxes, ensure_mailboxes, live_leases, release_lease
from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.logs import AuditLog, log
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.core.vocabulary import SYNCED_MODES
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.engine import MailboxReport
from roomsops.services.sync.fence import LEASE_LOST, Fence
from roomsops.services.sync.run import COUNTS, SyncResult, sync_pass

#: Mailboxes a worker claims at once by default (`--batch`).
DEFAULT_BATCH = 50
BATCH_MAX = 10000


def worker_name() -> str:
    """The worker's name in `lease_owner`: host, pid and a random part (a pid is reused across restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:200]


def refuse_on_sqlite(store_is_postgresql: bool) -> None:
    if not store_is_postgresql:
        raise InputError(
            "sync --worker needs a PostgreSQL database (rooms.database); with SQLite one 'roomsops sync' works "
            "every mailbox under the run lock",
            "run 'roomsops sync' without --worker, or move the installation to PostgreSQL with 'roomsops db copy "
            "--to URL' (README: Scaling out)",
            code="worker_needs_postgresql",
        )


def refuse_beside_leases(store: Store) -> None:
    """A plain `sync` on a server database refuses while sync workers hold live leases (exit 1): it would work
    mailboxes a worker is working (a worker killed leaves its leases until they expire)."""
    if not store.is_postgresql:
        return
    with store.read() as conn:
        live = live_leases(conn, now_utc())
    if live:
        until = max(lease.until for lease in live).isoformat(timespec="seconds")
        raise OperationFailed(
            f"{len(live)} mailbox(es) are leased by sync workers (e.g. {live[0].mailbox} by {live[0].owner}) until "
            f"{until} at the latest; a plain sync does not run beside them",
            "let the workers ('roomsops sync --worker') sync, or stop them and run 'roomsops sync' after "
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

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.mailboxes) and not self.lease_lost

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(m, k) for m in self.mailboxes) for k in COUNTS}

    def lines(self) -> list[str]:
        out = SyncResult(
            self.started, self.finished, False, self.mailboxes, left_sync=self.left_sync
        ).lines()[:-1]
        failed = [m.mailbox for m in self.mailboxes if not m.ok and m.error_code != LEASE_LOST]
        totals = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in self.totals.items() if v) or "no changes"
        out.append(
            f"worker {self.owner}: {self.batches} batch(es), {len(self.mailboxes)} mailbox(es): {totals}"
            + (f"; failed: {', '.join(failed)}" if failed else "")
            + (
                f"; lease lost (taken over by another worker, writes refused): {', '.join(self.lease_lost)}"
                if self.lease_lost
                else ""
            )
        )
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
) -> WorkerResult:
    refuse_on_sqlite(store.is_postgresql)
    owner = owner or worker_name()
    lease_for = timedelta(seconds=settings.sync.worker_lease)
    interval = timedelta(seconds=settings.sync.worker_interval)
    started = now_utc()
    reports: list[MailboxReport] = []
    left_sync: dict[str, dict[str, object]] = {}
    lost: list[str] = []
    batches = claimed = heartbeats = fenced = 0
    ensured = False
    while True:
        if not ensured:
            # Once per run, not per batch: reading every person for each batch of 50 made the database's cost
            # per mailbox grow with the number of persons (a person added meanwhile is queued by the next run).
            with store.read() as conn:
                mailboxes = [p.email for p in q.list_persons(conn, sync_modes=SYNCED_MODES)]
        with store.leases() as conn:  # committed at once: the claim's row locks end here
            now = now_utc()
            if not ensured:
                ensure_mailboxes(conn, mailboxes, now)
                ensured = True
            leases = claim_mailboxes(conn, owner, now, lease_for, batch)
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
        fence = Fence({lease.mailbox: lease for lease in leases}, lease_for)
        try:
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
            _give_back(store, fence)
            raise
        reports += result.mailboxes
        left_sync |= {p: said for p, said in result.left_sync.items() if email_key(p) not in fence.lost}
        heartbeats += fence.heartbeats
        fenced += fence.verified
        next_run = now_utc() + interval
        with store.leases() as conn:
            released = {
                lease.mailbox: lease.mailbox not in fence.lost
                and release_lease(conn, fence.leases[lease.mailbox], next_run)
                for lease in leases
            }
        for mailbox, ok in released.items():
            if not ok:
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
        heartbeats=heartbeats,
        writes_fenced=fenced,
        left_sync=left_sync,
    )


def _give_back(store: Store, fence: Fence) -> None:
    try:
        with store.leases() as conn:
            now = now_utc()
            for key, lease in fence.leases.items():
                if key not in fence.lost:
                    release_lease(conn, lease, now)
    except Exception:  # the database itself may be what failed: the leases then expire
        log.debug("sync worker: the leases could not be given back", exc_info=True)
