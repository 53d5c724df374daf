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
two). Right before each write request of a leased mailbox's calendar write (create, update, tag, cancel, taking
rooms off, removing a room's copy via the organizer's pass) is put on the wire, the client asks `before_write()`
(`core/write_fence.py`, `FencedCalendar._fenced`), and the lease is extended by its token in its own short
transaction (extend-and-verify): refused, nothing is sent (`LeaseLost`); granted, the lease runs
`sync.worker_lease` seconds from that moment, longer than one request takes (its timeouts and retry waits), so no
other worker can claim the mailbox before the answer is in. Every request of a write is verified so, the first
included (a $batch per 20 new meetings, a series' master and then its occurrences: together they may outlast the
lease). What remains (review27s): a worker that stalls past its lease between that check and the bytes on the
socket sends its request after another worker may have taken the mailbox over; over EWS (no idempotency key) a
create may then be a duplicate, which the next pass of the mailbox removes (docs/sync.md "Duplicates").
The meetings of persons who left the sync (cancelled or purged by the
worker that claimed their mailbox) go through the same fence, in Exchange and in the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from roomsops.adapters.store import Store, email_key, now_utc
from roomsops.adapters.store.leases import Lease, extend_lease, mailbox_gone, release_lease
from roomsops.core.calendar import BackendError, Changes, Meeting, MeetingFields
from roomsops.core.errors import OperationFailed
from roomsops.core.write_fence import checking
from roomsops.services.sync.backend import CalendarBackend

#: The error code of a mailbox whose lease this worker lost (its writes refused).
LEASE_LOST = "lease_lost"
#: The error code of a leased mailbox whose person was removed or renamed meanwhile (its queue row gone: no worker
#: took it over; its writes refused all the same: nothing is sent under an address the sync no longer has).
MAILBOX_GONE = "mailbox_gone"


class LeaseLost(OperationFailed):
    code = LEASE_LOST


#: The error code of a mailbox a plain sync stopped writing to because it lost its run lock (review27s).
LOCK_LOST = "lock_lost"


class LockLost(OperationFailed):
    code = LOCK_LOST


def lock_lost() -> LockLost:
    """A plain sync's run lock is gone (a server database's lock goes with its connection: an idle timeout, a
    dropped connection, pg_terminate_backend): the next sync may be running already, so nothing more is written."""
    return LockLost(
        "the sync lost its run lock (its database connection holding the lock ended: an idle timeout, a dropped "
        "connection, pg_terminate_backend); it sent no further write to Exchange",
        "keep the database connection alive (raise idle_session_timeout, or the firewall's idle timeout) and "
        "run 'roomsops sync' again: the next pass finishes what this one left",
    )


def lock_fence(held: Callable[[], bool]) -> Callable[[], None]:
    """The check before each write request of a plain sync (`core/write_fence.py`): its run lock still held."""

    def check() -> None:
        if not held():
            raise lock_lost()

    return check


class MailboxGone(LeaseLost):
    code = MAILBOX_GONE


@dataclass
class Fence:
    """The leases of one batch: mailbox key → its lease; what was lost (`gone`: of those, the mailboxes whose queue
    row was deleted, a person removed or renamed, not taken over), and how many extensions were made.

    Lease times are the database's clock (`extend_lease` without a `now`). Writes in flight are counted per mailbox
    (`writing`): a lease is never given back while a calendar write to its mailbox may be on its way (`close`), so
    no other worker can claim the mailbox and send the same write again before the answer is in."""

    leases: dict[str, Lease]
    lease_for: timedelta
    #: with a value: each mailbox's lease is given back as soon as its pass is done (`release`), due again this
    #: long after (a function of the mailbox's key: `roomsops serve --worker`'s interval per service), not at the
    #: end of the batch: a worker killed later leaves only what it still holds to expire
    release_after: timedelta | Callable[[str], timedelta] | None = None
    lost: set[str] = field(default_factory=set)
    #: mailboxes whose lease this worker gave back already (their pass done): never extended or given back again
    released: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    heartbeats: int = 0
    #: calendar writes whose lease was verified (and extended) right before they were sent (`verify`)
    verified: int = 0
    in_flight: dict[str, int] = field(default_factory=dict)
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def due_again(self, mailbox: str) -> timedelta:
        """How long after its release `mailbox` is due again (`release_after`; at once without one)."""
        after = self.release_after
        if after is None:
            return timedelta(0)
        return after(email_key(mailbox)) if callable(after) else after

    def is_lost(self, mailbox: str) -> bool:
        with self._lock:
            return email_key(mailbox) in self.lost

    def refusal(self, mailbox: str) -> OperationFailed:
        if email_key(mailbox) in self.gone:
            return MailboxGone(
                f"{mailbox} left the sync while this worker worked it (the person was removed or renamed): its "
                "writes were refused (nothing more of this pass is stored or sent under that address)",
                "nothing to do: a renamed person is synced under the new address by the next worker",
            )
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
        self,
        key: str,
        extended: Lease | None,
        mailbox: str,
        gone: bool = False,
        *,
        before_write: bool = False,
    ) -> None:
        """Record an extension's outcome; `LeaseLost` (`MailboxGone`) when the lease was lost."""
        with self._lock:
            if extended is None:
                self.lost.add(key)
                if gone:
                    self.gone.add(key)
            else:
                self.leases[key] = extended
                self.heartbeats += 1
                self.verified += before_write
        if extended is None:
            raise self.refusal(mailbox)

    def check(self, conn: Connection, mailbox: str, now: datetime | None = None) -> None:
        """Extend the mailbox's lease by its token in `conn`'s transaction; `LeaseLost` when the token is stale.
        A mailbox this fence does not lease is not fenced (a plain sync's pass)."""
        key, lease, lost = self._held(mailbox)
        if lease is not None:
            extended = None if lost else extend_lease(conn, lease, None, self.lease_for)
            self._extended(key, extended, mailbox, extended is None and mailbox_gone(conn, key))

    def verify(self, store: Store, mailbox: str, now: datetime | None = None) -> None:
        """Right before a calendar write to `mailbox`: extend its lease by its token in a short transaction of its
        own; `LeaseLost` (nothing may be sent) when the lease is lost. A mailbox this fence does not lease is not
        fenced."""
        key, lease, lost = self._held(mailbox)
        if lease is None:
            return
        if lost:
            raise self.refusal(mailbox)
        with store.leases() as conn:
            extended = extend_lease(conn, lease, None, self.lease_for)
            gone = extended is None and mailbox_gone(conn, key)
        self._extended(key, extended, mailbox, gone, before_write=True)

    @contextmanager
    def writing(self, mailbox: str | None) -> Iterator[None]:
        """A calendar write to `mailbox`, from before its lease is verified until its answer is in (or it failed):
        counted in flight, so `close` does not give that lease back meanwhile. Refused once the fence is closed."""
        key = email_key(mailbox) if mailbox else None
        if key is None or key not in self.leases:
            yield
            return
        with self._lock:
            if self.closed:
                refused = True
            else:
                refused = False
                self.in_flight[key] = self.in_flight.get(key, 0) + 1
        if refused:
            raise LeaseLost(
                f"this worker is stopping: no further write to {mailbox} is sent",
                "nothing to do: the next worker syncs the mailbox",
            )
        try:
            yield
        finally:
            with self._lock:
                self.in_flight[key] -= 1

    def close(self) -> list[Lease]:
        """No further write starts; the leases that may be given back now: held, not lost, and no write to their
        mailbox in flight (those are left to expire, `sync.worker_lease` after their last extension, which is
        longer than a write takes)."""
        with self._lock:
            self.closed = True
            return [
                lease
                for key, lease in self.leases.items()
                if (key not in self.lost or key in self.gone)
                and key not in self.released
                and not self.in_flight.get(key, 0)
            ]

    def release(self, store: Store, mailbox: str) -> None:
        """`mailbox`'s pass is done: its lease given back now (`release_after`), in a short transaction of its own,
        due again `release_after` later by the database's clock. Not a lease lost or given back already, nor one
        with a write in flight (none is, once its pass is done), nor any once the fence is closed (the batch's end
        or an interruption gives those back). A release refused (the token stale: another worker took the mailbox
        over) marks it lost, as an extension refused does."""
        if self.release_after is None:
            return
        key = email_key(mailbox)
        with self._lock:
            lease = self.leases.get(key)
            if (
                lease is None
                or self.closed
                or key in self.lost
                or key in self.released
                or self.in_flight.get(key, 0)
            ):
                return
            self.released.add(key)  # no heartbeat extends it meanwhile
        with store.leases() as conn:
            given_back = release_lease(conn, lease, self.due_again(key))
            gone = not given_back and mailbox_gone(conn, key)
        if not given_back:
            with self._lock:
                self.released.discard(key)
                self.lost.add(key)
                if gone:
                    self.gone.add(key)

    def heartbeat(self, store: Store, now: datetime | None = None) -> None:
        """Extend every lease still held, in one short transaction without the writers' lock (`Store.leases`);
        a lease found stale is marked lost (its mailbox's pass then fails with `LeaseLost`)."""
        with self._lock:
            held = [
                lease
                for key, lease in self.leases.items()
                if key not in self.lost and key not in self.released
            ]
        if not held:
            return
        with store.leases() as conn:
            found = [(lease, extend_lease(conn, lease, None, self.lease_for)) for lease in held]
            gone = {
                lease.mailbox
                for lease, extended in found
                if extended is None and mailbox_gone(conn, lease.mailbox)
            }
        with self._lock:
            for lease, extended in found:
                if extended is None:
                    self.lost.add(lease.mailbox)
                    if lease.mailbox in gone:
                        self.gone.add(lease.mailbox)
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
            self.fence.verify(self.store, mailbox)

    def _fenced(self, mailbox: str | None) -> AbstractContextManager[None]:
        """One write of the port to `mailbox`: the lease verified by the client right before each write request
        it puts on the wire (`core/write_fence.py`), the first one included: a series' exceptions, a PATCH sent
        again after a conflict, a $batch's creates sent again after a throttling wait (a write of many requests may
        outlast the lease). Verified there, not here before the write begins: the window in which a worker that
        stalls past its lease can still send a write is only the client's own code between the check and the send
        (review27s); what a stall there may still duplicate, the next pass removes (docs/sync.md "Duplicates").
        One verification per request sent, counted (`Fence.verified`); a write that sends no request verifies
        nothing."""
        if not mailbox:
            return nullcontext()
        return checking(lambda: self._verify(mailbox))

    # --- reads ---

    def requests_sent(self) -> int:
        return self.inner.requests_sent()

    def service_of(self, mailbox: str) -> str:
        return self.inner.service_of(mailbox)

    def over(self, service: str) -> CalendarBackend | None:
        return self.inner.over(service)  # reads only

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

    def find_untagged_by_uid(self, mailbox: str, uids: Sequence[str]) -> list[Meeting]:
        return self.inner.find_untagged_by_uid(mailbox, uids)

    def series_exceptions(self, mailbox: str, meeting: Meeting) -> Meeting:
        return self.inner.series_exceptions(mailbox, meeting)

    def room_calendar(
        self,
        room: str,
        start: datetime,
        end: datetime,
        uid: str | None = None,
        *,
        via: str | None = None,
        occurrences: bool = False,
    ) -> list[Meeting]:
        return self.inner.room_calendar(room, start, end, uid, via=via, occurrences=occurrences)

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
        with self.fence.writing(mailbox), self._fenced(mailbox):
            return self.inner.create(mailbox, fields, installation, booking_id, revision)

    def create_many(
        self, mailbox: str, requests: Sequence[tuple[MeetingFields, str, str]], revision: str | None = None
    ) -> list[Meeting | BackendError]:
        """Sent a request's worth at a time (`creates_per_request`: a Graph $batch of 20, a CreateItem of 100),
        the lease proved right before each: a batch of many creates is several requests, each with its own retry
        budget, and together may outlast the lease; once it is lost, no further request is sent (`LeaseLost`; the
        creates already made keep their pending intents, which the lease's next owner finds them by)."""
        size = self._creates_per_request(mailbox) or len(requests) or 1
        results: list[Meeting | BackendError] = []
        with self.fence.writing(mailbox):
            for first in range(0, len(requests), size):
                with self._fenced(mailbox):
                    results += self.inner.create_many(mailbox, requests[first : first + size], revision)
            return results

    def _creates_per_request(self, mailbox: str) -> int:
        routed = getattr(self.inner, "creates_per_request_for", None)
        return int(routed(mailbox)) if routed else int(getattr(self.inner, "creates_per_request", 0))

    def update(
        self,
        mailbox: str,
        meeting: Meeting,
        fields: MeetingFields,
        revision: str | None = None,
        room_aliases: Sequence[str] = (),
    ) -> Meeting:
        with self.fence.writing(mailbox), self._fenced(mailbox):
            return self.inner.update(mailbox, meeting, fields, revision, room_aliases)

    def tag(
        self, mailbox: str, meeting: Meeting, installation: str, booking_id: str, revision: str | None = None
    ) -> Meeting:
        with self.fence.writing(mailbox), self._fenced(mailbox):
            return self.inner.tag(mailbox, meeting, installation, booking_id, revision)

    def remove_attendees(self, mailbox: str, meeting: Meeting, addresses: Sequence[str]) -> None:
        with self.fence.writing(mailbox), self._fenced(mailbox):
            self.inner.remove_attendees(mailbox, meeting, addresses)

    def delete_copy(self, room: str, meeting: Meeting, *, via: str | None = None) -> None:
        with self.fence.writing(via), self._fenced(via):
            self.inner.delete_copy(room, meeting, via=via)

    def cancel(self, mailbox: str, meeting: Meeting) -> None:
        with self.fence.writing(mailbox), self._fenced(mailbox):
            self.inner.cancel(mailbox, meeting)
