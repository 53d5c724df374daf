"""The lease fence of a sync worker's batch (issue 27.2): every write of a leased mailbox's pass is fenced by the
worker's lease token.

A worker (`services/sync/worker.py`) claims mailboxes (`adapters/store/leases.py`) and works them with the pass code
of a plain sync. Each write transaction of a leased mailbox's pass (an intent before a calendar write, a link after
it, the stored position at the end) first extends the mailbox's lease *by its token*, in the same transaction: when
the token is no longer the row's (the lease expired and another worker claimed the mailbox), the update touches no
row, `LeaseLost` is raised and the transaction rolls back, so a stale worker writes nothing more of that mailbox,
and, since an intent is stored before every calendar write, sends no further write to Exchange either. The extension
is the heartbeat: one per write transaction and one per phase of the batch (`heartbeat`), counted, never timed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from roomsops.adapters.store import Store, email_key
from roomsops.adapters.store.leases import Lease, extend_lease
from roomsops.core.errors import OperationFailed

#: The error code of a mailbox whose lease this worker lost (its writes refused).
LEASE_LOST = "lease_lost"


class LeaseLost(OperationFailed):
    code = LEASE_LOST


@dataclass
class Fence:
    """The leases of one batch: mailbox key → its lease; what was lost, and how many extensions were made."""

    leases: dict[str, Lease]
    lease_for: timedelta
    lost: set[str] = field(default_factory=set)
    heartbeats: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def is_lost(self, mailbox: str) -> bool:
        with self._lock:
            return email_key(mailbox) in self.lost

    def refusal(self, mailbox: str) -> LeaseLost:
        return LeaseLost(
            f"this worker's lease on {mailbox} expired and another worker took the mailbox over: its writes were "
            "refused (nothing more of this pass is stored or sent)",
            "nothing to do: the worker holding the mailbox now syncs it; if this repeats, raise sync.worker_lease "
            "or lower --batch",
        )

    def check(self, conn: Connection, mailbox: str, now: datetime) -> None:
        """Extend the mailbox's lease by its token in `conn`'s transaction; `LeaseLost` when the token is stale.
        A mailbox this fence does not lease is not fenced (a plain sync's pass)."""
        key = email_key(mailbox)
        with self._lock:
            lease = self.leases.get(key)
            lost = key in self.lost
        if lease is None:
            return
        extended = None if lost else extend_lease(conn, lease, now, self.lease_for)
        with self._lock:
            if extended is None:
                self.lost.add(key)
            else:
                self.leases[key] = extended
                self.heartbeats += 1
        if extended is None:
            raise self.refusal(mailbox)

    def heartbeat(self, store: Store, now: datetime) -> None:
        """Extend every lease still held, in one short transaction without the writers' lock (`Store.leases`);
        a lease found stale is marked lost (its mailbox's pass then fails with `LeaseLost`)."""
        with self._lock:
            held = [lease for key, lease in self.leases.items() if key not in self.lost]
        if not held:
            return
        with store.leases() as conn:
            found = [(lease, extend_lease(conn, lease, now, self.lease_for)) for lease in held]
        with self._lock:
            for lease, extended in found:
                if extended is None:
                    self.lost.add(lease.mailbox)
                else:
                    self.leases[lease.mailbox] = extended
                    self.heartbeats += 1
