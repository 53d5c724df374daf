"""The lease fence of a sync worker's batch (issue 27.2): every write of a leased mailbox's pass is fenced by the
worker's lease token.

A worker (`services/sync/worker.py`) claims mailboxes (`adapters/store/leases.py`) and works them with the pass code
of a plain sync. Each write transaction of a leased mailbox's pass (an intent before a calendar write, a link after
it, the stored position at the end) first extends the mailbox's lease *by its token*, in the same transaction: when
the token is no longer the row's (the lease expired and another worker claimed the mailbox), the update touches no
row, `LeaseLost` is raised and the transaction rolls back, so a stale worker writes nothing more of that mailbox,
and, since an intent is stored before every calendar write, sends no further write to Exchange either. The extension
is the heartbeat: one per write transaction and one per phase of the batch (`heartbeat`), counted, never timed.

The calendar write itself is fenced too (`FencedCalendar`, issue 27.3): the intent's transaction proves the lease
when the intent is stored, not when the write is sent (a slow worker, a long pause, may lose the lease between the
two). Right before each calendar write of a leased mailbox (create, update, tag, cancel, taking rooms off, removing
a room's copy via the organizer's pass) the lease is extended by its token in its own short transaction
(extend-and-verify): refused, nothing is sent (`LeaseLost`); granted, the lease runs `sync.worker_lease` seconds
from that moment, longer than one write takes (its timeouts and retry waits), so no other worker can claim the
mailbox before the write's answer is in. The meetings of persons who left the sync (cancelled or purged by the
worker that claimed their mailbox) go through the same fence, in Exchange and in the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from roomsops.adapters.store import Store, email_key, now_utc
from roomsops.adapters.store.leases import Lease, extend_lease
from roomsops.core.calendar import BackendError, Changes, Meeting, MeetingFields
from roomsops.core.errors import OperationFailed
from roomsops.services.sync.backend import CalendarBackend

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
    #: calendar writes whose lease was verified (and extended) right before they were sent (`verify`)
    verified: int = 0
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

    def _held(self, mailbox: str) -> tuple[str, Lease | None, bool]:
        key = email_key(mailbox)
        with self._lock:
            return key, self.leases.get(key), key in self.lost

    def _extended(
        self, key: str, extended: Lease | None, mailbox: str, *, before_write: bool = False
    ) -> None:
        """Record an extension's outcome; `LeaseLost` when the lease was lost."""
        with self._lock:
            if extended is None:
                self.lost.add(key)
            else:
                self.leases[key] = extended
                self.heartbeats += 1
                self.verified += before_write
        if extended is None:
            raise self.refusal(mailbox)

    def check(self, conn: Connection, mailbox: str, now: datetime) -> None:
        """Extend the mailbox's lease by its token in `conn`'s transaction; `LeaseLost` when the token is stale.
        A mailbox this fence does not lease is not fenced (a plain sync's pass)."""
        key, lease, lost = self._held(mailbox)
        if lease is not None:
            self._extended(key, None if lost else extend_lease(conn, lease, now, self.lease_for), mailbox)

    def verify(self, store: Store, mailbox: str, now: datetime) -> None:
        """Right before a calendar write to `mailbox`: extend its lease by its token in a short transaction of its
        own; `LeaseLost` (nothing may be sent) when the lease is lost. A mailbox this fence does not lease is not
        fenced."""
        key, lease, lost = self._held(mailbox)
        if lease is None:
            return
        if lost:
            raise self.refusal(mailbox)
        with store.leases() as conn:
            extended = extend_lease(conn, lease, now, self.lease_for)
        self._extended(key, extended, mailbox, before_write=True)

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


class FencedCalendar:
    """The calendar a worker's batch writes through: each write to a leased mailbox (a room's copy: the organizer's
    pass, `via`) is sent only after `Fence.verify` proved and extended the lease; reads go straight through."""

    def __init__(
        self,
        inner: CalendarBackend,
        fence: Fence,
        store: Store,
        now: Callable[[], datetime] = now_utc,
    ) -> None:
        self.inner, self.fence, self.store, self.now = inner, fence, store, now

    def _verify(self, mailbox: str | None) -> None:
        if mailbox:
            self.fence.verify(self.store, mailbox, self.now())

    # --- reads ---

    def requests_sent(self) -> int:
        return self.inner.requests_sent()

    def service_of(self, mailbox: str) -> str:
        return self.inner.service_of(mailbox)

    def changes(self, mailbox: str, state: str | None) -> Changes:
        return self.inner.changes(mailbox, state)

    def get(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        return self.inner.get(mailbox, item_ids)

    def in_calendar(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        return self.inner.in_calendar(mailbox, item_ids)

    def find_tagged(self, mailbox: str, installation: str, booking_id: str | None = None) -> list[Meeting]:
        return self.inner.find_tagged(mailbox, installation, booking_id)

    def find_untagged(self, mailbox: str, start: datetime, end: datetime) -> list[Meeting]:
        return self.inner.find_untagged(mailbox, start, end)

    def series_exceptions(self, mailbox: str, meeting: Meeting) -> Meeting:
        return self.inner.series_exceptions(mailbox, meeting)

    def room_calendar(
        self, room: str, start: datetime, end: datetime, uid: str | None = None, *, via: str | None = None
    ) -> list[Meeting]:
        return self.inner.room_calendar(room, start, end, uid, via=via)

    def primary_address(self, address: str, via: str) -> str | None:
        return self.inner.primary_address(address, via)

    def resolves_aliases_for(self, via: str) -> bool:
        """Whether the mailbox's service resolves aliases (the engine asks a backend so; Graph does not)."""
        routed = getattr(self.inner, "resolves_aliases_for", None)
        return bool(routed(via)) if routed else bool(getattr(self.inner, "resolves_aliases", True))

    # --- writes: fenced ---

    def create(
        self,
        mailbox: str,
        fields: MeetingFields,
        installation: str,
        booking_id: str,
        revision: str | None = None,
    ) -> Meeting:
        self._verify(mailbox)
        return self.inner.create(mailbox, fields, installation, booking_id, revision)

    def create_many(
        self, mailbox: str, requests: Sequence[tuple[MeetingFields, str, str]], revision: str | None = None
    ) -> list[Meeting | BackendError]:
        self._verify(mailbox)
        return self.inner.create_many(mailbox, requests, revision)

    def update(
        self, mailbox: str, meeting: Meeting, fields: MeetingFields, revision: str | None = None
    ) -> Meeting:
        self._verify(mailbox)
        return self.inner.update(mailbox, meeting, fields, revision)

    def tag(
        self, mailbox: str, meeting: Meeting, installation: str, booking_id: str, revision: str | None = None
    ) -> Meeting:
        self._verify(mailbox)
        return self.inner.tag(mailbox, meeting, installation, booking_id, revision)

    def remove_attendees(self, mailbox: str, meeting: Meeting, addresses: Sequence[str]) -> None:
        self._verify(mailbox)
        self.inner.remove_attendees(mailbox, meeting, addresses)

    def delete_copy(self, room: str, meeting: Meeting, *, via: str | None = None) -> None:
        self._verify(via)
        self.inner.delete_copy(room, meeting, via=via)

    def cancel(self, mailbox: str, meeting: Meeting) -> None:
        self._verify(mailbox)
        self.inner.cancel(mailbox, meeting)
