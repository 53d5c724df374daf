"""Reconciliation of one mailbox: ROOMS bookings ⇄ the organizer's calendar, crash-safe and cheap.

Order of every write that creates something: intent in the database, then the calendar write, then its
result in the database. A crash between the three leaves an intent that the next pass resolves by
looking the meeting up by its tag (installation id + booking id) before writing anything again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from roomsops.adapters.store import (
    Booking,
    BookingSyncState,
    Difference,
    MailboxSyncState,
    NewBooking,
    NewSeries,
    Occurrence,
    Person,
    Room,
    Store,
    now_utc,
)
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.schema import (
    CANCELLED,
    FAILED,
    LEFT_SYNC_NOTE,
    LINKED,
    NOT_SYNCED_NOTE,
    OCCURRENCES_DECLINED,
    OCCURRENCES_UNCHECKED,
    PENDING_CANCEL,
    PENDING_CREATE,
    PENDING_STATES,
    PENDING_UPDATE,
    ROOM_DECLINED,
    ROOM_HOLDS,
    ROOM_MAY_ANSWER,
    SYNC_DISABLED,
    UNLINKED,
)
from roomsops.core.calendar import (
    ALL_FIELDS,
    NO_ANSWER,
    PAST_WATCH,
    BackendError,
    Candidate,
    Changes,
    MailboxUnavailable,
    Meeting,
    MeetingFields,
    SeriesFields,
    WriteOutcomeUnknown,
    booking_tag,
    tagged_booking_id,
)
from roomsops.core.errors import ConnectError, InputError, OperationFailed, RoomsopsError
from roomsops.core.logs import AuditLog, log
from roomsops.core.templates import shellword
from roomsops.core.write_fence import checking
from roomsops.services.rooms import series as repeats
from roomsops.services.rooms.bookings import (
    ROOM_PENDING,
    last_end,
    meeting_over,
    room_unanswered,
    snapshot_room,
)
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.fence import (
    LEASE_LOST,
    LOCK_LOST,
    MAILBOX_GONE,
    Fence,
    LeaseLost,
    lock_fence,
    lock_lost,
)
from roomsops.services.sync.model import (
    Unmappable,
    booking_fields,
    ends_after,
    from_exchange,
    occurrence_field,
    occurrence_of_field,
    occurrence_rows,
    occurrence_states,
    occurrences_edited,
    room_as_booked,
    room_as_listed,
    room_kept_on_its_line,
    series_from_exchange,
    whole_seconds,
    zero_length,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

#: How far beyond the window's end bookings are still synced (in effect: all of them).
BOOKINGS_AHEAD = timedelta(days=36500)
#: The phases of a pass (`MailboxSync.run`): writes that free a room's slot, then those that move a meeting,
#: then those that take a slot (creates, other updates), each over every mailbox before the next (issue 20).
FREE, MOVE, TAKE = "free", "move", "take"
PHASES = (FREE, MOVE, TAKE)
#: The fields whose change moves a meeting off its slot.
_SLOT = ("start", "end", "room")
#: MeetingFields name → the Booking/update_booking field name where they differ.
_BOOKING_FIELD = {"subject": "title"}
#: How long after a silent deletion was read the room's copy is looked for again (schema.ROOM_MAY_ANSWER).
ROOM_ANSWER_GRACE = timedelta(hours=1)
#: A link's note for a Rollback reset whose answer was lost and whose read-back failed: whether it landed is
#: unknown until the next read of the meeting (`MailboxSync._rollback_read`).
ROLLBACK_UNKNOWN = "rollback outcome unknown"
#: How far ahead a room can hold a copy: its booking attendant declines a meeting that starts after the last day of
#: its booking window (Set-CalendarProcessing BookingWindowInDays, at most 1080 days, counted from the day of its
#: answer in the room's time zone: one day more, and one for the zone). The search for the copy of a meeting deleted
#: without a cancellation goes this far, whatever the sync window: Outlook may have moved it beyond that window.
ROOM_HORIZON = timedelta(days=1082)
#: A room whose `created_utc` is this close before a pass read the rooms list may have been committed after that
#: read (`rooms add` takes its time stamp, in whole seconds, before its commit): a pass that finds such a room it did
#: not read keeps the position forgotten, as `rooms add` left it (`MailboxSync._finish`, review20p).
ROOM_ADDED_MARGIN = timedelta(seconds=10)
#: The longest calendar view asked for at once: EWS refuses a CalendarView over two years
#: (ErrorCalendarViewRangeTooBig), and two calendar years are never shorter than 730 days.
CALENDAR_VIEW_SPAN = timedelta(days=730)


@dataclass
class MailboxReport:
    """What one pass did in one mailbox."""

    mailbox: str
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    adopted: int = 0
    unchanged: int = 0
    bookings_cancelled: int = 0  # meetings deleted in Exchange: their bookings were cancelled
    exchange_edits: int = 0  # edits made in Outlook applied to bookings
    bookings_created: int = 0  # new meetings inviting a known room that became bookings
    rolled_back: int = 0  # meetings moved onto a taken slot, reset to the booking
    rooms_released: int = 0  # room copies removed: meetings deleted without a cancellation
    #: Second live meetings tagged for one booking, cancelled (`_drop_duplicate`): e.g. an Outlook copy, or a create
    #: a worker stalled past its lease sent after another worker made the meeting (review27s)
    duplicates_removed: int = 0
    differences: int = 0  # recorded for `sync diff`
    pass_kind: str = "incremental"  # "full": every tagged meeting compared (a recovery, --full, full_every)
    requests: int = 0  # calendar service requests this mailbox's pass sent (EWS: HTTP requests)
    skipped: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    unknown_tagged: list[str] = field(default_factory=list)  # our tag, booking unknown: reported, not deleted
    #: Linked bookings whose room has not answered their meeting (`room_unanswered`): said on every pass.
    rooms_pending: list[str] = field(default_factory=list)
    #: What the pass took from Outlook that drops a ROOMS change the person may want back (review19x): said once.
    notices: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # --dry-run: what would be written
    error: str | None = None
    error_code: str | None = None
    remedy: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass
class PassContext:
    store: Store
    backend: CalendarBackend
    installation: str
    window: tuple[datetime, datetime]
    audit: AuditLog
    dry_run: bool = False
    now: Callable[[], datetime] = now_utc
    full: bool = False  # `sync --full`: a full reconciliation of every mailbox
    full_every: int = 0  # `sync.full_every`: a full reconciliation every N passes of a mailbox (0: never)
    rollback_attempts: int = (
        5  # `sync.rollback_attempts`: rollbacks in a row before the booking is sync-disabled
    )
    cancel_attempts: int = 2  # `sync.cancel_attempts`: passes a conflict is tried before Cancel cancels
    horizon_days: int = 365  # `rooms.booking_horizon_days`: how far ahead a series from Exchange is booked
    #: The room slots this pass's writes free, over every mailbox (review20b): a write that takes a slot a failed
    #: write should have freed waits for the next pass instead of being declined by the room.
    slots: SlotLedger = field(default_factory=lambda: SlotLedger())
    #: A sync worker's batch (`sync --worker`): every write of a leased mailbox is fenced by its lease token.
    fence: Fence | None = None
    #: A plain sync's run lock (review27s): whether it is still held, asked before each write request sent to
    #: Exchange (`core/write_fence.py`) and before each mailbox's phase; lost, nothing more is written.
    lock_held: Callable[[], bool] | None = None


def _lost_lock() -> tuple[str, str, str | None]:
    lost = lock_lost()
    return lost.message, lost.code, lost.remedy


#: A room's slot: (room address lower case, start, end).
Slot = tuple[str, datetime, datetime]


def overlaps(a: Slot, b: Slot) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


@dataclass
class SlotLedger:
    """What the writes of one pass freed, or failed to free (shared by every mailbox's thread)."""

    failed: list[Slot] = field(default_factory=list)
    freed: list[Slot] = field(default_factory=list)
    #: Slots a Sync-Master room was to be taken off and the removal was not confirmed (its answer lost, or refused):
    #: a booking marked to have that room asked again waits for the next pass (`MailboxSync._asks`).
    unconfirmed: list[Slot] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, slot: Slot, ok: bool) -> None:
        with self.lock:
            (self.freed if ok else self.failed).append(slot)

    def removal_unconfirmed(self, slots: Iterable[Slot]) -> None:
        with self.lock:
            self.unconfirmed.extend(slots)

    def removal_pending(self, slot: Slot) -> bool:
        """Whether a removal of this pass that should have freed (part of) `slot` was not confirmed."""
        with self.lock:
            return any(overlaps(slot, f) for f in self.unconfirmed)

    def was_freed(self, slot: Slot) -> bool:
        with self.lock:
            return any(overlaps(slot, f) for f in self.freed)

    def blocked(self, slot: Slot) -> bool:
        """Whether a write that should have freed (part of) `slot` failed in this pass."""
        with self.lock:
            return any(overlaps(slot, f) for f in self.failed)


@dataclass(frozen=True)
class Move:
    """A write of the MOVE phase: the slot its meeting leaves and the one it takes."""

    mailbox: str
    booking_id: int
    leaves: Slot
    takes: Slot


def move_rounds(moves: list[Move]) -> tuple[list[list[Move]], set[Move]]:
    """The moves of a pass in rounds (review20b): a move whose new slot another move leaves goes in a later
    round than that move, over every mailbox, so the room sees its slot freed before it is asked for it. A cycle
    (two bookings swapping rooms or times) has no such order: its moves go last, one by one in booking order; the
    room
    declines the ones that came too early and roomsops asks it again once the slot is free: the second value,
    the moves sent before the slot they take was left (`MailboxSync.resend`)."""
    waits = {m: {n for n in moves if n is not m and overlaps(m.takes, n.leaves)} for m in moves}
    rounds: list[list[Move]] = []
    placed: set[Move] = set()
    early: set[Move] = set()
    while len(placed) < len(moves):
        ready = [m for m in moves if m not in placed and waits[m] <= placed]
        if not ready:
            rest = sorted((m for m in moves if m not in placed), key=lambda m: m.booking_id)
            rounds += [[m] for m in rest]  # one by one, in this order, whatever their mailboxes
            early = {m for i, m in enumerate(rest) if any(n in waits[m] for n in rest[i + 1 :])}
            break
        rounds.append(ready)
        placed |= set(ready)
    return rounds, early


def still_holding(link: BookingSyncState) -> bool:
    """The booking's meeting was deleted without a cancellation and its room still holds (or may, its answer
    late, hold again) the slot: the room's copy is looked for and removed on every pass."""
    return link.state == CANCELLED and (link.last_error or "").startswith((ROOM_HOLDS, ROOM_MAY_ANSWER))


@contextmanager
def fenced_write(ctx: PassContext, mailbox: str) -> Iterator[Connection]:
    """A write transaction about `mailbox`; under a worker's lease on it fenced by its token (`fence.py`): a stale
    worker's write is refused (`LeaseLost`) and rolled back. Without a fence (a plain sync) a plain write."""
    with ctx.store.write() as conn:
        if ctx.fence is not None:
            ctx.fence.check(conn, mailbox, ctx.now())
        yield conn


class MailboxSync:
    """One pass over one organizer's mailbox."""

    def __init__(self, ctx: PassContext, mailbox: str) -> None:
        self.ctx = ctx
        self.mailbox = mailbox
        self.report = MailboxReport(mailbox)
        #: The stored notices (`schema.sync_notices`) this pass's report carries: forgotten once it is said.
        self.notice_ids: list[int] = []
        self.links: dict[int, BookingSyncState] = {}
        self.wrote = False
        self.person: Person | None = None
        self.bookings: dict[int, Booking] = {}
        self.rooms: dict[str, Room] = {}
        self.rooms_read = now_utc()
        # An Exchange change that could not be settled (applied, recorded or parked) keeps the stored position
        # where it was: the next pass reads the change again, retries it and reports it until it is settled.
        self.hold_cursor = False
        # Meetings this pass updated: read again before the pass ends. UpdateItem (AutoResolve) also lands over an
        # Outlook edit made since the last read, and its answer's ChangeKey then covers that edit too: the item
        # is compared with what was written, so such an edit is found, never hidden by the ChangeKey (bug 8).
        self.updated: set[str] = set()
        # Bookings whose room's decline this pass reported (read from the meeting): the others still
        # `room-declined` are reported from their links at the end of the pass (I2: on every pass until settled).
        self.declined: set[int] = set()
        # (item id, room) a failure of this pass already said (a decline, a second room): said once per pass.
        self.said_rooms: set[tuple[str, str]] = set()
        # New meetings not booked because a room has not answered yet (`_awaiting`): the position is held for them.
        self.awaiting: set[str] = set()
        # Those of them this pass counted and named: a meeting read twice in one pass (by a full reconciliation's
        # look at the untagged meetings, then among the changes since the position held for it) is counted once.
        self.awaiting_said: set[str] = set()
        # Bookings whose room copy this pass tried to remove (a meeting deleted without a cancellation).
        self.released: set[int] = set()
        # (booking id, "room" | "attendees") both sides changed since the last pass: ROOMS wins, so the open
        # difference this pass recorded for it does not keep the meeting's value (`_keeping_ignored`).
        self.rooms_win: set[tuple[int, str]] = set()
        # Booking id → the `occurrence:` fields of a series whose occurrences Outlook edited while ROOMS changed
        # the series too: recorded with the fields both changed, in one difference (`_exchange_update`).
        self.series_differences: dict[int, tuple[str, ...]] = {}
        # Addresses meetings list that are no ROOMS room's primary address → the primary address the directory
        # gave (None: none, or not an alias): asked once per pass.
        self.aliases: dict[str, str | None] = {}
        #: Alias lookups that got no answer in this pass (not asked again in it): `_room_by_alias`.
        self.alias_failures: dict[str, BackendError] = {}
        # What `_begin` read, for the later phases.
        self._saved_state: str | None = None
        self.conflicted: set[int] = set()  # bookings with an Outlook edit ROOMS cannot accept in this pass
        # `_begin`: the window untagged meetings are discovered in (new meetings outside it are left alone).
        self._discovers: tuple[datetime, datetime] = ctx.window
        self.held = False  # `sync purge --person`: every booking of the person held back until `sync resume`
        self._changes = Changes()
        self._full = False
        self._passes = 0
        self._written: set[int] = set()  # bookings an earlier phase of this pass wrote (or tried to)
        # The MOVE phase runs in rounds (`move_rounds`): the bookings the current round may move (None: all).
        self.move_round: set[int] | None = None
        # Moves of a cycle sent while another booking still held the slot: asked again at the end of the pass.
        self.resend: set[int] = set()
        # Bookings whose meeting this pass read with their room's answer an accept (or tentative): the room holds
        # the slot, so a mark to have it asked again is settled (`_asks`). A link merely `linked` is not proof: a
        # re-send refused before it reached Exchange leaves its intent settled as linked while the room's last
        # answer is still the decline (review20s).
        self.room_holds: set[int] = set()
        # Series whose occurrences this pass checked in the room's calendar (`_occurrences_declined`).
        self.occurrences_checked: set[int] = set()

    # --- database helpers ------------------------------------------------------------------------------------

    def _unseen_mark(self, link: BookingSyncState) -> BookingSyncState:
        """A link that names a new item id is marked `unseen`: the stored position was read before the item was
        (created, or linked), so it never reports the item's deletion; `_read_unseen` reads it by id until a
        position read after it is stored (`_finish`). Marked as the id is saved, so a pass killed before storing
        its position leaves the mark too."""
        before = self.links.get(link.booking_id)
        if link.item_id and not link.unseen and (before is None or before.item_id != link.item_id):
            return replace(link, unseen=True)
        return link

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction of this mailbox's pass; under a worker's lease fenced by its token (`fence.py`): a
        stale worker's write is refused (`LeaseLost`) and rolled back."""
        with fenced_write(self.ctx, self.mailbox) as conn:
            yield conn

    def _save_link(self, link: BookingSyncState, asked: q.RoomAsk | None = None) -> BookingSyncState:
        """`asked`: the booking's mark to have its room asked again (`_asks`), cleared in the same transaction."""
        if self.ctx.dry_run:
            return link
        link = self._unseen_mark(link)
        with self._write() as conn:
            saved = q.save_booking_sync(conn, link, self.ctx.now())
            if asked is not None:
                q.clear_room_asks(conn, [asked])
        self.links[link.booking_id] = saved
        return saved

    def _save_links(self, links: list[BookingSyncState]) -> list[BookingSyncState]:
        """Several links in one transaction (a batch of creates costs two commits, not two per booking)."""
        if self.ctx.dry_run or not links:
            return links
        links = [self._unseen_mark(link) for link in links]
        with self._write() as conn:
            saved = [q.save_booking_sync(conn, link, self.ctx.now()) for link in links]
        for link in saved:
            self.links[link.booking_id] = link
        return saved

    def _link_state(
        self, link: BookingSyncState, meeting: Meeting, version: int | None, readback: bool = False
    ) -> BookingSyncState:
        """`readback`: the meeting was just written and its fields are what roomsops meant to write; the pass
        (or, after a crash, the next one) reads it back and stores what Exchange holds as the snapshot."""
        booking = self.bookings.get(link.booking_id)
        if booking is not None:
            # The booking's room, wherever it is listed (or the room booked before a move not yet written).
            meeting = room_as_booked(meeting, booking.room, snapshot_room(link), self.rooms)
        snapshot = _snapshot(meeting) if meeting.fields else None
        return replace(
            link,
            item_id=meeting.item_id,
            change_key=meeting.change_key,
            revision=meeting.revision,
            readback=readback,
            snapshot=snapshot,
            synced_version=version,
            state=LINKED,
            last_error=None,
            error_count=0,
            attempts=0,
        )

    def _intent(self, link: BookingSyncState, state: str) -> BookingSyncState:
        """Record what is about to be written, before writing it (a crash leaves the intent for the next pass)."""
        return self._save_link(replace(link, state=state, last_attempt=self.ctx.now()))

    def _failed(self, link: BookingSyncState, reason: str) -> BookingSyncState:
        """The link with an error recorded beside its state: an intent stays the intent (never overwritten by
        the error); a link without an intent becomes failed."""
        state = link.state if link.state in PENDING_STATES else FAILED
        if link.item_id is None and state == FAILED:
            state = PENDING_CREATE  # no meeting known: the next pass looks one up by its tag before creating
        return replace(
            link,
            state=state,
            last_error=reason,
            error_count=link.error_count + 1,
            last_attempt=self.ctx.now(),
        )

    @staticmethod
    def _revision() -> str:
        """A new revision tag for one write (create, update, tagging)."""
        return uuid.uuid4().hex

    def _link(self, booking: Booking) -> BookingSyncState:
        return self.links.get(booking.id) or BookingSyncState(booking_id=booking.id, mailbox=self.mailbox)

    def _linked(
        self,
        link: BookingSyncState,
        meeting: Meeting,
        version: int | None,
        readback: bool = False,
        asked: q.RoomAsk | None = None,
    ) -> BookingSyncState:
        """Link the booking to `meeting`, as synced at `version` (None: compare fields on the next pass); `asked`:
        its mark to have the room asked again, settled by this write (cleared with it)."""
        return self._save_link(self._link_state(link, meeting, version, readback), asked)

    def _audit(self, action: str, booking: Booking, result: object) -> None:
        self.ctx.audit.record(
            action,
            self.mailbox,
            {"booking": booking.id, "subject": booking.title, "start": booking.start.isoformat()},
            result,
        )

    # --- the pass -----------------------------------------------------------------------------------------

    def run(self, phases: tuple[str, ...] = PHASES) -> MailboxReport:
        """The pass, or some of its phases (`PHASES`, in order: `sync_pass` runs each phase over every mailbox
        before the next, so a room sees every cancellation before a new invitation). A mailbox that failed
        does not go on to its later phases."""
        if self.report.error is not None:
            return self.report
        fence = self.ctx.fence
        if fence is not None and fence.is_lost(self.mailbox):
            lost = fence.refusal(self.mailbox)  # found stale by the batch's heartbeat: nothing more is done
            self._mailbox_failed(lost.message, lost.code, lost.remedy)
            return self.report
        held = self.ctx.lock_held
        if held is not None and not held():
            self._mailbox_failed(*_lost_lock())
            return self.report
        sent = self.ctx.backend.requests_sent()
        try:
            with checking(lock_fence(held)) if held is not None else nullcontext():
                for phase in phases:
                    self._phase(phase)
        except (BackendError, ConnectError) as exc:
            self._mailbox_failed(exc.message, exc.code, exc.remedy)
        except (
            RoomsopsError
        ) as exc:  # e.g. the database refused a write: this mailbox fails, the others go on
            self._mailbox_failed(exc.message, exc.code or "failed", exc.remedy)
        except Exception as exc:  # a bug must not stop the other mailboxes: reported, traceback in the log
            log.debug("%s: unexpected error", self.mailbox, exc_info=True)
            self._mailbox_failed(unexpected(exc), "internal", "run again with --debug and report it")
        # Per phase (each may run on another thread: the count is the thread's own).
        self.report.requests += self.ctx.backend.requests_sent() - sent
        return self.report

    def _mailbox_failed(self, message: str, code: str | None, remedy: str | None) -> None:
        self.report.error = message
        self.report.error_code = code
        self.report.remedy = remedy
        if not self.ctx.dry_run and code not in (
            LEASE_LOST,
            MAILBOX_GONE,
            LOCK_LOST,
        ):  # a stale worker writes nothing, nor its error
            self._save_mailbox_error(message)

    def _phase(self, phase: str) -> None:
        if phase == FREE:
            self._begin()
        self._writes(phase)
        if phase == TAKE:
            self._resend()
            self._finish()

    def _begin(self) -> None:
        """Read both sides and apply what changed in Exchange; the writes come after, phase by phase."""
        start, end = self.ctx.window
        with self.ctx.store.read() as conn:
            # Every booking from the window's start on, whatever its date: the window's end limits only the
            # discovery of new untagged meetings in Outlook, not which bookings get a meeting.
            bookings = q.bookings_in_window(conn, self.mailbox, start, end + BOOKINGS_AHEAD)
            self.links = {link.booking_id: link for link in q.booking_sync_for_mailbox(conn, self.mailbox)}
            state = q.get_mailbox_sync(conn, self.mailbox)
            # What earlier passes stored to tell and never said (killed before their report, review25aa).
            unsaid = q.notices_of(conn, self.mailbox)
            self.notice_ids += [i for i, _ in unsaid]
            self.report.notices += [notice for _, notice in unsaid]
            # Linked bookings are synced whatever their date (the window limits only the discovery of new
            # meetings): those outside it are read too, their versions tell which changed in ROOMS.
            inside = {b.id for b in bookings}
            outside = [
                link.booking_id
                for link in self.links.values()
                if link.booking_id not in inside and link.state not in (CANCELLED, UNLINKED)
            ]
            bookings += [
                b
                for b in q.bookings_by_id(conn, outside)
                if b.version != self.links[b.id].synced_version or self.links[b.id].state in PENDING_STATES
            ]
            self.person = q.get_person(conn, self.mailbox)
            self.rooms_read = now_utc()  # the rooms the pass knows: added before this (`_finish`)
            self.rooms = {room.email.lower(): room for room in q.list_rooms(conn)}
        service = self.ctx.backend.service_of(self.mailbox)
        unrecorded = state is None or state.service is None
        if state is not None and state.service is None:
            # No service recorded (synced before schema 10): resolved from the links' ids, never assumed to be
            # `service` (the person may have been switched since: review24t).
            state = replace(state, service=self._resolved_service(service))
        if state is not None and state.service not in (None, service):
            state = self._relink(service, state)
        # A write whose read-back never happened (the process died between UpdateItem and the read): read now.
        self.updated |= {
            link.item_id
            for link in self.links.values()
            if link.readback and link.item_id and link.state not in (CANCELLED, UNLINKED)
        }
        saved_state = state.sync_state if state else None
        self.held = state is not None and (state.last_error or "").startswith(NOT_SYNCED_NOTE)
        changes = self.ctx.backend.changes(self.mailbox, saved_state)
        if unrecorded and not self.ctx.dry_run:
            # No service recorded (a new mailbox, or one synced before schema 10, its links' ids found to be this
            # service's or relinked to it above): recorded once the service has answered (a pass refused before
            # records nothing).
            with self._write() as conn:
                q.record_mailbox_service(conn, self.mailbox, service, self.ctx.now())
        recover = saved_state is None or changes.invalid_state
        if changes.invalid_state:
            log.warning("%s: the stored sync state is invalid; reconciling every meeting", self.mailbox)
            changes = self.ctx.backend.changes(self.mailbox, None)
        by_id = self.bookings = {b.id: b for b in bookings}
        # Without a link in the database this installation cannot have written to the mailbox (an intent is
        # always stored before a write), so a first pass needs no reconciliation by tag; a recovery with links
        # does (the new position shows nothing that happened before it). Either way a position from scratch shows
        # no meeting (the port's `changes(mailbox, None)`), so the untagged meetings of the window are read: an
        # Outlook room meeting made before the person joined the sync (or before the position was lost) is booked
        # by this pass, not only by `sync --full` (docs/sync.md "from day one").
        passes = state.passes_since_full if state else 0
        initial = saved_state is None and not self.links
        due = self.ctx.full_every > 0 and passes + 1 >= self.ctx.full_every and not initial
        full = self.ctx.full or due or (recover and bool(self.links))
        # Untagged Outlook meetings become bookings only inside the sync window (docs/sync.md "Dates"), whoever
        # reported them: EWS's SyncFolderItems reports the whole calendar, Graph's delta round `PAST_WATCH` more
        # before it. Its end is the round's own when the changes cover a window (to the end of its last day), so a
        # meeting a round reported is never left alone for being beyond the window that round covered.
        self._discovers = (self.ctx.window[0], changes.covers_until or self.ctx.window[1])
        if full:
            self._reconcile(by_id, discover=True)
        elif recover:
            self._discover(by_id, changes.candidates)
        elif changes.covers_until is not None:
            changes = self._beyond_reach(changes, changes.covers_until, changes.covers_from)
        if not full and not recover:
            # A recovery that is not a full reconciliation had no link to start with: the only unseen ones are
            # those `_discover` just made, read by this very pass (fix19u: no request for them).
            changes = self._read_unseen(changes)
        self._exchange_changes(changes.changed, changes.deleted, by_id)
        self._saved_state, self._changes, self._full = saved_state, changes, full
        self._passes = passes

    def _relink(self, service: str, state: MailboxSyncState) -> MailboxSyncState:
        """The links' item ids are of another service than `service`, the one the mailbox is reached over now (the
        person's mode moved between EWS and Graph without `sync migrate`, or they left the sync and came back over
        the other; `sync.backend` changed). No id is ever sent to a service it is not of: every link naming an item,
        held-back and settled ones too, is relinked to the meeting carrying its booking's whole tag over `service`
        (the one with the link's UID, if several), or to the untagged meeting with its UID (an Outlook meeting whose
        tagging was not confirmed), or lets go of the id when none is found (`gone_over_service`). Then, in one
        transaction, the position (of the other service) is forgotten, so a full reconciliation follows, and
        `service` is recorded as the links' service: a pass refused or failing before this leaves the record as it
        was, so a person who leaves the sync is still reached where their ids belong."""
        named = [link for link in self.links.values() if link.item_id is not None]
        changed = self._relinked(named, state.service or other_service(service)) if named else []
        if changed:
            # Found again under this service's id: adopted, as by the reconciliation (settled links are not).
            self.report.adopted += sum(
                link.item_id not in (None, self.links[link.booking_id].item_id)
                and link.state not in (CANCELLED, UNLINKED)
                for link in changed
            )
            log.info(
                "%s: the links held item ids of another service than %s: %d relinked",
                self.mailbox,
                service,
                len(changed),
            )
        state = replace(state, sync_state=None, service=service)
        for link in changed:
            self.links[link.booking_id] = link
        if not self.ctx.dry_run:
            with self._write() as conn:
                for link in changed:
                    self.links[link.booking_id] = q.save_booking_sync(conn, link, self.ctx.now())
                q.save_mailbox_sync(conn, state, self.ctx.now())
                q.record_mailbox_service(conn, self.mailbox, service, self.ctx.now())
            if changed:
                self.ctx.audit.record(
                    "sync:relink", self.mailbox, {"service": service, "links": len(changed)}, "ok"
                )
        return state

    def _resolved_service(self, service: str) -> str | None:
        """The service whose item ids the links of a mailbox with none recorded hold: `service` when it reads one
        of the live links' items back under the very id the link holds, else the other service (Graph reads an
        EWS id's item, if at all, under its own immutable id; EWS reads no Graph id); None when no live link names
        an item. EWS ItemIds and Graph's ids are both base64 of the item's binary id (graph/api/user-
        translateexchangeids: standard and URL-safe alphabets), so their shape tells nothing for sure: asked."""
        ids = [
            link.item_id
            for link in self.links.values()
            if link.item_id and link.state not in (CANCELLED, UNLINKED)
        ]
        if not ids:
            return None
        read = read_back(self.ctx.backend, self.mailbox, ids)
        found = service if read else other_service(service)
        log.info("%s: no service recorded for the links: their item ids are %s's", self.mailbox, found)
        return found

    def _relinked(self, named: list[BookingSyncState], old: str) -> list[BookingSyncState]:
        """`_relink`'s links as they change: each to its meeting over this service (by tag, else by UID among the
        untagged ones), or `gone_over_service`; those naming this service's meeting already are left out. A live
        link without a stored UID (synced before UIDs were stored) has its item read over `old`, the service its
        id is of, for the UID: only a definite "not there" over that service takes its meeting as gone (review24t:
        an untagged `pending-update` meeting was taken as deleted, its booking cancelled and booked again)."""
        changed: list[BookingSyncState] = []
        with self.ctx.store.read() as conn:
            bookings = {b.id: b for b in q.bookings_by_id(conn, [link.booking_id for link in named])}
        mine = (None, self.mailbox.lower())
        tagged: dict[str, list[Meeting]] = {}
        for meeting in self.ctx.backend.find_tagged(self.mailbox, self.ctx.installation):
            if meeting.booking_id and meeting.organizer in mine:
                tagged.setdefault(meeting.booking_id, []).append(meeting)
        unfound: list[BookingSyncState] = []
        for link in named:
            booking = bookings.get(link.booking_id)
            found = tagged.get(tag_of(booking), []) if booking is not None else []
            if any(m.item_id == link.item_id for m in found):
                continue  # of this service already
            uid = _uid(link)
            found.sort(key=lambda m: (m.is_cancelled, not (uid and m.uid == uid)))
            if found:
                changed.append(replace(link, item_id=found[0].item_id, change_key=found[0].change_key))
            else:
                unfound.append(link)
        unfound = self._with_uids(unfound, old)
        # The untagged ones by their UID as `sync migrate` looks them up (`untagged_by_uid`: the window, widened to
        # each link's slot, then the whole calendar): a meeting Outlook moved beyond the window is no deleted one,
        # and one no look-up finds is (review24r).
        with_uid = [link for link in unfound if _uid(link)]
        by_uid = (
            untagged_by_uid(self.ctx.backend, self.mailbox, with_uid, *self.ctx.window) if with_uid else {}
        )
        for link in unfound:
            same = by_uid.get(link.booking_id)
            if same:
                changed.append(replace(link, item_id=same[0].item_id, change_key=same[0].change_key))
            else:
                changed.append(gone_over_service(link, bookings.get(link.booking_id)))
        return changed

    def _with_uids(self, links: list[BookingSyncState], old: str) -> list[BookingSyncState]:
        """The links, those live ones without a stored UID with the UID of their item read over `old` (where their
        ids belong); one not found there keeps none (gone). No request when every link has its UID."""
        bare = {
            link.item_id: link
            for link in links
            if link.item_id and not _uid(link) and link.state not in (CANCELLED, UNLINKED)
        }
        if not bare:
            return links
        there = self.ctx.backend.over(old)
        if there is None:
            raise BackendError(
                "service_unknown",
                self.mailbox,
                f"the links of booking(s) {', '.join(str(x.booking_id) for x in bare.values())} hold item ids of "
                f"{old}, which this run does not reach, and no UID: their meetings cannot be looked up over "
                f"{other_service(old)}; nothing was changed",
                f"run 'roomsops sync migrate --to {'graph' if old == 'ews' else 'ews'} --person {self.mailbox}'",
            )
        uids = {m.item_id: m.uid for m in there.get(self.mailbox, list(bare)) if m.uid}
        return [
            replace(link, snapshot={**(link.snapshot or {}), "uid": uids[link.item_id]})
            if link.item_id in bare and link.item_id in uids
            else link
            for link in links
        ]

    def _beyond_reach(self, changes: Changes, until: datetime, since: datetime | None = None) -> Changes:
        """The changes with those of linked meetings the backend's changes do not cover (starting at `until` or
        later, e.g. beyond Graph's delta window; ending at `since` or earlier but less than `PAST_WATCH` before the
        sync window's start: none while Graph's delta round starts there, some once after the window was widened):
        read one by one (batched), a new change key is a change, an item no longer there a deletion, as EWS's
        whole-calendar sync would report them; no request when there are none. Older ones are left to the full
        reconciliation (`sync.full_every`, `sync --full`), so a pass's cost does not grow with the history."""
        reported = {item_id for item_id, _ in changes.changed} | set(changes.deleted)
        # Graph's delta lists a series' occurrences and, when one is deleted or the whole series, `@removed`
        # entries with the occurrences' ids alone (no seriesMasterId, graph/delta-query-overview): removals no link
        # names may be a synced series deleted, so its master is read too (review20h; EWS reports the master).
        unknown = set(changes.deleted) - {link.item_id for link in self.links.values() if link.item_id}
        far: dict[str, BookingSyncState] = {}
        for link in self.links.values():
            if (
                link.item_id
                and link.item_id not in reported
                and link.snapshot
                and link.state in (LINKED, FAILED, ROOM_DECLINED)
            ):
                fields = MeetingFields.from_json(link.snapshot)
                before = since is not None and self.ctx.window[0] - PAST_WATCH < fields.end <= since
                if fields.start >= until or before or (unknown and fields.series is not None):
                    far[link.item_id] = link
        if not far:
            return changes
        # In the calendar: one moved to another calendar left it (EWS's sync of the Calendar reports it deleted).
        found = {m.item_id: m for m in self.ctx.backend.in_calendar(self.mailbox, list(far))}
        changed = [(i, m.change_key) for i, m in found.items() if m.change_key != far[i].change_key]
        deleted = [i for i in far if i not in found]
        return replace(changes, changed=changes.changed + changed, deleted=changes.deleted + deleted)

    def _read_unseen(self, changes: Changes) -> Changes:
        """The changes with those of linked meetings the stored position does not know (`unseen`: their item id was
        saved after it was read, by a pass that then held its position for a failure or a room's answer, or was
        killed): a SyncFolderItems state (a delta round's link too) never reports an item created and removed after
        it, so a meeting roomsops created and Outlook deleted before the position moved on would never be seen
        deleted (fix19q). They are read by id (batched), as `_beyond_reach` reads those beyond the changes' reach:
        a new change key is a change, an item no longer in the calendar a deletion. No request when there are
        none, so a quiet pass's cost is unchanged."""
        reported = {item_id for item_id, _ in changes.changed} | set(changes.deleted)
        unseen = {
            link.item_id: link
            for link in self.links.values()
            if link.unseen
            and link.item_id
            and link.item_id not in reported
            and link.state in (LINKED, FAILED, ROOM_DECLINED)
        }
        if not unseen:
            return changes
        found = {m.item_id: m for m in self.ctx.backend.in_calendar(self.mailbox, list(unseen))}
        changed = [(i, m.change_key) for i, m in found.items() if m.change_key != unseen[i].change_key]
        deleted = [i for i in unseen if i not in found]
        return replace(changes, changed=changes.changed + changed, deleted=changes.deleted + deleted)

    def _write_kind(self, booking: Booking) -> str:
        """Which phase writes the booking: a cancellation frees the room's slot (FREE), a change of the time or
        room moves the meeting (MOVE: frees one slot, takes another), everything else (creates) takes one."""
        link = self.links.get(booking.id)
        if booking.status != "active":
            return FREE
        if (
            link is None
            or link.item_id is None
            or link.synced_version == booking.version
            or not link.snapshot
        ):
            return TAKE
        try:
            moved = MeetingFields.from_json(link.snapshot).differs(booking_fields(booking), _SLOT)
        except Exception:  # a snapshot that cannot be read: the write comes with the others
            return TAKE
        return MOVE if moved else TAKE

    def _leaves(self, booking_id: int) -> Slot | None:
        """The room slot the booking's meeting holds as last written (None: no meeting, or no room)."""
        return held_slot(self.links.get(booking_id))

    @staticmethod
    def _takes(booking: Booking) -> Slot:
        return (booking.room.lower(), whole_seconds(booking.start), whole_seconds(booking.end))

    def moves(self) -> list[Move]:
        """The moves this pass is to write (after `_begin`): for `move_rounds`."""
        out = []
        for booking_id, booking in self.bookings.items():
            if booking_id in self._written or self._write_kind(booking) != MOVE:
                continue
            leaves = self._leaves(booking_id)
            if leaves is not None:
                out.append(Move(self.mailbox, booking_id, leaves, self._takes(booking)))
        return out

    def _freed(self, leaves: Slot | None, ok: bool) -> None:
        """Record whether a write freed the slot its meeting left (for the writes that take it)."""
        if leaves is not None and not self.ctx.dry_run:
            self.ctx.slots.record(leaves, ok)

    def _resend(self) -> None:
        """Ask the rooms again (the whole meeting re-sent, no change): the moves of a cycle sent while the other
        booking still held their slot (`move_rounds`), room-declined bookings whose slot a write of this pass
        freed, and room-declined bookings marked in the database to have their room asked again (`_asks`: a
        Sync-Master room taken off an Outlook meeting it held, by this run or another, review20q). The room
        declined them for a conflict that is gone; it answers the new request. A series the room accepted without
        some occurrences (`_partly_declined`) marked so is asked again as a room-declined booking is: the whole
        series re-sent, the room answers it anew (review20x; a write of this pass that freed its slot marked it)."""
        asked = self._asks()
        again = {
            i
            for i in self.resend
            if i in self.bookings and not self.ctx.slots.blocked(self._takes(self.bookings[i]))
        }
        again |= set(asked)
        for booking_id, link in self.links.items():
            booking = self.bookings.get(booking_id)
            if (
                link.state == ROOM_DECLINED
                and booking is not None
                and booking.status == "active"
                and self.ctx.slots.was_freed(self._takes(booking))
            ):
                again.add(booking_id)
        for booking_id in sorted(again):
            found, known = self.bookings.get(booking_id), self.links.get(booking_id)
            if found is None or known is None or known.item_id is None or known.change_key is None:
                continue
            if known.state not in (LINKED, ROOM_DECLINED) or known.synced_version != found.version:
                continue  # not written as the booking is (a failed move): the next pass writes it

            def write(booking: Booking = found, link: BookingSyncState = known) -> None:
                if self.ctx.dry_run:
                    self.report.planned.append(
                        f"ask the room of booking {booking.id} ({booking.title}) again"
                    )
                    return
                revision = self._revision()
                intent = self._save_link(
                    replace(
                        link,
                        state=PENDING_UPDATE,
                        last_attempt=self.ctx.now(),
                        revision=revision,
                        readback=True,
                    )
                )
                try:
                    sent = self.ctx.backend.update(
                        self.mailbox,
                        replace(self._meeting(link), fields=None),  # every field: the request goes out again
                        booking_fields(booking),
                        revision=revision,
                    )
                finally:
                    self.wrote = True
                self._linked(intent, sent, booking.version, readback=True, asked=asked.get(booking.id))
                self.updated.add(sent.item_id)
                self.declined.discard(booking.id)
                self._audit("ews:UpdateItem", booking, {"item_id": sent.item_id, "why": "room asked again"})

            self._guarded([found], write)

    def _asks(self) -> dict[int, q.RoomAsk]:
        """This mailbox's bookings marked to have their room asked again (`q.room_asks_of`; marked by
        `_mark_asks`, in any run), the ones to send again now: `room-declined`, still in the room that freed its
        slot, the removal not left unconfirmed by this pass (else the next pass). A mark whose room's state is
        settled is cleared: the booking cancelled, over or moved off that room, its link let go, or linked with
        the room's accept read by this pass (`room_holds`: the room holds it; a link `linked` whose room's last
        answer is still the decline, its re-send refused before it reached Exchange, is no such proof,
        review20s). A series accepted without some occurrences still to come (`_partly_declined`) is sent again
        as a room-declined one is: the room's accept is no proof it holds them (review20x). The others wait (an
        intent under way, a room that has not answered yet, a change not written yet): the next pass looks
        again."""
        with self.ctx.store.read() as conn:
            marks = q.room_asks_of(conn, self.mailbox)
            if not marks:
                return {}
            known = {i: self.bookings[i] for i in marks if i in self.bookings}
            known |= {b.id: b for b in q.bookings_by_id(conn, [i for i in marks if i not in known])}
        now = self.ctx.now()
        ask: dict[int, q.RoomAsk] = {}
        settled: list[q.RoomAsk] = []
        for booking_id, mark in sorted(marks.items()):
            booking, link = known.get(booking_id), self.links.get(booking_id)
            if (
                booking is None
                or booking.status != "active"
                or last_end(booking) <= now
                or (booking.room or "").lower() != mark.room
                or (link is not None and link.state in (CANCELLED, UNLINKED, SYNC_DISABLED))
            ):
                settled.append(mark)
            elif self._partly_declined(link, booking):
                # Its room declined occurrences of it still to come: asked again, as a room-declined one is.
                if not any(
                    self.ctx.slots.removal_pending(slot) or self.ctx.slots.blocked(slot)
                    for slot in _booking_slots(booking)
                ):
                    ask[booking_id] = mark
            elif link is None or link.state != ROOM_DECLINED:
                if (
                    link is not None
                    and link.state == LINKED
                    and link.synced_version == booking.version
                    and (
                        booking_id in self.room_holds
                        or (link.last_error or "").startswith(OCCURRENCES_DECLINED)
                    )
                ):
                    # The room answered, and did not decline (or only occurrences that are over): it holds the slot.
                    settled.append(mark)
            elif not any(
                self.ctx.slots.removal_pending(slot) or self.ctx.slots.blocked(slot)
                for slot in _booking_slots(booking)
            ):
                ask[booking_id] = mark
        if settled and not self.ctx.dry_run:
            with self._write() as conn:
                q.clear_room_asks(conn, settled)
        return ask

    def _mark_asks(self, meeting: Meeting, rooms: list[Room]) -> list[Slot]:
        """Before these rooms are taken off the meeting (Sync-Master): the slots of the meeting each room held
        (accepted or tentatively accepted), and, in one transaction, a mark on every ROOMS booking of such a room
        at one of those slots (every occurrence of a series) that its room is to be asked again (`q.room_asks`).
        The room declined them for this meeting; freed, it answers anew (`_asks`). Stored before the removal is
        sent, so a lost answer, a crash, or a booking organized by a mailbox of another run still gets its room
        asked again (review20q); a removal that did not go through leaves a mark that costs one request. Of a
        series, only the occurrences the room's calendar holds (`_held_spans`): an occurrence the room declined
        frees nothing, and a mark on the booking it declined it for (which the room holds) would re-send that
        booking at a later, unrelated decline (review20v)."""
        held = [r for r in rooms if self._response(meeting, r.email) in ("Accept", "Tentative")]
        if not held or meeting.fields is None or self.ctx.dry_run:
            return []
        spans = {room.email: self._held_spans(meeting, room.email) for room in held}
        own = {link.booking_id for link in self.links.values() if link.item_id == meeting.item_id}
        with self._write() as conn:
            for room in held:
                marked = {
                    b.id
                    for start, end in spans[room.email]
                    for b in q.overlapping_bookings(conn, room.id, start, end)
                    if b.id not in own and b.status == "active"
                }
                if marked:
                    q.mark_room_asks(conn, marked, room.email, self.ctx.now())
        return [(r.email.lower(), start, end) for r in held for start, end in spans[r.email]]

    def _held_spans(self, meeting: Meeting, room: str) -> list[tuple[datetime, datetime]]:
        """The meeting's times (`_meeting_spans`) the room holds for it: of a series, the occurrences whose copy the
        room's calendar holds (a room allowing conflicts accepts a series and declines some occurrences); all of
        them when the calendar cannot be read (a mark too many costs one request)."""
        spans = self._meeting_spans(meeting)
        assert meeting.fields is not None
        if meeting.fields.series is None or len(spans) < 2:
            return spans
        organizers = {a.lower() for a in (self.mailbox, meeting.organizer) if a}
        try:
            copies = {
                (whole_seconds(m.fields.start), whole_seconds(m.fields.end))
                for span in _spans(min(s for s, _ in spans), max(e for _, e in spans))
                for m in self.ctx.backend.room_calendar(room, *span, via=self.mailbox, occurrences=True)
                if m.fields is not None
                and m.fields.free_busy != "Free"
                and (
                    (m.organizer or "").lower() in organizers
                    or (meeting.uid is not None and m.uid == meeting.uid)
                )
            }
        except (BackendError, ConnectError):
            log.debug("%s: the calendar of %s not read", self.mailbox, room, exc_info=True)
            return spans
        return [span for span in spans if span in copies]

    def _mark_again(self, marked: set[int], leaves: Slot | None) -> None:
        """After the write that freed the slot: the bookings `_mark_slot_asks` marked before it marked again (a new
        token). The pass of another worker may have read the first mark and asked the room again before the slot
        was free (the room declined again) and cleared that mark with its token; the new one survives it, so the
        room is asked again after the slot is free (review20v)."""
        if marked and leaves is not None and not self.ctx.dry_run:
            with self._write() as conn:
                q.mark_room_asks(conn, marked, leaves[0], self.ctx.now())

    def _mark_slot_asks(self, leaves: Slot | None, booking: Booking) -> set[int]:
        """Before a write that frees the room slot `leaves` (the booking's meeting cancelled, or moved to another
        time or room): a mark on every other active ROOMS booking of that room at that slot that its room is to be
        asked again (`q.room_asks`), read by the pass of its organizer in any run (`_asks`). In ROOMS such a
        booking took the slot this meeting frees; where its invitation reached the room first (its mailbox synced
        earlier: another worker's batch, another `sync --person`), the room declined it, and is asked again once
        the slot is free (review27w; a plain sync's phases keep the order, `SlotLedger`). A booking the room holds
        has its mark cleared without a request (`_asks`); a write that fails leaves a mark that costs at most one
        request. Nothing is read when the meeting held no room (a no-op pass writes nothing, so reads nothing).
        The bookings marked (`_mark_again` marks them again after the write)."""
        if leaves is None or self.ctx.dry_run:
            return set()
        room_email, start, end = leaves
        with self.ctx.store.read() as conn:
            room = q.get_room(conn, room_email)
            others = (
                set()
                if room is None
                else {
                    b.id
                    for b in q.overlapping_bookings(conn, room.id, start, end)
                    if b.id != booking.id and b.status == "active"
                }
            )
        if room is None or not others:
            return set()
        with self._write() as conn:
            q.mark_room_asks(conn, others, room.email, self.ctx.now())
        return others

    def _meeting_spans(self, meeting: Meeting) -> list[tuple[datetime, datetime]]:
        """The times a meeting holds its rooms: a single meeting's, or each active occurrence of a series not over
        yet (as ROOMS would book it; its first occurrence's when ROOMS cannot hold the series)."""
        fields = meeting.fields
        assert fields is not None
        whole = [(whole_seconds(fields.start), whole_seconds(fields.end))]
        if fields.series is None:
            return whole
        try:
            made = series_from_exchange(fields, self.ctx.now(), self.ctx.horizon_days)
        except Exception:  # one ROOMS cannot hold (InputError) or read: its first occurrence
            log.debug("%s: the occurrences of %s not expanded", self.mailbox, meeting.item_id, exc_info=True)
            return whole
        now = self.ctx.now()
        spans = [
            (whole_seconds(o.start), whole_seconds(o.end))
            for o in made.occurrences
            if o.status == "active" and o.end > now
        ]
        return spans or whole

    def _waits(self, booking: Booking) -> bool:
        """Whether the booking's new slot is one a failed write of this pass should have freed: it is not sent
        (the room would decline it), the next pass sends it after the slot is freed."""
        if booking.status != "active" or not self.ctx.slots.blocked(self._takes(booking)):
            return False
        self.report.skip("waiting for its slot to be freed")
        return True

    def _writes(self, phase: str) -> None:
        """ROOMS → Exchange: the writes of one phase."""
        by_id = self.bookings
        to_create = []
        for booking_id in list(by_id):
            booking = by_id[booking_id]  # as changed by Exchange-side edits
            if booking_id in self._written or self._write_kind(booking) != phase:
                continue
            if phase == MOVE and self.move_round is not None and booking_id not in self.move_round:
                continue  # a later round of the MOVE phase
            link = self.links.get(booking_id)
            creates = link is None or link.item_id is None
            if (phase == MOVE or (phase == TAKE and creates)) and self._waits(booking):
                self._written.add(booking_id)
                continue
            self._written.add(booking_id)  # once a pass: a move written is no "unchanged" in the next phase
            if phase != TAKE:
                leaves, failures = self._leaves(booking_id), len(self.report.failures)
                marked = self._mark_slot_asks(leaves, booking)
                written = self.report.cancelled + self.report.updated
                try:
                    self._booking(booking)
                except BaseException:
                    self._freed(leaves, ok=False)
                    raise
                if len(self.report.failures) > failures:
                    self._freed(leaves, ok=False)
                elif self.report.cancelled + self.report.updated > written:
                    self._freed(leaves, ok=True)
                    self._mark_again(marked, leaves)
                continue
            if booking.status == "active" and (link is None or link.item_id is None):
                if link is not None and link.state == UNLINKED:
                    self.report.skip("not synced")  # purged: no meeting until `sync resume --person`
                    continue
                if last_end(booking) <= self.ctx.now():
                    self.report.skip("past")  # over before it reached Exchange: no invitation for it
                    continue
                if self.held and link is None:
                    # Made after `sync purge --person`: held back like the others until `sync resume`.
                    self._save_link(
                        BookingSyncState(
                            booking_id=booking_id,
                            mailbox=self.mailbox,
                            state=UNLINKED,
                            last_error=f"{NOT_SYNCED_NOTE}: purged",
                        )
                    )
                    self.report.skip("not synced")
                    continue
                to_create.append(booking)
            else:
                self._booking(booking)
        singles = [b for b in to_create if b.series is None]
        if singles:
            self._guarded(singles, lambda: self._create_many(singles))
        for series in (b for b in to_create if b.series is not None):
            # A series alone: its master and then its exceptions are written (docs/series.md, "Sync of series"); a
            # failure between them leaves its intent, and the next pass adopts the master and writes them again.
            self._guarded([series], partial(self._create_many, [series]))

    def _finish(self) -> None:
        """Read past this pass's writes, report what is still declined, store the position."""
        by_id, changes, saved_state, full = self.bookings, self._changes, self._saved_state, self._full
        passes = self._passes
        new_state = changes.state
        after_saves = (
            not self.wrote
        )  # whether the position stored is read after every item id this pass saved
        if self.wrote and not self.ctx.dry_run and not self.hold_cursor:
            # Read past our own writes (and the room's answers to them) now, so the next pass finds nothing.
            catch_up = self.ctx.backend.changes(self.mailbox, new_state)
            if not catch_up.invalid_state:
                self._exchange_changes(catch_up.changed, catch_up.deleted, by_id)
                new_state = catch_up.state
                after_saves = True
        if self.updated and not self.ctx.dry_run:  # not read back by the catch-up: read now
            self._verify_updates(by_id)
        self._check_occurrences_again()
        self._settle_asks()
        self._still_declined()
        self._still_unanswered()
        self._still_holding()
        # A rollback that stood a whole pass (no new conflict): the count starts again ("in a row").
        settled = [
            replace(link, attempts=0)
            for link in self.links.values()
            if link.attempts > 0
            and link.state == LINKED
            and link.booking_id not in self.conflicted
            and not self.hold_cursor
        ]
        if not self.ctx.dry_run and settled:
            self._save_links(settled)
        if self.hold_cursor:
            new_state = saved_state if not changes.invalid_state else None
        elif self.awaiting:
            # A new meeting still awaiting a room's answer: read (and counted) again by the next pass, as a decline
            # is reported on every pass, until the room answers. Only the position: rollback counts are not held.
            new_state = saved_state if not changes.invalid_state else None
        # A position read after every item id saved so far (not the held one): the `unseen` marks go with it, in
        # the same transaction, so a crash between them keeps both.
        seen = (
            [replace(link, unseen=False) for link in self.links.values() if link.unseen]
            if new_state is not None and after_saves and not self.hold_cursor and not self.awaiting
            else []
        )
        if not self.ctx.dry_run:
            with self._write() as conn:
                added = q.rooms_added_since(conn, self.rooms_read - ROOM_ADDED_MARGIN) if new_state else set()
                if added - set(self.rooms):
                    # `rooms add` while this pass ran (it forgot every position): this pass did not look for the
                    # new room's meetings, so it keeps the position forgotten; the next pass reads afresh (review20p).
                    new_state, seen = None, []
                for link in seen:
                    self.links[link.booking_id] = q.save_booking_sync(conn, link, self.ctx.now())
                q.save_mailbox_sync(
                    conn,
                    MailboxSyncState(
                        mailbox=self.mailbox,
                        sync_state=new_state,
                        last_pass=self.ctx.now(),
                        last_error=f"{NOT_SYNCED_NOTE}: purged" if self.held else None,
                        passes_since_full=0 if full else passes + 1,
                    ),
                    self.ctx.now(),
                )

    def _partly_declined(self, link: BookingSyncState | None, booking: Booking) -> bool:
        """Whether the link is of a series its room accepted without some occurrences (OCCURRENCES_DECLINED) of
        which one is still to come (`q.declined_ahead`): as a room-declined booking, reported on every pass and
        its room asked again once the slot is freed (review20x)."""
        return (
            link is not None
            and link.state == LINKED
            and booking.series is not None
            and (link.last_error or "").startswith(OCCURRENCES_DECLINED)
            and q.declined_ahead(booking, link.last_error, self.ctx.now())
        )

    def _declined(self, booking: Booking, reason: str | None) -> None:
        if booking.id in self.declined:
            return
        partly = (reason or "").startswith(OCCURRENCES_DECLINED)
        if partly and booking.series is not None and not q.declined_ahead(booking, reason, self.ctx.now()):
            return  # its declined occurrences are over: a slot that is over settles nothing any more (review20x)
        self.declined.add(booking.id)
        if partly:
            # An accepted series without some of its occurrences: those are not held (review20s).
            self.report.failures.append(
                f"booking {booking.id} ({booking.title}): the room {booking.room} accepted the series but {reason}"
            )
            return
        self.report.failures.append(
            f"booking {booking.id} ({booking.title}): the room {booking.room} declined the meeting: "
            f"{reason or 'no reason recorded'}"
        )

    def _organizers(self, booking: Booking, meeting: Meeting | None = None) -> set[str]:
        """The addresses the booking's organizer is known by: as recorded (possibly an alias), this mailbox's, and
        the organizer's address as Exchange reported it on the meeting read now or last (`_snapshot`), which is the
        mailbox's primary address: a room's copy names that one (review20v)."""
        known = {booking.organizer, self.mailbox, meeting.organizer if meeting is not None else None}
        link = self.links.get(booking.id)
        known.add(str((link.snapshot or {}).get("organizer") or "") if link is not None else None)
        return {a.lower() for a in known if a}

    def _occurrences_declined(
        self, booking: Booking, organizers: set[str], answered: bool = False
    ) -> str | None:
        """The active occurrences of a series its room accepted that the room's calendar does not hold (None:
        it holds every one). A room allowing conflicts within ConflictPercentageAllowed and
        MaximumConflictInstances accepts a series and declines its conflicting occurrences, which its copy holds
        as deleted occurrences (Set-CalendarProcessing; roomsops/lab/FIDELITY.md "Conflicts"): the organizer's
        item shows only the series' Accept, so the room's calendar is read, once per answer of the room, over the
        series' span with each occurrence expanded (review20s). An occurrence is declined when the room's calendar
        holds no meeting of the booking's organizer at its very times but another meeting there (the conflict the
        room declined it for); named by its date with that meeting's organizer. A free slot is no decline known
        (the room's copy may lag an update it has not answered yet). The organizer's copy in the room's calendar is
        known by any of `organizers` (`_organizers`). `answered`: the room's copy is known to be of the series as
        synced (its answer to the last write read, nothing changed since: `_check_occurrences_again`), so an
        occurrence its copy lacks is declined even where the slot is free now (the conflict gone since; review20x).
        A calendar that could not be read: an OCCURRENCES_UNCHECKED note, reported, and the check made again by the
        next pass (`_check_occurrences_again`), as the room sends no new answer to a series it answered
        (review20v)."""
        assert booking.series is not None
        self.occurrences_checked.add(booking.id)
        if self.ctx.dry_run or not booking.room:
            return None
        now = self.ctx.now()
        active = [o for o in booking.series.occurrences if o.status == "active" and o.end > now]
        if not active:
            return None
        first, last = min(o.start for o in active), max(o.end for o in active)
        try:
            held = [
                m
                for span in _spans(first, last)
                for m in self.ctx.backend.room_calendar(
                    booking.room, *span, via=self.mailbox, occurrences=True
                )
                if m.fields is not None and m.fields.free_busy != "Free"
            ]
        except (BackendError, ConnectError) as exc:
            note = (
                f"{OCCURRENCES_UNCHECKED}: the room's calendar could not be read to check the series' "
                f"occurrences ({exc.message}); read again by the next pass"
            )
            self.report.failures.append(f"booking {booking.id} ({booking.title}): {note}")
            return note
        copies = {
            (whole_seconds(m.fields.start), whole_seconds(m.fields.end))
            for m in held
            if m.fields is not None and (m.organizer or "").lower() in organizers
        }
        # The room's copy of the series is there (it holds some of its occurrences) and of the series as synced.
        copy_known = answered and any(
            (whole_seconds(o.start), whole_seconds(o.end)) in copies for o in active
        )
        missing: list[str] = []
        for o in active:
            start, end = whole_seconds(o.start), whole_seconds(o.end)
            if (start, end) in copies:
                continue
            other = next(
                (
                    m
                    for m in held
                    if m.fields is not None
                    and whole_seconds(m.fields.start) < end
                    and start < whole_seconds(m.fields.end)
                ),
                None,
            )
            stamp = q.occurrence_stamp(o, booking.series.time_zone)
            if other is not None:
                missing.append(f"{stamp} (conflict: taken by {other.organizer or 'someone'})")
            elif copy_known:
                missing.append(f"{stamp} (not in the room's copy of the series; the slot is free now)")
            # else free there: not a declined conflict known (a copy not updated yet, a move still to answer)
        if not missing:
            return None
        return (
            f"{OCCURRENCES_DECLINED} {len(missing)} occurrence(s), not held by the room: {', '.join(missing)}"
        )

    def _decline_reason(self, room: str, start: datetime, end: datetime) -> str:
        if self.ctx.dry_run:
            return "not looked up (--dry-run)"
        return decline_reason(self.ctx.backend, room, start, end, via=self.mailbox)

    def _series_decline_reason(self, booking: Booking) -> str:
        """Why the room declined a series (a room decides a series whole: ConflictPercentageAllowed,
        MaximumConflictInstances): its calendar read once over the series' span, the occurrences it holds other
        meetings at named by their dates."""
        assert booking.series is not None
        if self.ctx.dry_run:
            return "not looked up (--dry-run)"
        active = [o for o in booking.series.occurrences if o.status == "active"]
        if not active or not booking.room:
            return "no reason recorded"
        first, last = min(o.start for o in active), max(o.end for o in active)
        try:
            held = [
                m.fields
                for span in _spans(first, last)
                for m in self.ctx.backend.room_calendar(
                    booking.room, *span, via=self.mailbox, occurrences=True
                )
                if m.fields is not None and m.fields.free_busy != "Free"
            ]
        except (BackendError, ConnectError) as exc:
            return f"reason not given by Exchange, and the room's calendar could not be read ({exc.message})"
        zone = ZoneInfo(booking.series.time_zone)
        taken = sorted(
            {
                f"{o.start.astimezone(zone):%Y-%m-%d}"
                for o in active
                for f in held
                if f.start < o.end and o.start < f.end
            }
        )
        if taken:
            return f"conflict: the room's calendar is taken at {len(taken)} occurrence(s): {', '.join(taken)}"
        return (
            "reason not given by Exchange; the room's calendar is free at every occurrence now: a conflict freed "
            "since, or its booking policy (the booking window, the maximum duration or the working hours; see "
            "Get-CalendarProcessing)"
        )

    def _check_occurrences_again(self) -> None:
        """The series whose occurrences an earlier pass could not check (OCCURRENCES_UNCHECKED: the room's calendar
        could not be read at the room's Accept) checked now, unless this pass checked them: no new answer of the
        room comes to read them with (review20v)."""
        if self.ctx.dry_run:
            return
        now = self.ctx.now()
        for booking_id, link in sorted(self.links.items()):
            booking = self.bookings.get(booking_id)
            if (
                link.state != LINKED
                or not (link.last_error or "").startswith(OCCURRENCES_UNCHECKED)
                or booking_id in self.occurrences_checked
                or booking is None
                or booking.series is None
                or booking.status != "active"
                or link.synced_version != booking.version
                or last_end(booking) <= now
            ):
                continue
            # The room's answer to the series as synced was read (the note says so) and no change of it since:
            # its copy is the series as synced.
            note = self._occurrences_declined(booking, self._organizers(booking), answered=True)
            link = self._save_link(replace(link, last_error=note, error_count=0))
            if (note or "").startswith(OCCURRENCES_DECLINED):
                self._declined(booking, note)

    def _settle_asks(self) -> None:
        """Marks to have the room asked again (`_asks`) of bookings whose room's accept this pass read after `_asks`
        looked (the catch-up read a create's answer back): settled, as the room holds the slot. No later pass reads
        that answer as a change, so the mark would stay and re-send the meeting at a later, unrelated decline
        (review20v). Not a series accepted without occurrences still to come (`_partly_declined`): its accept is no
        proof the room holds them (review20x)."""
        if not self.room_holds or self.ctx.dry_run:
            return
        with self.ctx.store.read() as conn:
            marks = q.room_asks_of(conn, self.mailbox)
        settled = []
        for booking_id, mark in marks.items():
            link, booking = self.links.get(booking_id), self.bookings.get(booking_id)
            if (
                booking_id in self.room_holds
                and link is not None
                and booking is not None
                and link.state == LINKED
                and link.synced_version == booking.version
                and not self._partly_declined(link, booking)
            ):
                settled.append(mark)
        if settled:
            with self._write() as conn:
                q.clear_room_asks(conn, settled)

    def _still_declined(self) -> None:
        """Every link still `room-declined` is a failure of its booking on every pass until it is settled (the
        booking moved, cancelled, or the room accepts) or its slot is over, also when nothing changed in the
        mailbox: from the links and the database alone, no calendar request. A slot that is over settles nothing
        any more (no pass writes a meeting that is over, a move into the past is skipped): as `_still_holding`
        stops once the slot is over, so does this report (review20e), which would otherwise last for ever; of a
        series accepted without some occurrences, once those are over (`_declined`, review20x)."""
        waiting = [
            link.booking_id
            for link in self.links.values()
            if (
                link.state == ROOM_DECLINED
                or (link.state == LINKED and (link.last_error or "").startswith(OCCURRENCES_DECLINED))
            )
            and link.booking_id not in self.declined
        ]
        if not waiting:
            return
        known = {i: self.bookings[i] for i in waiting if i in self.bookings}
        missing = [i for i in waiting if i not in known]
        if missing:
            with self.ctx.store.read() as conn:
                known |= {b.id: b for b in q.bookings_by_id(conn, missing)}
        now = self.ctx.now()
        for booking_id in sorted(known):
            booking, link = known[booking_id], self.links[booking_id]
            over = last_end(booking) <= now or meeting_over(link, booking, now)
            if booking.status == "active" and not over:
                self._declined(booking, link.last_error)

    def _still_unanswered(self) -> None:
        """Every linked booking whose room has not answered its meeting (`room_unanswered`: a room whose resource
        booking attendant processes nothing, AutomateProcessing None, answers never) is named with its room in the
        log on every pass until the room answers or the slot is over, as a new Outlook meeting awaiting its room
        is (`_awaiting`), and listed by `sync diff` as `room-pending`: the room's calendar does not hold the slot
        (I5, review20h). From the links alone, no calendar request."""
        now = self.ctx.now()
        for booking_id in sorted(self.links):
            link, booking = self.links[booking_id], self.bookings.get(booking_id)
            if booking is not None and room_unanswered(link, booking, now):
                said = (
                    f"booking {booking.id} ({booking.title}): the room {snapshot_room(link) or booking.room} has "
                    "not answered its meeting (its calendar does not hold the slot)"
                )
                self.report.rooms_pending.append(said)
                log.warning("%s: %s: %s", self.mailbox, ROOM_PENDING, said)

    def _save_mailbox_error(self, message: str) -> None:
        try:
            with self._write() as conn:
                previous = q.get_mailbox_sync(conn, self.mailbox)
                q.save_mailbox_sync(
                    conn,
                    MailboxSyncState(
                        mailbox=self.mailbox,
                        sync_state=previous.sync_state if previous else None,
                        last_pass=self.ctx.now(),
                        last_error=(
                            previous.last_error
                            if previous and (previous.last_error or "").startswith(NOT_SYNCED_NOTE)
                            else message
                        ),
                        passes_since_full=previous.passes_since_full if previous else 0,
                    ),
                    self.ctx.now(),
                )
        except RoomsopsError as exc:  # reporting the failure must not hide it
            log.warning("could not record the failure of %s: %s", self.mailbox, exc.message)

    # --- Exchange → ROOMS: what changed in the calendar ----------------------------------------------------

    def _reconcile(self, bookings: dict[int, Booking], discover: bool) -> None:
        """The full reconciliation (a recovery, `sync --full`, every `sync.full_every` passes): every meeting
        tagged by this installation, whatever its date, against every link, field by field; a linked meeting
        that is no longer in the calendar was deleted in Outlook; with `discover`, untagged meetings in the window
        are looked at as new meetings. Nothing the stored position would have shown is lost."""
        self.report.pass_kind = "full"
        unread = [
            link.booking_id
            for link in self.links.values()
            if link.booking_id not in bookings and link.state not in (CANCELLED, UNLINKED)
        ]
        if unread:  # every linked booking, whatever its date
            with self.ctx.store.read() as conn:
                bookings.update({b.id: b for b in q.bookings_by_id(conn, unread)})
        tagged = self._reconcile_by_tag(bookings)
        present = {m.item_id for m in tagged}
        gone = [
            (link, booking)
            for link in list(self.links.values())
            if link.item_id not in present
            and (booking := bookings.get(link.booking_id)) is not None
            and deleted_if_missing(link, booking)
        ]
        # A `pending-update` meeting whose tagging write was lost carries no tag: not found by its tag, it may still
        # be in the calendar (its booking cancelled in ROOMS: the pass cancels it, review24p). Read by id, only when
        # there are some (no request otherwise); one still there is no deletion.
        untagged = [link.item_id for link, _ in gone if link.state == PENDING_UPDATE and link.item_id]
        there = (
            {m.item_id for m in self.ctx.backend.in_calendar(self.mailbox, untagged)} if untagged else set()
        )
        for link, booking in gone:
            if link.item_id not in there:
                self._booking_cancelled_in_exchange(link, booking)
        if discover:
            self._discover(bookings)

    def _discover(self, bookings: dict[int, Booking], candidates: list[Candidate] | None = None) -> None:
        """The untagged meetings in the window, single ones and series (their masters: a series is taken over whole;
        soak seed 37002), looked at as new meetings (one the person organizes that invites a
        known, free room becomes a booking): in a full reconciliation, and on a pass from no position (a first
        pass, or a recovery of a mailbox without links), whose changes show none. On such a pass the read from
        scratch told the `candidates` (`Changes.candidates`): only those in the window are read (none: no request),
        instead of every untagged meeting of the window (a CalendarView and a GetItem of hundreds of appointments
        over EWS, a calendarView over Graph), so a first pass costs what it did before it discovered them.
        The window ends where `_exchange_item` leaves untagged meetings alone (`_discovers`): over Graph the end of
        the window's last day, where the delta round ends, so a meeting made there before the first pass is booked
        as one made after it is (the round reports it then)."""
        start, end = self._discovers
        known = {link.item_id for link in self.links.values() if link.item_id}
        if candidates is None:
            found = self.ctx.backend.find_untagged(self.mailbox, start, end)
        else:
            wanted = list(
                dict.fromkeys(
                    c.item_id
                    for c in candidates
                    if c.item_id not in known
                    and (c.end is None or c.end > start)
                    and (c.start is None or c.start < end)
                )
            )
            # As `find_untagged`: single meetings and series' masters without any installation's tag (Graph's
            # candidates may carry one).
            found = [m for m in self.ctx.backend.get(self.mailbox, wanted) if m.installation is None]
        for meeting in found:
            if meeting.item_id not in known:
                self._exchange_item(canonical(meeting), None, bookings)

    def _reconcile_by_tag(self, bookings: dict[int, Booking]) -> list[Meeting]:
        """Adopt meetings this installation wrote (e.g. before a crash); report tagged ones with no booking;
        compare the linked ones field by field with what was last synced. The tagged meetings found."""
        tagged = [canonical(m) for m in self.ctx.backend.find_tagged(self.mailbox, self.ctx.installation)]
        seen: dict[int, Meeting] = {}
        compare: list[tuple[Meeting, BookingSyncState]] = []
        for meeting in tagged:
            if meeting.organizer not in (None, self.mailbox.lower()):
                continue  # an attendee's copy of another person's meeting: not this mailbox's to sync
            booking_id = tagged_booking_id(meeting.booking_id)
            if booking_id is None or (booking_id not in bookings and booking_id not in self.links):
                self.report.unknown_tagged.append(meeting.item_id)
                continue
            link = self.links.get(booking_id)
            booking = bookings.get(booking_id)
            settled = link is not None and link.state in (UNLINKED, CANCELLED)
            if not self._belongs(meeting, booking, link) and not (settled and booking is None):
                # Its tag names a booking id this database gave to another booking (a data folder restored from
                # a backup gives ids again): not this booking's meeting. Reported, never adopted or cancelled.
                self.report.unknown_tagged.append(meeting.item_id)
                log.warning(
                    "%s: meeting %s is tagged for booking %s but is not that booking's (its tag %r; the booking id "
                    "was given again, e.g. after a restore of the data folder): reported, not touched",
                    self.mailbox,
                    meeting.item_id,
                    booking_id,
                    meeting.booking_id,
                )
                continue
            if settled:
                if not meeting.is_cancelled:
                    self.report.skip(
                        "restored or unlinked"
                    )  # e.g. restored from Deleted Items: never touched
                continue  # let go on purpose (conflict behaviour Cancel), or cancelled already: never touched
            keep = seen.get(booking_id)
            if keep is None and link is not None and link.item_id not in (None, meeting.item_id):
                linked = next((m for m in tagged if m.item_id == link.item_id), None)
                keep = linked
            if keep is not None and keep.item_id != meeting.item_id:
                self._drop_duplicate(meeting)
                continue
            seen[booking_id] = meeting
            found = self._found_by_tag(meeting, booking_id, link, booking)
            if found is not None:
                compare.append((meeting, found))
        for meeting, link in compare:
            synced = MeetingFields.from_json(link.snapshot) if link.snapshot else None
            held = bookings.get(link.booking_id)
            meeting, edited = self._series_edits(meeting, synced, held)
            # Unchanged = our revision tag and the snapshot's fields (not the ChangeKey: docs/sync.md), the room as
            # its booking holds it.
            if (
                link.revision != meeting.revision
                or synced
                != room_as_booked(
                    meeting, held.room if held else None, snapshot_room(link), self.rooms
                ).fields
                or link.readback
                or self._answer_unread(meeting, link, bookings.get(link.booking_id))
                or self._rooms_listed_changed(meeting, link)
                or edited
            ):
                self._exchange_item(meeting, link, bookings)
        return tagged

    def _series_edits(
        self, meeting: Meeting, synced: MeetingFields | None, booking: Booking | None
    ) -> tuple[Meeting, bool]:
        """A linked series' master as the full reconciliation compares it, and whether its exceptions (occurrences
        moved or deleted in Outlook) differ from those the snapshot recorded. EWS's master carries them (its
        GetItem reads ModifiedOccurrences and DeletedOccurrences: compared as read, review25v); Graph's listing of a seriesMaster carries none,
        so its instances are read (`series_exceptions`: one request per linked series, in a full pass only),
        else an Outlook edit of one occurrence is never read once the delta position is past it (review24n)."""
        series = meeting.fields.series if meeting.fields is not None else None
        if (
            series is None
            or booking is None
            or booking.series is None
            or synced is None
            or synced.series is None
        ):
            return meeting, False
        if not series.exceptions_read:
            meeting = self.ctx.backend.series_exceptions(self.mailbox, meeting)
        # EWS's master read with them is compared too: its exceptions are no field `synced != fields` compares
        # (SeriesFields compares its pattern and range only), so an occurrence deleted or moved in Outlook before
        # an invalid sync state was lost by the recovery pass (review25v).
        assert meeting.fields is not None and meeting.fields.series is not None
        read = meeting.fields.series
        if not read.exceptions_read:
            return meeting, False

        def held(s: SeriesFields) -> tuple[set[datetime], set[tuple[datetime, datetime, datetime]]]:
            return set(s.cancelled), {(e.original_start, e.start, e.end) for e in s.exceptions}

        return meeting, held(read) != held(synced.series)

    def _rooms_listed_changed(self, meeting: Meeting, link: BookingSyncState) -> bool:
        """The ROOMS rooms the meeting lists as a resource or an optional attendee are not those its snapshot
        recorded: a second ROOMS room added (or taken off) in Outlook, which changes none of the fields compared (the
        booked room is the meeting's room wherever it is listed; required attendees are a field). The meeting is
        read, so the second room is reported (or removed, Sync-Master) as a pass reading the change would have done
        (soak seed 36008, fix19t). Only known ROOMS addresses and aliases already resolved: no directory request."""

        def rooms_of(addresses: Iterable[Any]) -> set[str]:
            out: set[str] = set()
            for address in (str(a).lower() for a in addresses):
                primary = address if address in self.rooms else (self.aliases.get(address) or "")
                if primary in self.rooms:
                    out.add(primary)
            return out

        held = rooms_of((link.snapshot or {}).get("listed") or ())
        return rooms_of([*meeting.resources, *meeting.optional]) != held

    def _found_by_tag(
        self, meeting: Meeting, booking_id: int, link: BookingSyncState | None, booking: Booking | None
    ) -> BookingSyncState | None:
        """A tagged meeting that is the booking's: adopted (a meeting a crashed pass made: linked as it is), or
        the link to compare it field by field with what was last synced (None: nothing to compare)."""
        if link is not None and link.item_id == meeting.item_id:
            return link if link.state != CANCELLED else None
        if (
            link is not None
            and link.item_id is not None
            and link.snapshot
            and link.state not in (*PENDING_STATES, CANCELLED)
        ):
            # The booking's meeting under another id (its person moved from EWS to Graph without `sync migrate`):
            # relinked, and merged field by field against what was last synced like any change in Exchange, so
            # that an Outlook edit made since is kept, not overwritten from the booking.
            link = self._save_link(replace(link, item_id=meeting.item_id, change_key=meeting.change_key))
        else:
            self._linked(link or BookingSyncState(booking_id=booking_id, mailbox=self.mailbox), meeting, None)
            link = None
        self.report.adopted += 1
        if booking is not None:
            self._audit("sync:adopt", booking, {"item_id": meeting.item_id})
        return link

    def _answer_unread(self, meeting: Meeting, link: BookingSyncState, booking: Booking | None) -> bool:
        """The room's answer on the meeting is not the link's state (a decline on a linked booking, an accept on a
        declined one): the meeting changed since it was last read even though its fields did not (a room's answer
        changes only its attendee's response), so the reconciliation reads it (the answer is state, issue 20). So is
        an answer of the room on a meeting whose link recorded none (`room-pending`): an accept that arrived while
        the mailbox's position was lost (a Graph 410, `sync migrate`, a refused EWS sync state) is read by the
        recovery, not left room-pending for ever (review20p, review24m). From the listing alone: no request."""
        if booking is None or booking.status != "active" or not booking.room:
            return False
        if (self._response(meeting, booking.room) == "Decline") != (link.state == ROOM_DECLINED):
            return True
        if not room_unanswered(link, booking, self.ctx.now()):
            return False
        room = snapshot_room(link) or booking.room
        return any(
            meeting.answered_at(a) is not None for a in self._addresses_of(room) | {booking.room.lower()}
        )

    @staticmethod
    def _belongs(meeting: Meeting, booking: Booking | None, link: BookingSyncState | None) -> bool:
        """Whether the meeting is proven to be this booking's: the very item its link records, or its whole booking
        tag is the booking's (id and key). A booking id alone proves nothing: a restored database gives ids again."""
        if link is not None and link.item_id is not None and link.item_id == meeting.item_id:
            return True
        return booking is not None and meeting.booking_id == tag_of(booking)

    def _drop_duplicate(self, meeting: Meeting) -> None:
        """Cancel a second live meeting of a booking (the one its link names, or the one adopted, is kept), as
        the engine cancels any meeting: with invitations sent, a CancelCalendarItem tells its attendees and room
        (their copies of it go, the kept meeting's stay); without, it is deleted silently. Counted
        (`duplicates_removed`), audited and logged."""
        if self.ctx.dry_run:
            self.report.planned.append(f"remove duplicate meeting {meeting.item_id}")
            return
        try:
            self.ctx.backend.cancel(self.mailbox, meeting)
        finally:
            self.wrote = True
        self.report.duplicates_removed += 1
        self.ctx.audit.record(
            "sync:remove-duplicate",
            self.mailbox,
            {"booking": meeting.booking_id, "item_id": meeting.item_id},
            "ok",
        )
        log.warning(
            "%s: removed a duplicate meeting of booking %s (item %s)",
            self.mailbox,
            meeting.booking_id,
            meeting.item_id,
        )

    def _exchange_changes(
        self, changed: list[tuple[str, str]], deleted: list[str], bookings: dict[int, Booking]
    ) -> None:
        ours = {link.item_id: link for link in self.links.values() if link.item_id and link.state != UNLINKED}
        # A change of a linked meeting whose booking is outside the window: its booking is read now.
        touched = [item_id for item_id, _ in changed] + list(deleted)
        missing = [ours[i].booking_id for i in touched if i in ours and ours[i].booking_id not in bookings]
        if missing:
            with self.ctx.store.read() as conn:
                bookings.update({b.id: b for b in q.bookings_by_id(conn, missing)})
        refresh = [
            item_id
            for item_id, change_key in changed
            if item_id in ours and (ours[item_id].change_key != change_key or item_id in self.updated)
        ]
        self.updated -= set(refresh)
        others = [item_id for item_id, _ in changed if item_id not in ours]
        # Deletions first: a booking cancelled by them frees its slot in ROOMS before a new meeting read in the same
        # pass asks for that slot (else the new meeting is refused as "taken" and the position moves past it).
        for item_id in deleted:
            gone = ours.get(item_id)
            booking = bookings.get(gone.booking_id) if gone else None
            if (
                gone is not None
                and booking is not None
                and (booking.status == "active" or _cancelled_before_written(gone, booking))
            ):
                self._booking_cancelled_in_exchange(gone, booking)
        for meeting in map(canonical, self.ctx.backend.get(self.mailbox, refresh + others)):
            self._exchange_item(meeting, ours.get(meeting.item_id), bookings)

    def _exchange_item(
        self, meeting: Meeting, link: BookingSyncState | None, bookings: dict[int, Booking]
    ) -> None:
        """One meeting read from Exchange (canonical): a new one, or a change of a linked one."""
        try:
            if link is None:
                if self.held:  # `sync purge --person`: nothing of the person is booked until `sync resume`
                    self.report.skip("not synced")
                    return
                (since, until), fields = self._discovers, meeting.fields
                if self._duplicate(meeting, bookings):
                    return
                if fields is not None and (not ends_after(fields, since) or fields.start >= until):
                    # Outside the sync window: left alone (docs/sync.md "Dates"). A series by its last occurrence,
                    # not its master's times (its first occurrence's): one begun before the window with
                    # occurrences in it is taken over (review19x).
                    return
                self._new_meeting(meeting, bookings)
                return
            booking = bookings.get(link.booking_id)
            if meeting.problem is not None and booking is not None and booking.status == "active":
                self._item_failed(f"booking {booking.id} ({booking.title})", meeting.problem, link)
                return
            self._exchange_update(link, meeting, booking)
        except (MailboxUnavailable, ConnectError, LeaseLost):
            raise  # the mailbox, not this item (or this worker's lease on it lost: nothing more is done)
        except Exception as exc:  # one item never stops the others: parked, reported, retried next pass
            if not isinstance(exc, RoomsopsError):
                log.debug("%s: unexpected error on item %s", self.mailbox, meeting.item_id, exc_info=True)
            self._item_failed(self._what(meeting, link), describe(exc), link)

    def _duplicate(self, meeting: Meeting, bookings: dict[int, Booking]) -> bool:
        """A live meeting read among the changes, with this installation's whole tag of a booking whose link names
        another meeting that is still there: a duplicate (a create a worker stalled past its lease sent after the
        mailbox's next owner made the meeting, review27s; an Outlook copy), cancelled now by a normal pass as by a
        full reconciliation (`_reconcile_by_tag`); True when removed. Only a proven meeting (I4): the booking's whole
        tag, a link neither settled (unlinked, cancelled: a meeting let go or restored is never touched) nor
        pending (its create's adoption finds and removes extras, `_adopt_pending`); the linked meeting still in the
        calendar and live. One read of it, only then: a pass without such a change sends no request more."""
        if (
            meeting.installation != self.ctx.installation
            or meeting.is_cancelled
            or meeting.organizer not in (None, self.mailbox.lower())
        ):
            return False
        booking_id = tagged_booking_id(meeting.booking_id)
        link = self.links.get(booking_id) if booking_id is not None else None
        if link is None or link.item_id in (None, meeting.item_id) or link.state in (UNLINKED, CANCELLED):
            return False
        booking = bookings.get(link.booking_id)
        if booking is None:
            with self.ctx.store.read() as conn:
                booking = next(iter(q.bookings_by_id(conn, [link.booking_id])), None)
        if not self._belongs(meeting, booking, link):
            return False
        # Still in the calendar (`in_calendar`: one in Deleted Items is found by `get` too) and live.
        # Another item than this one: a link's id the service reads this very meeting under (an id of the other
        # service, a person switched without the links moved: review24t) proves no duplicate.
        kept = [
            m
            for m in self.ctx.backend.in_calendar(self.mailbox, [link.item_id])
            if not m.is_cancelled and m.item_id != meeting.item_id and not (m.uid and m.uid == meeting.uid)
        ]
        if not kept:
            return False  # the linked meeting is gone: the full reconciliation decides which one is the booking's
        self._drop_duplicate(meeting)
        return True

    def _verify_updates(self, bookings: dict[int, Booking]) -> None:
        """Read the meetings this pass updated and compare them with what was written (bug 8)."""
        ours = {link.item_id: link for link in self.links.values() if link.item_id and link.state != UNLINKED}
        wanted = [item_id for item_id in self.updated if item_id in ours]
        self.updated.clear()
        for meeting in map(canonical, self.ctx.backend.get(self.mailbox, wanted)):
            self._exchange_item(meeting, ours.get(meeting.item_id), bookings)

    def _what(self, meeting: Meeting, link: BookingSyncState | None) -> str:
        booking = self.bookings.get(link.booking_id) if link is not None else None
        if booking is not None:
            return f"booking {booking.id} ({booking.title})"
        subject = meeting.fields.subject if meeting.fields else meeting.item_id
        return f"new meeting {subject!r}"

    def _item_failed(self, what: str, reason: str, link: BookingSyncState | None = None) -> None:
        """An Exchange change that could not be applied: reported now, parked on its link (if it has one), and
        the position held so that the next pass reads it again (and reports it again) until it is settled."""
        self.report.failures.append(f"{what}: {reason}")
        self.hold_cursor = True
        if link is not None and not self.ctx.dry_run:
            self._save_link(self._failed(self.links.get(link.booking_id, link), reason))

    def _record_differences(
        self,
        booking: Booking,
        meeting: Meeting,
        synced: MeetingFields,
        current: MeetingFields,
        target: MeetingFields,
    ) -> None:
        """A room or attendees change made in Outlook is recorded as a difference, not applied (docs/sync.md)."""
        assert meeting.fields is not None
        for kind, name in (("room_changed", "room"), ("attendees_changed", "attendees")):
            if getattr(synced, name) != getattr(current, name) and getattr(current, name) != getattr(
                target, name
            ):
                self._difference(booking, kind, (name,), meeting.fields)
                if getattr(synced, name) != getattr(target, name):
                    self.rooms_win.add((booking.id, name))  # ROOMS changed it too: its value is written
                # Recorded once: the meeting's value goes into the snapshot below (what Exchange holds), so the
                # difference is recorded again only when it changes again (`sync resolve --use ignore` sticks,
                # bug 11).

    def _exchange_update(
        self, link: BookingSyncState, meeting: Meeting, booking: Booking | None, retried: bool = False
    ) -> None:
        """The meeting changed in Exchange: the room's answer, or an edit in Outlook (three-way against the
        last synced state: only fields that differ from it are real edits, not echoes of our own writes).
        Reading the meeting settles a pending read-back: the snapshot becomes what Exchange holds."""
        if booking is not None and (link.last_error or "").startswith(ROLLBACK_UNKNOWN):
            link, booking = self._rollback_read(link, meeting, booking)
        unanswered = self._before_write(link, meeting, booking)
        link = replace(link, readback=False)
        if booking is None or meeting.fields is None or booking.status != "active":
            self._save_link(replace(link, change_key=meeting.change_key))
            return
        link, meeting = self._tag_untagged(link, meeting, booking)
        if booking.room and meeting.invites(booking.room):
            checked = self._booking_second_rooms(meeting, booking)
            if checked is None:
                return  # the removal failed: reported, the position held, tried again next pass
            meeting = checked
        # The booking's room listed after another resource is the meeting's room: recorded and compared so (a
        # ROOMS write of another field then leaves the resources alone, review20f). The booking's room not listed
        # (a ROOMS room change whose write has not landed): the room booked before, as the snapshot records it,
        # wherever it is listed — not the room listed first (review20g).
        meeting = room_as_booked(meeting, booking.room, snapshot_room(link), self.rooms)
        if booking.series is not None and meeting.fields is not None and meeting.fields.series is not None:
            meeting = self.ctx.backend.series_exceptions(self.mailbox, meeting)  # Graph: its instances
        link = self._room_answer(link, meeting, booking, unanswered)
        state = link.state
        synced = MeetingFields.from_json(link.snapshot) if link.snapshot else None
        if synced is None:
            self._save_link(replace(link, change_key=meeting.change_key, state=state))
            return
        assert meeting.fields is not None
        # Compared as ROOMS reads a meeting: the booking's room moved to the required attendees is still its room
        # (recorded and kept as Exchange holds it: a write computed from it puts the room back on its line).
        aliases = self._addresses_of(booking.room or "")
        synced = room_as_listed(synced, booking.room, aliases)
        current = room_as_listed(meeting.fields, booking.room, aliases)
        target = booking_fields(booking)
        series_unsure = booking.series is not None and state == PENDING_UPDATE  # exceptions not compared
        if (
            synced.differs(current, ALL_FIELDS)
            and not current.differs(target, ALL_FIELDS)
            and not series_unsure
        ):
            # The meeting already equals the booking: our own write landed (its answer was lost, or the pass
            # was killed before recording it). Record it as synced; it is no edit.
            if state == PENDING_UPDATE and meeting.booking_id == tag_of(booking):
                state = LINKED  # an update whose answer was never recorded: it landed
            self._save_link(
                replace(
                    link,
                    change_key=meeting.change_key,
                    revision=meeting.revision,
                    snapshot=_snapshot(meeting),
                    synced_version=booking.version,
                    state=state,
                )
            )
            return
        # A field that changed since the last sync but now equals the booking is our write, not an edit.
        edited = [name for name in synced.differs(current) if getattr(current, name) != getattr(target, name)]
        self._record_differences(booking, meeting, synced, current, target)
        if self._series_handled(link, meeting, booking, edited, series_unsure):
            return
        rooms_changed = link.synced_version != booking.version
        refused = _refused(meeting) if {"start", "end"} & set(edited) else None
        if refused is not None and not rooms_changed:
            self._conflict(link, meeting, booking, refused)
        elif not edited:
            # Nothing edited: the snapshot is what Exchange holds now (its values, after our write).
            self._save_link(
                replace(
                    link,
                    change_key=meeting.change_key,
                    revision=meeting.revision,
                    snapshot=_snapshot(meeting),
                    state=state,
                )
            )
        elif rooms_changed:
            # Both sides changed: per field. A field only Outlook changed is applied to the booking; a field both
            # changed: ROOMS wins (the pass below rewrites the meeting from the booking) and Outlook's value is
            # kept as a difference to settle with `sync resolve`.
            ours = set(target.differs(synced))
            same = tuple(name for name in edited if name in ours or refused is not None)
            theirs = [name for name in edited if name not in same]
            # A series' occurrences Outlook moved or deleted, ROOMS having changed the series too (`_series_edit`).
            moved = self.series_differences.pop(booking.id, ())
            if same or moved:
                self._difference(booking, "both_changed", (*same, *moved), meeting.fields)
            if theirs:
                self._apply_exchange_edit(link, meeting, booking, theirs, rooms_pending=True, retried=retried)
            else:
                self._save_link(
                    replace(link, change_key=meeting.change_key, snapshot=_snapshot(meeting), state=state)
                )
        else:
            self._apply_exchange_edit(link, meeting, booking, edited, retried=retried)

    def _series_handled(
        self, link: BookingSyncState, meeting: Meeting, booking: Booking, edited: list[str], unsure: bool
    ) -> bool:
        """Outlook edits of a synced series (docs/series.md, "Outlook edits of a series"): the whole series or one
        occurrence, taken over when ROOMS can hold them (`_series_edit`). A pending write of the series (`unsure`)
        is written again first. A series Exchange holds as a single meeting now, or a single booking's meeting made a
        series, is an edit ROOMS cannot accept."""
        assert meeting.fields is not None
        if booking.series is None:
            if meeting.fields.series is None:
                return False
            # A recurrence added in Outlook: ROOMS keeps a single booking single (docs/series.md), so it is a
            # conflict (SyncConflictBehaviour), never counted unchanged while the room holds further occurrences
            # ROOMS knows nothing of (review25v).
            self._conflict(
                link,
                meeting,
                booking,
                "a recurrence was added in Outlook (ROOMS keeps a single booking single)",
            )
            return True
        if meeting.fields.series is None:
            # Its recurrence removed in Outlook (with other edits or none): ROOMS keeps a series a series, so it is
            # a conflict, never counted unchanged while the room freed the other occurrences (review25v).
            what = ", ".join(edited) or "its recurrence removed"
            self._conflict(
                link, meeting, booking, f"the series was edited in Outlook ({what}): not taken over"
            )
            return True
        if unsure:
            self._take_outlook_deletions(link, booking, meeting.fields)
            return False
        rooms_changed = link.synced_version != booking.version
        if meeting.is_all_day and not rooms_changed:
            # Made all-day in Outlook: a conflict as for a single meeting (docs/sync.md), never taken over as an
            # edit of its times to midnight (review25v). A zero-length one is refused by `series_from_exchange`.
            refused = _refused(meeting)
            assert refused is not None
            self._conflict(link, meeting, booking, refused)
            return True
        return self._series_edit(link, meeting, booking, edited, rooms_changed)

    def _series_edit(
        self,
        link: BookingSyncState,
        meeting: Meeting,
        booking: Booking,
        edited: list[str],
        rooms_changed: bool,
    ) -> bool:
        """An Outlook edit of a synced series (docs/series.md, "Outlook edits of a series"): one occurrence moved,
        changed or deleted (Exchange's exceptions, by original start), or the whole series (its pattern, range,
        times, title, private flag, reminder, free/busy, attendees) — made the booking's, checked as a ROOMS edit
        is (the room free at every active occurrence). Whether it was handled: False when Exchange holds the series
        as ROOMS does (nothing of the series edited: the caller records the room's answer and the snapshot).
        ROOMS' own changes not written yet win (the pass writes them; Outlook's series edit is reported as a
        difference); an edit ROOMS cannot hold (the room taken, a room change, a series beyond the horizon) is a
        conflict (SyncConflictBehaviour)."""
        current, series = meeting.fields, booking.series
        assert current is not None and current.series is not None and series is not None
        if not current.series.exceptions_read:
            return False  # read without its exceptions (never on a pass's path): judged on the next read
        target = booking_fields(booking)
        try:
            theirs = series_from_exchange(
                current,
                self.ctx.now(),
                self.ctx.horizon_days,
                series,
                target.series,
                exchange_cancels=not rooms_changed,
            )
        except InputError as exc:
            if rooms_changed:
                return False
            self._conflict(link, meeting, booking, f"the series as edited in Outlook: {exc.message}")
            return True
        fields = [
            n for n in edited if n in ("subject", "private", "reminder_minutes", "free_busy", "attendees")
        ]
        occurrences_differ = occurrence_rows(theirs.occurrences) != occurrence_rows(series.occurrences)
        recurrence_differs = (theirs.pattern, theirs.range, theirs.booked_until) != (
            series.pattern,
            series.range,
            series.booked_until,
        )
        times = [n for n in edited if n in ("start", "end")]
        if not (fields or occurrences_differ or recurrence_differs or times or "room" in edited):
            return False
        if rooms_changed:
            taken = self._take_outlook_deletions(link, booking, current)
            self._series_both_changed(link, booking, edited, current, taken)
            return False
        if "room" in edited:
            self._conflict(link, meeting, booking, "the series' room was changed in Outlook: not taken over")
            return True
        if self.ctx.dry_run:
            self.report.planned.append(f"apply the Outlook edit of the series to booking {booking.id}")
            self.report.exchange_edits += 1
            return True
        changes = {_BOOKING_FIELD.get(n, n): getattr(current, n) for n in fields}
        first = min(theirs.occurrences, key=lambda o: o.original_start)
        changes |= {
            "start": first.original_start,
            "end": first.original_start + (current.end - current.start),
        }
        # Occurrences alone edited: a conflict is one per occurrence (Cancel: those occurrences, not the booking).
        per_occurrence = occurrences_differ and not (fields or recurrence_differs or times)
        cancel = per_occurrence and self._cancels_now(link)
        try:
            updated, cancelled = self._save_series_edit(booking, changes, theirs, cancel)
        except InputError as exc:
            at_last = "its taken occurrences are cancelled" if per_occurrence else "the booking is cancelled"
            self._conflict(link, meeting, booking, f"the series as edited in Outlook: {exc.message}", at_last)
            return True
        except OperationFailed as exc:
            if exc.code != "booking_changed":
                raise
            self.hold_cursor = True  # changed in ROOMS meanwhile: read again next pass (both changed then)
            return True
        assert updated is not None
        self._save_link(
            replace(
                link,
                change_key=meeting.change_key,
                revision=meeting.revision,
                snapshot=_snapshot(meeting),
                synced_version=updated.version,
                last_error=link.last_error if link.state == ROOM_DECLINED else None,
                attempts=0,
                state=LINKED if link.state == FAILED else link.state,  # a Cancel attempt before
            )
        )
        self.bookings[booking.id] = updated
        self.report.exchange_edits += 1
        what = (
            [*edited]
            + (["occurrences"] if occurrences_differ else [])
            + (["pattern"] if recurrence_differs else [])
        )
        self._audit("sync:exchange-series-edit", booking, {"fields": what})
        self._settle_deleted_occurrences(updated, current)
        if cancelled:
            self._occurrences_cancelled(booking, link, cancelled)
        return True

    def _settle_deleted_occurrences(self, booking: Booking, current: MeetingFields) -> None:
        """Close the booking's open differences that name only occurrences Outlook has deleted since and ROOMS now
        holds cancelled (this pass took the deletion): both sides agree, and `sync resolve --use exchange` of the
        recorded state (a move) would bring back an occurrence Exchange cannot have (review25aa)."""
        if booking.series is None or current.series is None or not current.series.exceptions_read:
            return
        deleted = {whole_seconds(c) for c in current.series.cancelled}
        gone = deleted & {
            whole_seconds(o.original_start) for o in booking.series.occurrences if o.status == "cancelled"
        }
        if not gone:
            return
        with self._write() as conn:
            self._settle_occurrences(conn, booking.id, gone)

    def _settle_occurrences(self, conn: Connection, booking_id: int, gone: set[datetime]) -> None:
        """Close the booking's open differences that name only occurrences of `gone` (original starts, UTC, whole
        seconds): deleted on both sides."""
        for d in q.list_differences(conn, booking_id=booking_id):
            if d.fields and all(occurrence_of_field(name) in gone for name in d.fields):
                q.settle_difference(conn, d.id, "settled", self.ctx.now())

    def _cancels_now(self, link: BookingSyncState) -> bool:
        """Whether a conflict handled now is the person's last Cancel attempt (SyncConflictBehaviour Cancel)."""
        behaviour = self.person.conflict_behaviour if self.person else "Rollback"
        return behaviour == "Cancel" and link.attempts + 1 >= self.ctx.cancel_attempts

    def _save_series_edit(
        self, booking: Booking, changes: dict[str, Any], theirs: NewSeries, cancel: bool
    ) -> tuple[Booking | None, tuple[Occurrence, ...]]:
        """Outlook's series into the booking, the room free in ROOMS at every active occurrence (else `InputError`,
        nothing written). `cancel`: the occurrences another booking holds the room at are cancelled instead
        (SyncConflictBehaviour Cancel per occurrence), unless every one is. The booking as saved, and the
        occurrences cancelled so."""
        tz = ZoneInfo(theirs.time_zone)
        room = self.rooms.get((booking.room or "").lower())
        cancelled: tuple[Occurrence, ...] = ()
        with self._write() as conn:
            if room is not None:
                if cancel:
                    taken = {
                        o.original_start
                        for o, _ in repeats.taken_occurrences(conn, room, theirs.occurrences, booking.id)
                    }
                    kept = tuple(
                        replace(o, status="cancelled") if o.original_start in taken else o
                        for o in theirs.occurrences
                    )
                    if any(o.status == "active" for o in kept):
                        cancelled = tuple(o for o in theirs.occurrences if o.original_start in taken)
                        theirs = replace(theirs, occurrences=kept)
                repeats.refuse_conflicts(conn, room, theirs.occurrences, tz, exclude_id=booking.id)
            q.update_booking(conn, booking.id, changes, self.ctx.now(), expected_version=booking.version)
            q.save_series(conn, booking.id, theirs)
            return q.get_booking(conn, booking.id), cancelled

    def _occurrences_cancelled(
        self, booking: Booking, link: BookingSyncState, cancelled: tuple[Occurrence, ...]
    ) -> None:
        """Reported: the occurrences an Outlook edit moved onto slots ROOMS gave to other bookings, cancelled in
        ROOMS at the last Cancel attempt (Exchange keeps them as Outlook has them until ROOMS writes the series)."""
        assert booking.series is not None
        tz = ZoneInfo(booking.series.time_zone)
        days = ", ".join(f"{o.original_start.astimezone(tz):%Y-%m-%d %H:%M}" for o in cancelled)
        self.report.failures.append(
            f"booking {booking.id} ({booking.title}): the occurrence(s) of {days} ({tz.key}) moved in Outlook onto "
            f"a slot ROOMS gave to another booking: cancelled in ROOMS (SyncConflictBehaviour Cancel, attempt "
            f"{link.attempts + 1} of {self.ctx.cancel_attempts}); the rest of the series is kept"
        )
        self._audit(
            "sync:conflict-cancel-occurrences",
            booking,
            {"occurrences": [o.original_start.isoformat() for o in cancelled]},
        )

    def _take_outlook_deletions(
        self, link: BookingSyncState, booking: Booking, current: MeetingFields
    ) -> tuple[datetime, ...]:
        """Occurrences Outlook deleted that ROOMS still holds active while ROOMS has an unwritten change of the
        series (docs/series.md, "An occurrence deleted in Outlook is taken"): Exchange cannot bring back one deleted
        occurrence without writing the recurrence again, which drops every exception (EWS
        ErrorCalendarOccurrenceIsDeletedFromRecurrence; Graph has no instance left to write), so Outlook's deletion
        is taken whatever the conflict behaviour — the occurrence is cancelled in ROOMS (its slot freed), ROOMS'
        unwritten change of it dropped, and the person told in the summary (review19x). Not when ROOMS' write
        rewrites the recurrence anyway (a new pattern, range or times: every occurrence comes back), nor for the
        last active occurrence. The original starts taken (UTC, whole seconds). A dry run decides the same and
        says what the pass would do, changing nothing (review25aa)."""
        series = booking.series
        gone = deleted_in_outlook(booking, current)
        if series is None or not gone:
            return ()
        duration = current.end - current.start
        keys = {o.original_start for o in gone}
        occurrences = tuple(
            replace(
                o, status="cancelled", start=o.original_start, end=o.original_start + duration, changes={}
            )
            if o.original_start in keys
            else o
            for o in series.occurrences
        )
        tz = ZoneInfo(series.time_zone)
        synced = MeetingFields.from_json(link.snapshot) if link.snapshot else None
        notices = [self._deletion_notice(booking, o, duration, tz, synced) for o in gone]
        taken = tuple(whole_seconds(o.original_start) for o in gone)
        if self.ctx.dry_run:
            # The pass's own decision, previewed: the occurrence cancelled in ROOMS, no difference for it, and the
            # rest of ROOMS' change written (the booking as the pass would hold it).
            self.report.planned += [f"cancel in ROOMS: {n}" for n in notices]
            self.bookings[booking.id] = replace(booking, series=replace(series, occurrences=occurrences))
            return taken
        kept = NewSeries(
            pattern=series.pattern,
            range=series.range,
            time_zone=series.time_zone,
            booked_until=series.booked_until,
            occurrences=occurrences,
        )
        try:
            with self._write() as conn:
                q.update_booking(conn, booking.id, {}, self.ctx.now(), expected_version=booking.version)
                q.save_series(conn, booking.id, kept)
                updated = q.get_booking(conn, booking.id)
                # With the deletion taken: a pass killed before it says so leaves it to the next (review25aa).
                ids = q.add_notices(conn, booking.id, self.mailbox, notices, self.ctx.now())
                # A difference naming only occurrences taken so is settled: neither side has them (review25ac:
                # left open when ROOMS had an unwritten change of the series).
                self._settle_occurrences(conn, booking.id, set(taken))
        except OperationFailed as exc:
            if exc.code != "booking_changed":
                raise
            self.hold_cursor = True  # changed in ROOMS meanwhile: read again next pass
            return ()
        assert updated is not None
        self.bookings[booking.id] = updated
        self.notice_ids += ids
        self.report.notices += notices
        self._audit(
            "sync:occurrence-deleted-in-outlook",
            booking,
            {"occurrences": [o.original_start.isoformat() for o in gone]},
        )
        return taken

    def _deletion_notice(
        self, booking: Booking, o: Occurrence, duration: timedelta, tz: ZoneInfo, synced: MeetingFields | None
    ) -> str:
        """What the person is told of an occurrence deleted in Outlook that ROOMS had changed (or not): ROOMS' change
        of it "not written" unless the last sync wrote it (`synced`, the link's snapshot), and, for an occurrence
        still ahead, the `bookings add` command that books its slot again — its times with their UTC offset (read
        so whatever rooms.time_zone is) and every value quoted for a shell (`shellword`: PowerShell and POSIX
        shells alike where one word can be; else for a POSIX shell, README "Sync")."""
        start, end = o.start.astimezone(tz), o.end.astimezone(tz)
        day = o.original_start.astimezone(tz)
        changed = []
        if (o.start, o.end) != (o.original_start, o.original_start + duration):
            changed.append(f"move to {start:%Y-%m-%d %H:%M}–{end:%H:%M}")
        changed += [f"{name} {value!r}" for name, value in sorted(o.changes.items())]
        written = False
        if synced is not None and synced.series is not None and not o.changes:
            states = occurrence_states(synced.series, synced.end - synced.start)
            written = states.get(whole_seconds(o.original_start)) == (
                whole_seconds(o.start),
                whole_seconds(o.end),
            )
        what = "was dropped with it (it had been written)" if written else "was not written"
        dropped = f"; ROOMS' {', '.join(changed)} {what}" if changed else ""
        said = (
            f"booking {booking.id} ({booking.title}): the occurrence {day:%Y-%m-%d %H:%M} ({tz.key}) was deleted in "
            f"Outlook and is cancelled in ROOMS (Exchange cannot bring back one occurrence of a series){dropped}"
        )
        if o.start <= self.ctx.now():
            return f"{said} — it is in the past: nothing to book again"
        title = o.changes.get("title") or booking.title
        words = [
            "roomsops bookings add --organizer",
            shellword(booking.organizer, posix=True),
            "--room",
            shellword(booking.room, posix=True),
            "--start",
            shellword(start.isoformat(timespec="minutes"), posix=True),
            "--end",
            shellword(end.isoformat(timespec="minutes"), posix=True),
            "--title",
            shellword(title, posix=True),
        ]
        return f"{said} — if it is still needed, book the slot again as a single booking: {' '.join(words)}"

    def _series_both_changed(
        self,
        link: BookingSyncState,
        booking: Booking,
        edited: list[str],
        current: MeetingFields,
        taken: tuple[datetime, ...] = (),
    ) -> None:
        """A synced series changed in Outlook while ROOMS changed it too (`_series_edit`)."""
        assert current.series is not None
        # Both sides changed: ROOMS wins (the pass below writes the booking's series). Outlook's edit is kept
        # as a difference to settle with `sync resolve`: its series fields (title, times, ...) and each
        # occurrence it moved or deleted since the last sync (three-way against the snapshot: an occurrence
        # that differs by ROOMS' own unwritten change alone is no Outlook edit). A new pattern or range is
        # reported instead (no difference `sync resolve` could apply).
        synced = MeetingFields.from_json(link.snapshot) if link.snapshot else None
        before = synced.series if synced is not None else None
        if before is None:
            occurrences: tuple[datetime, ...] = ()
            pattern_edited = True
        else:
            assert synced is not None
            pattern_edited = (before.pattern, before.range) != (
                current.series.pattern,
                current.series.range,
            )
            occurrences = (
                ()
                if pattern_edited
                else occurrences_edited(
                    before, current.series, synced.end - synced.start, current.end - current.start
                )
            )
        # An occurrence Outlook deleted and ROOMS took (`_take_outlook_deletions`) is settled: no difference.
        moved = tuple(occurrence_field(o) for o in occurrences if whole_seconds(o) not in taken)
        if edited:  # recorded with the fields both sides changed, by the caller's per-field merge
            self.series_differences[booking.id] = moved
        elif moved:
            self._difference(booking, "both_changed", moved, current)
        if pattern_edited:
            self.report.failures.append(
                f"booking {booking.id} ({booking.title}): the series' pattern was edited in Outlook while it "
                "was changed in ROOMS too: ROOMS' series is written, Outlook's pattern is not taken over"
            )

    def _before_write(self, link: BookingSyncState, meeting: Meeting, booking: Booking | None) -> bool:
        """Whether the answer the meeting shows predates roomsops' write that is not read back yet: nothing reached
        the item since the write (its ChangeKey is the one the write returned), or, the write's answer lost (its
        ChangeKey unknown), the room's answer is still the one a read before the write recorded (the same answer
        time, review20c2). Such an answer is the room's answer to the meeting as it was before the write, not to
        it (a stale decline): the link waits for the room's new answer."""
        if not link.readback:
            return False
        if meeting.change_key == link.change_key:
            return True
        return (
            booking is not None
            and bool(booking.room)
            and self._answer_seen(link, meeting, booking.room or "")
        )

    def _tag_untagged(
        self, link: BookingSyncState, meeting: Meeting, booking: Booking
    ) -> tuple[BookingSyncState, Meeting]:
        """The link's own meeting (its item id) read without a tag: a meeting made in Outlook whose tagging write
        did not land yet (a tagged one is returned as it is). Invariant (I1, I2): a link leaves `pending-update` only once its meeting carries the
        booking's tag — the full reconciliation finds a booking's meeting by its tag, so a linked one without it
        would be taken for deleted (the booking cancelled) and booked again as a new meeting. So the read that
        finds it untagged tags it before the room's answer or an edit is applied (which change the state), the
        intent stored first: a failed tagging leaves `pending-update` (review20c2). The link and the meeting
        after the tagging."""
        if meeting.installation is not None or meeting.booking_id is not None:
            return link, meeting
        if self.ctx.dry_run:
            self.report.planned.append(f"tag the meeting of booking {booking.id} ({booking.title})")
            return link, meeting
        if link.state != PENDING_UPDATE:
            self._save_link(replace(link, state=PENDING_UPDATE, last_attempt=self.ctx.now()))
        try:
            meeting = self.ctx.backend.tag(
                self.mailbox, meeting, self.ctx.installation, tag_of(booking), revision=self._revision()
            )
        finally:
            self.wrote = True
        # A `pending-update` whose booking is as synced was this tagging; another intent (a ROOMS change still to
        # write) or state stays as it was.
        tagging = link.state == PENDING_UPDATE and link.synced_version == booking.version
        link = self._save_link(
            replace(
                link,
                change_key=meeting.change_key,
                revision=meeting.revision,
                state=LINKED if tagging else link.state,
            )
        )
        self._audit("sync:tag", booking, {"item_id": meeting.item_id})
        return link, meeting

    def _answer_seen(self, link: BookingSyncState, meeting: Meeting, room: str) -> bool:
        """Whether the room's answer the meeting shows is the very answer the link's snapshot recorded at a read
        before roomsops' pending write (the same answer time: EWS LastResponseTime, Graph responseStatus.time), so
        the room has not answered that write yet. Exchange keeps answer times to the second: a room that answered
        the write within the second of its previous answer would be taken for not having answered."""
        seen = (link.snapshot or {}).get("answered") or {}
        for address in sorted(self._addresses_of(room)):
            when = meeting.answered_at(address)
            if when is not None:
                return bool(seen.get(address) == when)
        return False

    def _booking_second_rooms(self, meeting: Meeting, booking: Booking) -> Meeting | None:
        """ROOMS rooms besides the booking's own on its meeting (added in Outlook: a resource, a required or an
        optional attendee): reported, the Sync-Master ones removed. The meeting as it is now (None: the removal
        failed)."""
        assert booking.room is not None
        others = [r for r in self._rooms_listed(meeting) if r.email.lower() != booking.room.lower()]
        if not others:
            return meeting
        checked = self._second_rooms(meeting, booking.room, others, f"booking {booking.id} ({booking.title})")
        return checked if checked.fields is not None else None

    def _room_answer(
        self, link: BookingSyncState, meeting: Meeting, booking: Booking, unanswered: bool
    ) -> BookingSyncState:
        """The link's state by the room's answer on the meeting: `room-declined` with what is known of the reason
        (reported now, and on every pass until settled), else linked (a parked failure settled). `unanswered`:
        the answer shown predates roomsops' last write (a stale decline is not the room's answer to it)."""
        assert meeting.fields is not None
        state = link.state
        if state in (FAILED, ROOM_DECLINED):
            # Processed now: a parked failure is settled; a declined room is judged by its current answer.
            state = LINKED
        response = self._response(meeting, booking.room) if booking.room else meeting.room_response
        # A series accepted without some occurrences (`_occurrences_declined`): checked once per answer of the room,
        # the note kept while the answer read is the one already seen.
        seen = bool(booking.room) and self._answer_seen(link, meeting, booking.room or "")
        partial = (link.last_error or "").startswith(OCCURRENCES_DECLINED)
        unchecked = (link.last_error or "").startswith(OCCURRENCES_UNCHECKED)
        if state == LINKED and link.last_error is not None and not (partial and seen):
            link = replace(link, last_error=None, error_count=0)
        if response in ("Accept", "Tentative"):
            self.room_holds.add(booking.id)
        if response == "Decline" and not unanswered:
            # The room's answer is the truth: read on every change of the meeting; stored with its reason,
            # reported on every pass (and in `sync diff`) until the booking moves, is cancelled or is accepted.
            state = ROOM_DECLINED
            if booking.series is not None:
                reason = self._series_decline_reason(booking)
            else:
                reason = self._decline_reason(booking.room or "", meeting.fields.start, meeting.fields.end)
            link = replace(link, last_error=reason, error_count=0)
            self._declined(booking, reason)
        elif response in ("Accept", "Tentative") and booking.series is not None and state == LINKED:
            if (not seen or unchecked) and not unanswered:
                note = self._occurrences_declined(booking, self._organizers(booking, meeting))
                link = replace(link, last_error=note, error_count=0)
            if (link.last_error or "").startswith(OCCURRENCES_DECLINED):
                self._declined(booking, link.last_error)
        # The state goes with every path after (an Outlook edit applied to a declined booking keeps it declined).
        return replace(link, state=state)

    def _difference(
        self, booking: Booking, kind: str, fields: tuple[str, ...], current: MeetingFields
    ) -> None:
        self.report.differences += 1
        if self.ctx.dry_run:
            self.report.planned.append(f"record a difference ({kind}) for booking {booking.id}")
            return
        with self._write() as conn:
            q.add_difference(
                conn,
                Difference(
                    booking_id=booking.id,
                    mailbox=self.mailbox,
                    kind=kind,
                    fields=fields,
                    rooms_state=booking_fields(booking).to_json(),
                    exchange_state=current.to_json(),
                    detected=self.ctx.now(),
                ),
            )

    def _apply_exchange_edit(
        self,
        link: BookingSyncState,
        meeting: Meeting,
        booking: Booking,
        edited: list[str],
        rooms_pending: bool = False,
        retried: bool = False,
    ) -> None:
        """Outlook's values of `edited` into the booking. `rooms_pending`: the booking has ROOMS changes of other
        fields too, still to be written to the meeting (its synced version stays behind, so the pass writes
        them, and only them: the snapshot is what the meeting holds now)."""
        current = meeting.fields
        assert current is not None
        changes = {_BOOKING_FIELD.get(name, name): getattr(current, name) for name in edited}
        if self.ctx.dry_run:
            self.report.planned.append(
                f"apply the Outlook edit of {', '.join(edited)} to booking {booking.id}"
            )
            self.report.exchange_edits += 1
            return
        with self._write() as conn:
            start, end = changes.get("start", booking.start), changes.get("end", booking.end)
            taken = q.overlapping_bookings(conn, booking.room_id, start, end, exclude_id=booking.id)
            if not taken:
                try:
                    updated = q.update_booking(
                        conn, booking.id, changes, self.ctx.now(), expected_version=booking.version
                    )
                except OperationFailed as exc:
                    if exc.code != "booking_changed":
                        raise
                    updated = None
        if taken:
            other = taken[0]
            self._conflict(
                link,
                meeting,
                booking,
                f"the room is taken by booking {other.id} ({other.title}) at the new time",
            )
            return
        if updated is None:
            # Changed in ROOMS meanwhile: merged once more against the booking as it is now. Left to the next pass
            # alone, the snapshot would stay before Outlook's edit, and a later ROOMS edit back to the snapshot's
            # value would look like no ROOMS change and be overwritten by Outlook's older edit (review 19c).
            with self.ctx.store.read() as conn:
                fresh = next(iter(q.bookings_by_id(conn, [booking.id])), None)
            if not retried and fresh is not None:
                self.bookings[booking.id] = fresh
                self._exchange_update(link, meeting, fresh, retried=True)
                return
            # Changed again: not applied now. The position stays before it, so the next pass reads the meeting
            # again and sees both sides changed (ROOMS wins, the difference is recorded).
            self.hold_cursor = True
            return
        self._save_link(
            replace(
                link,
                change_key=meeting.change_key,
                snapshot=_snapshot(meeting),
                synced_version=link.synced_version if rooms_pending else updated.version,
                # A declined booking stays declined with its reason through an Outlook edit (the room's answer).
                last_error=link.last_error if link.state == ROOM_DECLINED else None,
                attempts=0,
            )
        )
        self.bookings[booking.id] = updated
        self.report.exchange_edits += 1
        self._audit("sync:exchange-edit", booking, {"fields": edited})
        self._settle_differences(updated, current, set(edited))

    def _settle_differences(self, booking: Booking, current: MeetingFields, applied: set[str]) -> None:
        """Close the booking's open differences this Outlook edit settled: each of its fields was edited again
        in Outlook and applied to the booking (the recorded Exchange value is stale), or both sides now hold the
        recorded Exchange value. A stale difference would let `sync resolve --use exchange` undo the later
        edit."""
        target = booking_fields(booking)
        with self._write() as conn:
            for d in q.list_differences(conn, booking_id=booking.id):
                recorded = MeetingFields.from_json(d.exchange_state)
                if all(
                    (name in applied and getattr(target, name) == getattr(current, name))
                    or getattr(target, name) == getattr(current, name) == getattr(recorded, name)
                    for name in d.fields
                ):
                    q.settle_difference(conn, d.id, "settled", self.ctx.now())

    def _conflict(
        self,
        link: BookingSyncState,
        meeting: Meeting,
        booking: Booking,
        reason: str,
        at_last: str = "the booking is cancelled",
    ) -> None:
        """An Outlook edit ROOMS cannot accept (the room is taken, a time ROOMS cannot hold): the person's
        SyncConflictBehaviour. `at_last`: what Cancel does at the last attempt (reported with each one before)."""
        behaviour = self.person.conflict_behaviour if self.person else "Rollback"
        self.conflicted.add(booking.id)
        if behaviour == "Cancel" and link.attempts + 1 < self.ctx.cancel_attempts:
            # ROOMS tries the change `sync.cancel_attempts` times before it cancels: the meeting stays as Outlook
            # has it, the change is read again next pass (its ChangeKey is not recorded, the position is held).
            attempts = link.attempts + 1
            self.hold_cursor = True
            self._save_link(
                replace(
                    link,
                    state=FAILED,
                    attempts=attempts,
                    last_error=f"conflict: {reason}",
                    error_count=link.error_count + 1,
                    last_attempt=self.ctx.now(),
                )
            )
            self.report.failures.append(
                f"booking {booking.id} ({booking.title}): {reason}; the Outlook edit is not applied "
                f"(attempt {attempts} of {self.ctx.cancel_attempts}; at the last {at_last}, "
                "SyncConflictBehaviour Cancel)"
            )
            self._audit("sync:conflict-cancel-attempt", booking, {"reason": reason, "attempt": attempts})
            return
        if behaviour == "Cancel":
            with self._write() as conn:
                q.update_booking(conn, booking.id, {"status": "cancelled"}, self.ctx.now())
                # The meeting stays, no longer linked: kept as unlinked so that no later pass (a recovery by
                # tag included) adopts or cancels it.
                unlinked = q.save_booking_sync(
                    conn,
                    replace(
                        link,
                        state=UNLINKED,
                        change_key=meeting.change_key,
                        attempts=link.attempts + 1,  # the last attempt counts too (`sync diff`)
                        last_error=f"conflict: {reason}",
                    ),
                    self.ctx.now(),
                )
            self.links[booking.id] = unlinked
            self.bookings[booking.id] = replace(booking, status="cancelled")
            self.report.failures.append(
                f"booking {booking.id} ({booking.title}): {reason}; booking cancelled and "
                f"the meeting unlinked (SyncConflictBehaviour Cancel, attempt {link.attempts + 1} of "
                f"{self.ctx.cancel_attempts})"
            )
            self._audit("sync:conflict-cancel", booking, {"reason": reason, "attempt": link.attempts + 1})
            return
        attempts = link.attempts + 1
        outcome = f"meeting reset to the booking (attempt {attempts} of {self.ctx.rollback_attempts})"
        revision = self._revision()
        try:
            try:
                reset = self.ctx.backend.update(
                    self.mailbox,
                    meeting,
                    room_kept_on_its_line(
                        self._keeping_ignored(booking, meeting.fields.to_json() if meeting.fields else None),
                        meeting.fields,
                    ),
                    revision=revision,
                    room_aliases=self._aliases_of_room(meeting),
                )
            except WriteOutcomeUnknown as lost:
                # The answer was lost: the reset may have landed or not (a connection dropped before or after
                # Exchange applied it looks the same). The meeting tells: it carries the reset's revision only if
                # the reset landed — then it is a rollback, counted; otherwise it is no attempt (review20c2).
                self.wrote = True
                try:
                    landed = self._landed(meeting.item_id, revision)
                except (BackendError, ConnectError) as exc:
                    # The read that tells failed too: the outcome stays unknown until a read settles it.
                    self._rollback_unknown(link, booking, reason, revision, f"{lost.message}; {exc.message}")
                    return
                if landed is None:
                    raise
                reset = landed
            self.wrote = True
            self.updated.add(reset.item_id)
            link = self._link_state(link, reset, booking.version, readback=True)
            self.report.rolled_back += 1
        except (BackendError, ConnectError) as exc:
            outcome = "the reset is tried again next pass (not counted: it never reached Exchange;"
            reason = f"{reason}; the reset failed: {exc.message}"
            link = self._failed(link, f"rollback: {reason}")
            self.hold_cursor = True  # the Outlook edit is read again next pass and the reset tried again
            attempts -= 1  # a reset that never reached Exchange is no rollback (review20b)
            outcome += f" {attempts} of {self.ctx.rollback_attempts} rollbacks so far)"
        self._rollback_counted(link, booking, attempts, reason, outcome)

    def _rollback_counted(
        self, link: BookingSyncState, booking: Booking, attempts: int, reason: str, outcome: str
    ) -> BookingSyncState:
        """Record a Rollback's count (`attempts` in a row), reported; at `sync.rollback_attempts` the booking is
        sync-disabled. The link saved."""
        link = replace(link, attempts=attempts)
        self._audit("sync:conflict-rollback", booking, {"reason": reason, "attempt": attempts})
        if attempts >= self.ctx.rollback_attempts:
            with self._write() as conn:
                self.bookings[booking.id] = q.update_booking(
                    conn, booking.id, {"status": "sync_disabled"}, self.ctx.now()
                )
            link = replace(link, state=SYNC_DISABLED)
        link = self._save_link(link)
        if attempts >= self.ctx.rollback_attempts:
            self.report.failures.append(
                f"booking {booking.id} ({booking.title}): {reason}; after {attempts} "
                "rollbacks the booking is sync-disabled"
            )
        else:
            self.report.failures.append(f"booking {booking.id} ({booking.title}): {reason}; {outcome}")
        return link

    def _rollback_unknown(
        self, link: BookingSyncState, booking: Booking, reason: str, revision: str, why: str
    ) -> None:
        """A reset whose answer was lost and whose read-back failed too: it may have landed. Not counted yet and
        said as unknown (never "it never reached Exchange"). The link keeps the reset's revision with the read-back
        flag (`ROLLBACK_UNKNOWN`), the position is held: the next pass reads the meeting and settles it
        (`_rollback_read`): carrying the revision, the reset landed and is counted then; else the Outlook edit is
        read as it is (a conflict again: reset, counted)."""
        self.hold_cursor = True
        self._save_link(
            replace(self._failed(link, f"{ROLLBACK_UNKNOWN}: {reason}"), revision=revision, readback=True)
        )
        self._audit(
            "sync:conflict-rollback", booking, {"reason": reason, "attempt": None, "outcome": "unknown"}
        )
        self.report.failures.append(
            f"booking {booking.id} ({booking.title}): {reason}; the meeting was reset to the booking but the "
            f"answer was lost and the meeting could not be read back ({why}): whether the reset landed is "
            "unknown; the next pass reads the meeting and counts the rollback if it landed "
            f"({link.attempts} of {self.ctx.rollback_attempts} rollbacks counted so far)"
        )

    def _rollback_read(
        self, link: BookingSyncState, meeting: Meeting, booking: Booking
    ) -> tuple[BookingSyncState, Booking]:
        """A reset of an earlier pass whose outcome was unknown (`_rollback_unknown`), settled by the meeting now
        read: carrying the reset's revision, it landed: the rollback is counted now (it stands a whole pass from
        now before the count starts again). Else it never landed: no attempt; the link and the booking as they
        are now (the booking sync-disabled at the limit)."""
        reason = (link.last_error or "")[len(ROLLBACK_UNKNOWN) + 2 :]
        if meeting.revision != link.revision or booking.status != "active":
            return link, booking  # not landed: the Outlook edit is read below as it is (a conflict again)
        self.conflicted.add(booking.id)
        self.report.rolled_back += 1
        attempts = link.attempts + 1
        link = self._rollback_counted(
            replace(link, state=LINKED, last_error=None, error_count=0),
            booking,
            attempts,
            reason,
            "the reset of the last pass landed (its answer was lost, its read-back failed): meeting reset to "
            f"the booking (attempt {attempts} of {self.ctx.rollback_attempts})",
        )
        return link, self.bookings.get(booking.id, booking)

    def _landed(self, item_id: str, revision: str) -> Meeting | None:
        """The meeting as Exchange holds it if roomsops' write with `revision` landed on it (None: it did not)."""
        found = [canonical(m) for m in self.ctx.backend.get(self.mailbox, [item_id])]
        return found[0] if found and found[0].revision == revision else None

    def _new_meeting(self, meeting: Meeting, bookings: dict[int, Booking]) -> None:
        """A meeting roomsops does not know yet: one the person organizes that invites a known room becomes a
        booking when the room is free and has accepted it; attendee copies and other installations' items are
        left alone."""
        self.awaiting.discard(meeting.item_id)  # decided again from what is read now
        if not self._bookable(meeting) or meeting.fields is None:
            return
        fields = meeting.fields
        listed = self._rooms_listed(meeting)
        if not listed and self.person is not None:
            self._unresolved_resources(meeting)
        if not listed or self.person is None:
            return
        room = self._room_of_new_meeting(meeting, listed)
        if room is None:
            # A room listed before the one that would be booked has not answered yet: nothing is decided (and no
            # room removed) until it has; its answer changes the meeting, and the pass that reads it decides.
            self._awaiting(
                meeting, [r for r in listed if self._response(meeting, r.email) in (None, *NO_ANSWER)]
            )
            return
        others = [r for r in listed if r is not room]
        if others:
            # ROOMS holds one synced room per meeting: a second ROOMS room is never booked silently.
            subject = fields.subject
            meeting = self._second_rooms(meeting, room.email, others, f"new meeting {subject!r}", new=True)
            if meeting.fields is None:
                return  # the removal failed: reported, the position held, tried again next pass
            fields = meeting.fields
        response = self._response(meeting, room.email)
        if response == "Decline":
            self._new_meeting_declined(meeting, room)
            return
        if response != "Accept":
            # The booking exists only once the room has accepted: its answer arrives later and changes the
            # meeting, and the pass that reads that change books it (or reports the decline).
            self._awaiting(meeting, [room])
            return
        if self.ctx.dry_run:
            self.report.planned.append(f"book {room.email} for the new meeting {fields.subject!r}")
            return
        self._book_new_meeting(meeting, fields, room)

    def _awaiting(self, meeting: Meeting, rooms: list[Room]) -> None:
        """A new meeting not booked yet because a room has not answered it: counted and named in the log on every
        pass until the room answers (or the meeting goes), so that an administrator sees a room that never answers:
        the mailbox's position is held for it (`_finish`), so the next pass reads it again (the answer is a change
        of the meeting, read then anyway)."""
        self.awaiting.add(meeting.item_id)
        if meeting.item_id in self.awaiting_said:
            return  # read again in this pass: counted and named once
        self.awaiting_said.add(meeting.item_id)
        self.report.skip("awaiting the room's answer")
        subject = meeting.fields.subject if meeting.fields is not None else meeting.item_id
        log.warning(
            "%s: new meeting %r is not booked yet: awaiting the answer of %s",
            self.mailbox,
            subject,
            ", ".join(r.email for r in rooms) or "its room",
        )

    def _room_of_new_meeting(self, meeting: Meeting, listed: list[Room]) -> Room | None:
        """The ROOMS room a new meeting listing `listed` (in the meeting's order) is booked in: the first that holds
        it and ROOMS can give, i.e. the first that did not decline and is not taken in ROOMS. Rule "one synced room
        per meeting" (docs/sync.md): the booking's room must be one that holds the meeting; a room that declined
        it, or that ROOMS has given to someone else, is reported (a Sync-Master one removed from the meeting), never
        chosen over one that accepted and is free (rooms-product.md: Sync-Master removes a room only when ROOMS
        cannot accept the booking; review20e: the first room declining left the meeting stripped of the Sync-Master
        room that accepted it). None: a room before that one has not answered yet (it may accept: wait). With no
        such room (every room declined or is taken), the first is judged: its decline or its conflict reported."""
        fields = meeting.fields
        assert fields is not None
        for room in listed:
            response = self._response(meeting, room.email)
            if response == "Decline":
                continue
            if response != "Accept":
                return None
            with self.ctx.store.read() as conn:
                taken = q.overlapping_bookings(conn, room.id, fields.start, fields.end)
            if not taken:
                return room
        return listed[0]

    def _bookable(self, meeting: Meeting) -> bool:
        """Whether a meeting roomsops does not know may become a booking (the others counted or reported)."""
        if meeting.installation is not None:
            if meeting.installation != self.ctx.installation:
                self.report.skip("other installation")
            elif meeting.organizer in (None, self.mailbox.lower()) and not meeting.is_cancelled:
                self.report.skip(
                    "restored or unlinked"
                )  # e.g. restored from Deleted Items: reported, not booked
            return False
        if meeting.organizer not in (None, self.mailbox.lower()) or meeting.is_cancelled:
            return False  # an attendee's copy: only items the person organizes count
        if meeting.is_all_day:
            self.report.skip("all-day")
            return False
        if (
            meeting.problem is not None
        ):  # e.g. a series in a time zone no table names: reported, with its rooms
            rooms = f": the room {', '.join(meeting.resources)}" if meeting.resources else ""
            self._item_failed(f"{self._what(meeting, None)}{rooms}", meeting.problem)
            return False
        if meeting.is_recurring and (meeting.fields is None or meeting.fields.series is None):
            # An occurrence, or a series whose pattern ROOMS cannot hold; a series' master is taken over whole
            # (rooms-product.md: "a series from Exchange can only be taken over as a whole").
            self.report.skip("series")
            return False
        if meeting.fields is None:
            self._item_failed(self._what(meeting, None), meeting.problem or "its fields cannot be read")
            return False
        fields = meeting.fields
        if fields.end <= fields.start:
            self.report.skip("zero-length")  # ROOMS cannot hold a booking without duration
            return False
        return True

    def _book_new_meeting(self, meeting: Meeting, fields: MeetingFields, room: Room) -> None:
        """The booking of a new meeting the room accepted, with its link in the same transaction (the intent:
        a crash or a lost answer of the tagging write leaves `pending-update` on this very item, never a
        second meeting); then the tag on the meeting."""
        assert self.person is not None
        # Its snapshot records the room booked, wherever the meeting lists it (review20f).
        meeting = room_as_booked(replace(meeting, fields=fields), room.email)
        assert meeting.fields is not None
        new_series: NewSeries | None = None
        if meeting.fields.series is not None:
            # A series is taken over whole, with Exchange's exceptions (docs/series.md, "Outlook edits of a series").
            meeting = self.ctx.backend.series_exceptions(self.mailbox, meeting)
            assert meeting.fields is not None
            if zero_length(meeting.fields):
                self.report.skip(
                    "zero-length"
                )  # an occurrence without duration, as a single meeting (review25v)
                return
            try:
                new_series = series_from_exchange(meeting.fields, self.ctx.now(), self.ctx.horizon_days)
            except InputError as exc:
                self.report.failures.append(
                    f"new series {meeting.fields.subject!r}: ROOMS cannot hold it ({exc.message}); not booked"
                )
                return
        assert meeting.fields is not None
        fields = meeting.fields
        attendees = tuple(a for a in fields.attendees if a != room.email.lower())
        with self._write() as conn:
            taken = (
                q.overlapping_bookings(conn, room.id, fields.start, fields.end)
                if new_series is None
                else _series_taken(conn, room, new_series)
            )
            booking_id: int | None = None
            booking: Booking | None = None
            intent: BookingSyncState | None = None
            if not taken:
                booking_id = q.insert_booking(
                    conn,
                    NewBooking(
                        organizer_id=self.person.id,
                        room_id=room.id,
                        title=fields.subject,
                        start=fields.start,
                        end=fields.end,
                        attendees=attendees,
                        private=fields.private,
                        reminder_minutes=fields.reminder_minutes,
                        free_busy=fields.free_busy,
                    ),
                    self.ctx.now(),
                )
                if new_series is not None:
                    q.save_series(conn, booking_id, new_series)
                booking = q.get_booking(conn, booking_id)
                # The link is stored with the booking, before the tagging write: a lost answer or a crash leaves
                # `pending-update` on this very item (the next pass tags it), never a booking without a link
                # that would be created as a second meeting. Marked `unseen` as any link naming a new item id
                # (`_unseen_mark`): a pass that holds its position (another new meeting awaiting its room's
                # answer) stores one read before this meeting, which never reports its deletion (soak seed 40003).
                assert booking is not None
                intent = q.save_booking_sync(
                    conn,
                    self._unseen_mark(
                        BookingSyncState(
                            booking_id=booking_id,
                            mailbox=self.mailbox,
                            item_id=meeting.item_id,
                            change_key=meeting.change_key,
                            snapshot=_snapshot(meeting, fields),
                            synced_version=booking.version,
                            state=PENDING_UPDATE,
                            last_attempt=self.ctx.now(),
                            from_exchange=True,
                        )
                    ),
                    self.ctx.now(),
                )
        if booking_id is None:
            self._room_taken(meeting, room, taken[0])
            return
        assert booking is not None and intent is not None
        self.links[booking_id] = intent
        self.bookings[booking_id] = booking
        self.report.bookings_created += 1
        self._audit("sync:booking-from-exchange", booking, {"item_id": meeting.item_id})
        try:
            tagged = self.ctx.backend.tag(
                self.mailbox, meeting, self.ctx.installation, tag_of(booking), revision=self._revision()
            )
        except Exception as exc:
            if not isinstance(exc, (MailboxUnavailable, ConnectError)):
                self._save_link(self._failed(intent, describe(exc)))
                self.report.failures.append(
                    f"booking {booking_id} ({booking.title}): tagging its meeting: {describe(exc)}; "
                    "tried again next pass"
                )
                return
            raise
        finally:
            self.wrote = True
        self._linked(intent, tagged, booking.version)

    def _room_taken(self, meeting: Meeting, room: Room, other: Booking) -> None:
        subject = meeting.fields.subject if meeting.fields else meeting.item_id
        reason = (
            f"new meeting {subject!r}: {room.email} is taken in ROOMS by booking {other.id} ({other.title})"
        )
        if room.sync_master and meeting.fields is not None and not self.ctx.dry_run:
            # Sync-Master: ROOMS decides the room's calendar, so the room is taken off the meeting.
            problem = self._take_off(meeting, [room])
            if isinstance(problem, str):
                self.report.failures.append(f"{reason}; not booked; {problem}")
            else:
                self.report.failures.append(f"{reason}; the room was removed from the meeting (sync master)")
        else:
            self.report.failures.append(f"{reason}; not booked (the room is not sync master)")

    def _rooms_listed(self, meeting: Meeting) -> list[Room]:
        """The ROOMS rooms the meeting lists, wherever: every resource, then every required and optional attendee
        (each once, in the meeting's order); a resource listed by an alias of a ROOMS room is that room."""
        fields = meeting.fields
        assert fields is not None
        listed: list[Room] = []
        for address in [*meeting.resources, fields.room]:
            room = self.rooms.get(address) or self._room_by_alias(address)
            if room is not None and room not in listed:
                listed.append(room)
        for address in [*fields.attendees, *meeting.optional]:
            room = self.rooms.get(address) or self.rooms.get(self.aliases.get(address) or "")
            if room is not None and room not in listed:
                listed.append(room)
        return listed

    def _room_by_alias(self, address: str) -> Room | None:
        """The ROOMS room a resource address is an alias (proxy address) of: asked of the directory once per
        address and pass (ResolveNames as the organizer), only for resources that are no ROOMS room's primary
        address; the answer is kept for the pass (also for required and optional attendees). A lookup that got no
        answer is no answer: it raises (once per address and pass; the address is not asked again in the pass), so
        the meeting fails as an item — reported (exit 1), the position held, looked up again next pass — instead of
        being taken for a meeting without a ROOMS room and passed over for good (review20p)."""
        if not address or address in self.rooms:
            return self.rooms.get(address)
        failed = self.alias_failures.get(address)
        if failed is not None:
            raise failed
        if address not in self.aliases:
            try:
                primary = self.ctx.backend.primary_address(address, via=self.mailbox)
            except MailboxUnavailable:
                raise  # the organizer's mailbox, not this lookup
            except (BackendError, ConnectError) as exc:
                failed = BackendError(
                    "alias_lookup_failed",
                    self.mailbox,
                    f"the directory lookup of {address} (which may be a ROOMS room's alias) failed "
                    f"({exc.detail if isinstance(exc, BackendError) else describe(exc)})",
                    "nothing to do: the next pass looks it up again",
                )
                self.alias_failures[address] = failed
                raise failed from None
            self.aliases[address] = primary if primary and primary != address else None
        return self.rooms.get(self.aliases[address] or "")

    def _unresolved_resources(self, meeting: Meeting) -> None:
        """A backend that cannot resolve aliases (Graph: no directory query): a new meeting whose resources are no
        ROOMS room but share a ROOMS room's domain may invite a ROOMS room by an alias; reported, not booked (it
        holds the slot in Exchange only), never silently."""
        backend = self.ctx.backend
        routed = getattr(backend, "resolves_aliases_for", None)
        resolves = routed(self.mailbox) if routed else getattr(backend, "resolves_aliases", True)
        if resolves or meeting.fields is None:
            return
        domains = {email.rpartition("@")[2] for email in self.rooms}
        unknown = sorted(
            {
                address
                for address in [*meeting.resources, meeting.fields.room]
                if address and address not in self.rooms and address.rpartition("@")[2] in domains
            }
        )
        for address in unknown:
            self.report.failures.append(
                f"new meeting {meeting.fields.subject!r}: the resource {address} is no ROOMS room's primary "
                "address and an alias cannot be resolved over Microsoft Graph: if it is a ROOMS room's alias, "
                "invite the room by its primary address; not booked"
            )

    def _aliases_of_room(self, meeting: Meeting) -> list[str]:
        """The addresses other than its own that this pass saw the meeting's room (`fields.room`) listed by: a room
        write takes the old room off the meeting by any of them (review20m)."""
        room = meeting.fields.room if meeting.fields is not None else ""
        return sorted(self._addresses_of(room) - {room}) if room else []

    def _addresses_of(self, room: Room | str) -> set[str]:
        """The room's primary address and the aliases this pass saw it listed by."""
        primary = (room.email if isinstance(room, Room) else room).lower()
        return {primary} | {alias for alias, target in self.aliases.items() if target == primary}

    def _response(self, meeting: Meeting, room: str) -> str | None:
        """The room's answer as the organizer's item records it, under its primary address or an alias."""
        return meeting.response_of(room, *self._addresses_of(room))

    def _second_rooms(
        self, meeting: Meeting, first: str, others: list[Room], what: str, new: bool = False
    ) -> Meeting:
        """Rooms besides the booking's (`first`) in one meeting: each reported; the Sync-Master ones removed from
        the meeting (exactly them, wherever listed; the write read back, the report says what the read-back shows).
        `new`: a new meeting's, whose declines are said with their reason (as a new meeting's decline is).
        The meeting as it is now; with fields None when the removal failed (reported, the position held)."""
        masters = [other for other in others if other.sync_master]
        declined = {o.email for o in others if self._response(meeting, o.email) == "Decline"}
        reasons: dict[str, str] = {}
        if new and meeting.fields is not None:
            for email in sorted(declined):
                reasons[email] = self._decline_reason(email.lower(), meeting.fields.start, meeting.fields.end)
                self.ctx.audit.record(
                    "sync:room-declined",
                    self.mailbox,
                    {"item_id": meeting.item_id, "room": email},
                    reasons[email],
                )
        removed: Meeting | str | None = None
        if masters and self.ctx.dry_run:
            self.report.planned.append(f"remove {', '.join(r.email for r in masters)} from {what}")
        elif masters:
            removed = self._take_off(meeting, masters)
        for other in others:
            if other not in masters:
                outcome = "not booked (ROOMS books one room per meeting)" + (
                    "" if other.email in declined else "; it holds the slot in Exchange only"
                )
            elif removed is None:
                outcome = "would be removed from the meeting (sync master)"
            elif isinstance(removed, str):
                outcome = f"not booked; {removed}"
            else:
                outcome = "removed from the meeting (sync master)"
            # A room that declined holds nothing: said as its decline (once per meeting and pass), not as a slot
            # held in Exchange only.
            said = ""
            if other.email in declined:
                said = f"the room {other.email} declined it" + (
                    f": {reasons[other.email]}; " if other.email in reasons else "; "
                )
            self._report_once(
                (meeting.item_id, other.email.lower()),
                f"{what}: {said}a second ROOMS room, {other.email} (besides {first}): {outcome}",
            )
        if isinstance(removed, str):
            return replace(meeting, fields=None)
        return removed if isinstance(removed, Meeting) else meeting

    def _take_off(self, meeting: Meeting, rooms: list[Room]) -> Meeting | str:
        """`_remove_rooms`, its failure as a sentence (the position is held: the meeting is read again and the
        removal tried again next pass); the mailbox failing or out of reach still stops the pass."""
        try:
            return self._remove_rooms(meeting, rooms)
        except (MailboxUnavailable, ConnectError):
            raise
        except (BackendError, OperationFailed) as exc:
            self.hold_cursor = True
            names = ", ".join(r.email for r in rooms)
            return f"removing {names} from the meeting (sync master) could not be done ({exc.message}); tried again next pass"

    def _remove_rooms(self, meeting: Meeting, rooms: list[Room]) -> Meeting:
        """Take these rooms off the meeting (resources, required and optional attendees, by any address the pass
        saw them listed by; every other attendee stays) and read it back: a write that did not take them off is an
        error, never reported as done."""
        addresses = sorted(set().union(*(self._addresses_of(r) for r in rooms)))
        # A room that held the meeting's slots frees them: the room-declined bookings of those slots are to be
        # asked again (`_resend`, in this pass's last phase or, the fact kept in the database, any later pass);
        # else the slot stays held by neither (review20p: Sync-Master took the room off Diego's accepted meeting
        # for Adele's booking, which the room had declined for Diego's; review20q: after a lost answer, for a
        # series, in another run).
        freed = self._mark_asks(meeting, rooms)
        try:
            try:
                self.ctx.backend.remove_attendees(self.mailbox, meeting, addresses)
            finally:
                self.wrote = True
            found = [canonical(m) for m in self.ctx.backend.get(self.mailbox, [meeting.item_id])]
            still = [
                r.email for r in rooms if found and any(found[0].invites(a) for a in self._addresses_of(r))
            ]
            if not found or still:
                raise OperationFailed(
                    f"removing {', '.join(still or [r.email for r in rooms])} from the meeting was not confirmed "
                    "(read back)",
                    "run 'roomsops sync' again",
                )
        except BaseException:
            # Not confirmed: the marked bookings wait for the next pass (the room may still hold the slot).
            self.ctx.slots.removal_unconfirmed(freed)
            raise
        for r in rooms:
            self.ctx.audit.record(
                "sync:room-removed", self.mailbox, {"item_id": meeting.item_id, "room": r.email}, "ok"
            )
        return found[0]

    def _new_meeting_declined(self, meeting: Meeting, room: Room) -> None:
        """The room declined a new Outlook meeting: no booking; reported to the administrator (also when taking
        the room off fails or its answer is lost); with Sync-Master the room is taken off the meeting that does
        not hold it."""
        fields = meeting.fields
        assert fields is not None
        reason = self._decline_reason(room.email.lower(), fields.start, fields.end)
        what = f"new meeting {fields.subject!r}: the room {room.email} declined it: {reason}; not booked"
        self.ctx.audit.record(
            "sync:room-declined", self.mailbox, {"item_id": meeting.item_id, "room": room.email}, reason
        )
        if room.sync_master and not self.ctx.dry_run:
            problem = self._take_off(meeting, [room])
            if isinstance(problem, str):
                what += f"; {problem}"
            else:
                what += "; the room was removed from the meeting (sync master)"
        self._report_once((meeting.item_id, room.email.lower()), what)

    def _report_once(self, key: tuple[str, str], failure: str) -> None:
        """A failure about one room of one meeting, said once per pass: the pass may read the meeting again after
        its own write (the catch-up), and one decline is one report (review20e)."""
        if key in self.said_rooms:
            return
        self.said_rooms.add(key)
        self.report.failures.append(failure)

    def _booking_cancelled_in_exchange(self, link: BookingSyncState, booking: Booking) -> None:
        """Deleting the meeting (or moving it out of the calendar) cancels the booking. The link keeps a
        ROOM_HOLDS note from that very transaction until the room's copy is found gone or removed (the intent of
        `_release_room`): a crash in between leaves the note, and the next pass checks the room again.
        A booking cancelled in ROOMS before a pass saw the deletion stays cancelled: its cancellation can no
        longer reach the room through the meeting (it is gone), so the room's copy is looked for the same way."""
        rooms_cancelled = booking.status != "active"
        if self.ctx.dry_run:
            self.report.planned.append(
                f"{'forget' if rooms_cancelled else 'cancel'} booking {booking.id}: its meeting was deleted in "
                "Exchange (and remove the room's copy, if it still holds the slot)"
            )
            return
        held = MeetingFields.from_json(link.snapshot) if link.snapshot else booking_fields(booking)
        note = link.last_error
        # A series holds its room until its last occurrence is over (`meeting_over`, review20h).
        if (held.room or booking.room) and not meeting_over(link, booking, self.ctx.now()):
            note = (
                f"{ROOM_HOLDS} {held.start:%Y-%m-%d %H:%M}–{held.end:%H:%M} UTC, until roomsops has checked the "
                "room's calendar: its meeting was deleted in Outlook (perhaps without a cancellation)"
            )
        with self._write() as conn:
            if not rooms_cancelled:
                q.update_booking(conn, booking.id, {"status": "cancelled"}, self.ctx.now())
            self.links[booking.id] = q.save_booking_sync(
                conn,
                replace(
                    link,
                    state=CANCELLED,
                    item_id=None,
                    change_key=None,
                    synced_version=booking.version if rooms_cancelled else link.synced_version,
                    last_error=note,
                    last_attempt=self.ctx.now(),  # when the deletion was read: ROOM_ANSWER_GRACE counts from it
                ),
                self.ctx.now(),
            )
        if not rooms_cancelled:
            self.bookings[booking.id] = replace(booking, status="cancelled")
            self.report.bookings_cancelled += 1
            self._audit("sync:booking-cancelled", booking, "meeting deleted in Exchange")
        self._release_room(self.links[booking.id], booking)

    def _release_room(self, link: BookingSyncState, booking: Booking) -> None:
        """The meeting was deleted in Outlook: with a cancellation the room has freed the slot; deleted without
        one ("delete without sending"), the room's copy still holds it. roomsops opens the room's mailbox and
        removes that copy — the copy with the meeting's UID, wherever the meeting was moved to, never the copy of
        another meeting the organizer still has; when it cannot (access denied, the room's mailbox unreachable),
        the link keeps ROOM_HOLDS in its last error and every pass reports it and tries again, until the copy is
        gone or the slot is over."""
        held = MeetingFields.from_json(link.snapshot) if link.snapshot else booking_fields(booking)
        # The room the meeting held (its snapshot), not the booking's: a room change made in ROOMS and not yet
        # written never reached Exchange.
        room = (held.room or booking.room or "").lower()
        if self.ctx.dry_run or not room or booking.id in self.released:
            return
        self.released.add(booking.id)
        start, end, booked = held.start, held.end, room
        uid = _uid(link)
        if meeting_over(link, booking, self.ctx.now()):  # a series: when its last occurrence is over
            if link.last_error is not None:
                self._save_link(replace(link, last_error=None, error_count=0))
            return
        try:
            for room in [booked, *self._second_rooms_held(link, booked)]:
                for copy in self._orphan_copies(room, start, end, uid, booking):
                    try:
                        self.ctx.backend.delete_copy(room, copy, via=self.mailbox)
                    finally:
                        self.wrote = True
                    self.report.rooms_released += 1
                    self._audit("sync:room-released", booking, {"room": room, "item_id": copy.item_id})
        except (BackendError, ConnectError) as exc:
            if (link.last_error or "").startswith(ROOM_MAY_ANSWER):
                # Only looking again whether a late answer re-created the copy (the room was checked when the
                # deletion was read): not a room known to hold the slot; looked for again next pass.
                log.info(
                    "%s: booking %s: room %s not checked again: %s",
                    self.mailbox,
                    booking.id,
                    room,
                    exc.message,
                )
                return
            problem = (
                f"{ROOM_HOLDS} {start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC: its meeting was deleted in Outlook "
                f"without a cancellation and roomsops could not remove the room's copy ({exc.message}); "
                "tried again every pass"
            )
            self._save_link(replace(link, last_error=problem, last_attempt=self.ctx.now()))
            self.report.failures.append(f"booking {booking.id} ({booking.title}): the room {room}: {problem}")
            return
        read = link.last_attempt
        if read is not None and self.ctx.now() - read < ROOM_ANSWER_GRACE:
            # A request sent before the deletion may still wait for the room's booking attendant, whose acceptance
            # would hold the slot again: looked for again on the passes of the grace period.
            note = f"{ROOM_MAY_ANSWER} ({start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC): its copy is looked for until {read + ROOM_ANSWER_GRACE:%H:%M} UTC"
            if link.last_error != note:
                self._save_link(replace(link, last_error=note, error_count=0))
            return
        if link.last_error is not None:
            self._save_link(replace(link, last_error=None, error_count=0))

    def _second_rooms_held(self, link: BookingSyncState, room: str) -> list[str]:
        """The ROOMS rooms besides `room` the deleted meeting listed when last read (its snapshot: a resource, a
        required or an optional attendee): reported while it stood, never booked, and its copy — accepted — holds
        the slot as the booked room's does (issue 20 Deliver 6 and 10, review20i). Only with the meeting's UID: a
        copy is the meeting's by its UID, never by its times alone."""
        snapshot = link.snapshot or {}
        if not snapshot.get("uid"):
            return []
        if not self.rooms:
            with self.ctx.store.read() as conn:
                self.rooms = {r.email.lower(): r for r in q.list_rooms(conn)}
        listed = [*(snapshot.get("listed") or ()), *(snapshot.get("attendees") or ())]
        domains = {email.rpartition("@")[2] for email in self.rooms}
        out: list[str] = []
        for address in (str(a).lower() for a in listed):
            # Listed by an alias (the snapshot keeps addresses as read): the room it names, asked of the directory
            # as the pass that reported it did (review20m) — only for an address of a ROOMS room's domain.
            found = self.rooms.get(address) or (
                self._room_by_alias(address) if address.rpartition("@")[2] in domains else None
            )
            primary = found.email.lower() if found is not None else None
            if primary is not None and primary != room and primary not in out:
                out.append(primary)
        return out

    def _orphan_copies(
        self, room: str, start: datetime, end: datetime, uid: str | None, booking: Booking
    ) -> list[Meeting]:
        """The room's copies of the deleted meeting that still hold a slot: by its UID (at its last known slot,
        else anywhere ahead: in the sync window, then beyond it as far as a room accepts meetings, ROOM_HORIZON:
        it may have been moved in Outlook before it was deleted, to any date), or, with no UID known, by organizer
        and exact times; never one whose UID is still a live meeting of the organizer."""
        mine = self.mailbox.lower()
        now = self.ctx.now()
        seen: tuple[datetime, datetime] | None = None  # the view a copy was found in by its UID
        found = [
            m
            for m in self.ctx.backend.room_calendar(room, start, end, via=self.mailbox)
            if m.organizer == mine
        ]
        if uid is not None:
            copies = [m for m in found if m.uid == uid]
            # Invariant (issue 20 item 6, I5): a copy the room holds at any slot ahead is found, so it is removed or
            # reported; the sync window alone missed a meeting Outlook had moved beyond it (soak seed 31101).
            # The window first (where a moved meeting mostly is), then beyond it: views of at most two years.
            first, last = max(self.ctx.window[0], now), self.ctx.window[1]
            spans = _spans(first, last) + _spans(max(first, last), now + ROOM_HORIZON)
            for view_start, view_end in spans:
                if copies:
                    break
                seen = (view_start, view_end)
                copies = [
                    m
                    for m in self.ctx.backend.room_calendar(
                        room, view_start, view_end, uid=uid, via=self.mailbox
                    )
                    if m.organizer == mine and m.uid == uid
                ]
        else:
            copies = [
                m
                for m in found
                if m.fields is not None
                and (m.fields.start, m.fields.end) == (start, end)
                and (
                    m.installation is None
                    or (m.installation == self.ctx.installation and m.booking_id == tag_of(booking))
                )
            ]
        # A series' copy (its master, whose fields are its first occurrence's) was found by an occurrence ahead.
        copies = [
            m
            for m in copies
            if m.fields is not None
            and (m.fields.end > now or m.fields.series is not None or m.is_recurring)
            and m.uid
        ]
        if not copies:
            return []
        # The organizer's own calendar at those slots: a copy whose meeting is still there is no orphan (e.g. a new
        # meeting at the same slot, its room copy another UID; or a copy without our tag that is someone's).
        first = min(m.fields.start for m in copies if m.fields is not None)
        last = max(m.fields.end for m in copies if m.fields is not None)
        live = {
            m.uid
            for m in self.ctx.backend.room_calendar(self.mailbox, first, last, via=self.mailbox)
            if m.organizer in (None, mine) and not m.is_cancelled
        }
        series = [
            m for m in copies if m.fields is not None and (m.fields.series is not None or m.is_recurring)
        ]
        if series and seen is not None and uid is not None:
            # A series copy: the organizer's series with its UID in the view the copy was found in (its master's
            # times are the first occurrence's, past: the view at them would not show it).
            live |= {
                m.uid
                for m in self.ctx.backend.room_calendar(self.mailbox, *seen, uid=uid, via=self.mailbox)
                if m.organizer in (None, mine) and not m.is_cancelled
            }
        return [m for m in copies if m.uid not in live]

    def free_rooms_of_missing_meeting(
        self, link: BookingSyncState, booking: Booking, freed: list[str] | None = None
    ) -> int:
        """A person who left the sync, purged: the link knew a meeting, but none is left in the calendar (deleted
        or dragged to Deleted Items in Outlook, perhaps without a cancellation, before any pass read it), so no
        cancellation can reach the room. Its copy is removed as a pass removes the copy of a meeting deleted
        without a cancellation (`_orphan_copies`: by the meeting's UID, never the copy of a meeting still live in
        the organizer's calendar). Returns the copies removed (their rooms appended to `freed`); a BackendError or
        ConnectError is the caller's (the purge of that booking failed: reported, tried again next pass). Seeds
        32500 and 32700 of the soak."""
        held = MeetingFields.from_json(link.snapshot) if link.snapshot else booking_fields(booking)
        room = (held.room or booking.room or "").lower()
        # A series is over when its last occurrence is (`meeting_over`; its snapshot holds the first one's).
        if self.ctx.dry_run or not room or meeting_over(link, booking, self.ctx.now()):
            return 0
        removed = 0
        # The booked room, then every other ROOMS room the meeting listed (a second room's copy holds the slot too).
        for listed in [room, *self._second_rooms_held(link, room)]:
            for copy in self._orphan_copies(listed, held.start, held.end, _uid(link), booking):
                self.ctx.backend.delete_copy(listed, copy, via=self.mailbox)
                removed += 1
                if freed is not None:
                    freed.append(listed)
                self._audit("sync:room-released", booking, {"room": listed, "item_id": copy.item_id})
        return removed

    def release_held_rooms(self) -> MailboxReport:
        """A person who left the sync: a room still holding (or about to hold, its answer late) the slot of a
        booking whose meeting was deleted in Outlook without a cancellation is still freed, and reported while
        that fails, until the copy is gone or the slot is over. The slot is a ROOMS room's, not the person's:
        leaving the sync must not stop the watch the deletion started."""
        with self.ctx.store.read() as conn:
            self.links = {link.booking_id: link for link in q.booking_sync_for_mailbox(conn, self.mailbox)}
        sent = self.ctx.backend.requests_sent()
        self._still_holding()
        self.report.requests += self.ctx.backend.requests_sent() - sent
        return self.report

    def _still_holding(self) -> None:
        """Rooms that still hold the slot of a booking whose meeting was deleted without a cancellation: tried
        again (and reported while it fails) on every pass."""
        waiting = [link for link in self.links.values() if still_holding(link)]
        if not waiting or self.ctx.dry_run:
            return
        with self.ctx.store.read() as conn:
            found = {b.id: b for b in q.bookings_by_id(conn, [link.booking_id for link in waiting])}
        for link in waiting:
            booking = found.get(link.booking_id)
            if booking is not None:
                self._release_room(link, booking)

    # --- ROOMS → Exchange ----------------------------------------------------------------------------------

    def _booking(self, booking: Booking) -> None:
        link = self.links.get(booking.id)

        def write() -> None:
            if (
                link is not None
                and link.state == UNLINKED
                and link.item_id is not None
                and not_synced(link)
                and (booking.status == "cancelled")
            ):
                self._cancel(booking, link)  # held back, but a cancellation still reaches the meeting left
            elif (
                link is not None
                and link.state == UNLINKED
                and link.item_id is None
                and link.last_error == LEFT_SYNC_NOTE
                and booking.status == "cancelled"
            ):
                # Held back while its create was unanswered: its meeting is found by its tag.
                self._cancel_by_tag(booking, link)
            elif (
                link is not None
                and link.state == UNLINKED
                and link.item_id is not None
                and link.change_key is not None
                and (link.last_error or "").startswith(f"{NOT_SYNCED_NOTE}: purged")
                and not link.from_exchange
                and not meeting_over(link, booking, self.ctx.now())  # a purge leaves a meeting that is over
            ):
                self._finish_purge(booking, link)
            elif link is not None and link.state == UNLINKED:
                self.report.skip("not synced" if not_synced(link) else "unlinked")
            elif booking.status == "active" and link is not None and link.item_id is not None:
                if link.synced_version != booking.version and last_end(booking) <= self.ctx.now():
                    self.report.skip("past")  # moved into the past: no update sent to anyone (as for creates)
                elif link.synced_version != booking.version:
                    self._update(booking, link)
                elif link.state == PENDING_UPDATE:
                    self._settle_tag(booking, link)  # the write that tagged it (or its answer) was lost
                else:
                    self.report.unchanged += 1
            elif booking.status == "cancelled" and link is not None and link.item_id is not None:
                self._cancel(booking, link)
            elif (
                booking.status == "cancelled"
                and link is not None
                and link.state
                in (
                    PENDING_CREATE,
                    PENDING_CANCEL,
                )
            ):
                self._cancel_by_tag(booking, link)
            else:
                self.report.skip(booking.status)

        self._guarded([booking], write)

    def _guarded(self, bookings: list[Booking], write: Callable[[], None]) -> None:
        """A failure of these bookings is recorded on them; a failure of the mailbox stops the pass."""
        try:
            write()
        except (MailboxUnavailable, LeaseLost):
            raise  # the mailbox, not this booking (or this worker's lease on it lost): stop here, report it
        except Exception as exc:  # one booking never stops the others: recorded on it, retried next pass
            if not isinstance(exc, RoomsopsError):
                log.debug(
                    "%s: unexpected error on bookings %s",
                    self.mailbox,
                    [b.id for b in bookings],
                    exc_info=True,
                )
            self._write_failed(bookings, exc)

    def _write_failed(self, bookings: list[Booking], exc: Exception) -> None:
        """A write of these bookings failed: reported on each, the error recorded beside its link."""
        if not bookings:
            return
        reason = describe(exc)
        for booking in bookings:
            self.report.failures.append(f"booking {booking.id} ({booking.title}): {reason}")
        if not self.ctx.dry_run:
            # Reread: the intent saved before the write is what the error is recorded beside.
            self._save_links([self._failed(self._link(b), reason) for b in bookings])

    def _create_many(self, bookings: list[Booking]) -> None:
        """New meetings in one batch: intents first, then one CreateItem for all, then the results."""
        if self.ctx.dry_run:
            for booking in bookings:
                self.report.planned.append(f"create meeting for booking {booking.id} ({booking.title})")
            self.report.created += len(bookings)
            return
        pending = [b for b in bookings if self._link(b).state == PENDING_CREATE]
        if pending:
            adopted = self._adopt_pending(pending)
            bookings = [b for b in bookings if b.id not in adopted]
        if not bookings:
            return
        intents = self._save_links(
            [replace(self._link(b), state=PENDING_CREATE, last_attempt=self.ctx.now()) for b in bookings]
        )
        requests = [(booking_fields(b), self.ctx.installation, tag_of(b)) for b in bookings]
        try:
            results = self.ctx.backend.create_many(self.mailbox, requests, revision=self._revision())
        except WriteOutcomeUnknown as exc:
            # The answer was lost, the meetings may exist: look them up instead of creating them again.
            self.wrote = True
            adopted = self._adopt_pending(bookings)
            # Only the rest failed (their intents stay: the next pass looks them up again before writing); the
            # adopted ones are linked, not reported failed beside it.
            self._write_failed([b for b in bookings if b.id not in adopted], exc)
            return
        self.wrote = True
        done = []
        for booking, link, result in zip(bookings, intents, results, strict=True):
            if isinstance(result, Meeting):
                # Read back before the pass ends (with the catch-up's GetItem): the snapshot becomes what
                # Exchange holds (its subject cut, whole seconds, mapped values), not what was meant.
                done.append(self._link_state(link, result, booking.version, readback=True))
                self.updated.add(result.item_id)
                self._audit("ews:CreateItem", booking, {"item_id": result.item_id})
            else:
                self.report.failures.append(f"booking {booking.id} ({booking.title}): {result.message}")
                done.append(self._failed(link, result.message))
        self._save_links(done)
        self.report.created += sum(isinstance(r, Meeting) for r in results)

    def _adopt_pending(self, bookings: list[Booking]) -> set[int]:
        """Link meetings a crashed or unanswered pass created (found by tag); the ids of the adopted bookings."""
        wanted = {tag_of(b): b for b in bookings}  # the whole tag: a meeting with the id alone is not theirs
        found: dict[str, list[Meeting]] = {}
        for meeting in map(canonical, self.ctx.backend.find_tagged(self.mailbox, self.ctx.installation)):
            if meeting.booking_id in wanted and meeting.organizer in (None, self.mailbox.lower()):
                found.setdefault(meeting.booking_id, []).append(meeting)
        adopted = set()
        for key, meetings in found.items():
            booking = wanted[key]
            for extra in meetings[1:]:
                self._drop_duplicate(extra)
            link = self._linked(self._link(booking), meetings[0], None)
            self.report.adopted += 1
            self._audit("sync:adopt", booking, {"item_id": meetings[0].item_id})
            if (
                meetings[0].fields is None
                or booking.series is not None  # its exceptions may not all have been written: written again
                or booking_fields(booking).differs(meetings[0].fields, ALL_FIELDS)
            ):
                self._update(booking, link)
            else:
                self._save_link(replace(link, synced_version=booking.version))
            adopted.add(booking.id)
        return adopted

    def _meeting(self, link: BookingSyncState) -> Meeting:
        fields = MeetingFields.from_json(link.snapshot) if link.snapshot else None
        assert link.item_id is not None and link.change_key is not None
        return Meeting(
            item_id=link.item_id,
            change_key=link.change_key,
            fields=fields,
            installation=self.ctx.installation,
            booking_id=str(link.booking_id),
            revision=link.revision,
        )

    def _keeping_ignored(self, booking: Booking, held: dict[str, Any] | None) -> MeetingFields:
        """The fields to write for `booking` to a meeting that holds `held`: the booking's, except a room or
        attendees difference settled with `sync resolve --use ignore` that neither side changed since (the
        meeting still holds the ignored Exchange value, the booking the ROOMS value of that difference) keeps
        the meeting's value. Otherwise the next write of any other field put ROOMS' room or attendees back and
        an Outlook edit to the ignored value again was recorded as a new difference (bug 11; checker seeds
        3005 and 3006).

        The same holds for a room or attendees difference still open (recorded, not settled yet), unless ROOMS
        changed that field too (both changed: ROOMS wins). Otherwise a ROOMS write of another field in the same
        pass that recorded it (or any later one) put ROOMS' value back over Outlook's in Exchange while
        `sync diff` still listed Outlook's: docs/sync.md, room and attendee changes made in Outlook "are
        recorded as differences, not applied" (checker seed 31500: a ROOMS time change and an Outlook attendee
        change between two passes; the attendees went back to ROOMS' in the recording pass)."""
        target = booking_fields(booking)
        if not held:
            return target
        current = MeetingFields.from_json(held)
        names = [n for n in ("room", "attendees") if getattr(current, n) != getattr(target, n)]
        if not names:
            return target
        with self.ctx.store.read() as conn:
            settled = q.list_differences(conn, booking_id=booking.id, open_only=False)
        keep: dict[str, Any] = {}
        for name in names:
            for d in reversed(settled):  # the latest difference of the field decides
                if name not in d.fields:
                    continue
                if d.resolution is None and (booking.id, name) in self.rooms_win:
                    break
                if d.resolution in ("ignore", None):
                    theirs = MeetingFields.from_json(d.exchange_state)
                    ours = MeetingFields.from_json(d.rooms_state)
                    if getattr(theirs, name) == getattr(current, name) and getattr(ours, name) == getattr(
                        target, name
                    ):
                        keep[name] = getattr(current, name)
                break
        if "room" in keep:
            keep["location"] = current.location
        return replace(target, **keep) if keep else target

    def _update(self, booking: Booking, link: BookingSyncState) -> None:
        if self.ctx.dry_run:
            self.report.planned.append(f"update meeting of booking {booking.id} ({booking.title})")
            self.report.updated += 1
            return
        revision, before = self._revision(), link
        # The intent carries the revision about to be written and the read-back flag: a crash after the
        # UpdateItem leaves both, so the next pass reads the meeting again (never blind to an Outlook edit its
        # ChangeKey covers) and recognises the write as its own.
        link = self._save_link(
            replace(link, state=PENDING_UPDATE, last_attempt=self.ctx.now(), revision=revision, readback=True)
        )
        held = self._meeting(before)
        try:
            try:
                meeting = self._send_update(booking, before, held, revision)
            except (MailboxUnavailable, LeaseLost, ConnectError):
                raise  # the mailbox, the lease or the connection: nothing the meeting read again would settle
            except Exception:
                # A series written onto an occurrence Outlook deleted, not read before the write (a pending write
                # written again, review19x): taken as when read first, then written once more; else the error.
                taken = self._deleted_meanwhile(before, booking, held)
                if taken is None:
                    raise
                booking, held = taken
                meeting = self._send_update(booking, before, held, revision)
        finally:
            self.wrote = True
        wrote = meeting.revision == revision  # nothing differed: nothing was written, nothing to read back
        linked = self._link_state(link, meeting, booking.version, readback=wrote or before.readback)
        if not wrote and before.state == ROOM_DECLINED:
            # No request reached the room (e.g. a time ROOMS holds to the millisecond, the same second in
            # Exchange): its decline stands, with its reason, and is reported on every pass until settled.
            linked = replace(linked, state=ROOM_DECLINED, last_error=before.last_error)
        self._save_link(linked)
        # Read before the pass ends: a write to be compared with what Exchange holds (bug 8); nothing written, the
        # meeting already held the booking's values (the booking was changed in ROOMS to what Outlook had, e.g. its
        # room): the room's answer on it was never read for this booking as it is now, and it is state (a decline
        # of the room the booking now names is `room-declined`, review20d).
        self.updated.add(meeting.item_id)
        self.report.updated += 1
        self._audit("ews:UpdateItem", booking, {"item_id": meeting.item_id})

    def _send_update(
        self, booking: Booking, before: BookingSyncState, held: Meeting, revision: str
    ) -> Meeting:
        return self.ctx.backend.update(
            self.mailbox,
            held,
            room_kept_on_its_line(self._keeping_ignored(booking, before.snapshot), held.fields),
            revision=revision,
            room_aliases=self._aliases_of_room(held),
        )

    def _deleted_meanwhile(
        self, link: BookingSyncState, booking: Booking, held: Meeting
    ) -> tuple[Booking, Meeting] | None:
        """After a failed write of a series: the meeting read again; occurrences Outlook deleted that ROOMS holds
        active taken (`_take_outlook_deletions`). The booking as saved then and the meeting to write over (its
        ChangeKey as read), or None when nothing was taken (the write's error stands)."""
        if booking.series is None:
            return None
        found = self.ctx.backend.get(self.mailbox, [held.item_id])
        if not found or found[0].fields is None or found[0].fields.series is None:
            return None
        fresh = self.ctx.backend.series_exceptions(self.mailbox, canonical(found[0]))
        assert fresh.fields is not None
        if not self._take_outlook_deletions(link, booking, fresh.fields):
            return None
        return self.bookings[booking.id], replace(held, change_key=fresh.change_key)

    def _cancel_by_tag(self, booking: Booking, link: BookingSyncState) -> None:
        """Bug 4: the booking was cancelled while its create was unanswered (a crash, a lost answer): the meeting
        may exist. It is looked up by its tag and cancelled; the intent is `pending-cancel` until the lookup
        and the cancel succeed (a failing lookup keeps it, so the next pass looks again)."""
        if self.ctx.dry_run:
            self.report.planned.append(
                f"look up and cancel the meeting of booking {booking.id} ({booking.title}) by its tag"
            )
            return
        link = self._intent(link, PENDING_CANCEL)
        found = [
            m
            for m in self.ctx.backend.find_tagged(self.mailbox, self.ctx.installation, tag_of(booking))
            # the whole tag, compared exactly (Exchange compares strings ignoring case)
            if m.booking_id == tag_of(booking)
            and m.organizer in (None, self.mailbox.lower())
            and not m.is_cancelled
        ]
        for meeting in found:
            try:
                self.ctx.backend.cancel(self.mailbox, meeting)
            finally:
                self.wrote = True
            self._audit("ews:CancelCalendarItem", booking, {"item_id": meeting.item_id})
        self._save_link(
            replace(
                link,
                item_id=None,
                change_key=None,
                synced_version=booking.version,
                state=CANCELLED,
                last_error=None,
                error_count=0,
            )
        )
        self.report.cancelled += len(found)

    def _settle_tag(self, booking: Booking, link: BookingSyncState) -> None:
        """A booking made from an Outlook meeting whose tagging write was not confirmed (its answer lost, or it
        failed): the meeting is read again and tagged if the tag is not on it yet, never booked twice. What the
        read found is then applied like any change read (the room's answer, an Outlook edit): the tagged item's
        ChangeKey covers it, so recording that ChangeKey alone would take a change the pass could not settle
        earlier (its tagging failed: parked, review20d) for roomsops' own write, never read again."""
        if self.ctx.dry_run:
            self.report.planned.append(f"tag the meeting of booking {booking.id} ({booking.title})")
            return
        assert link.item_id is not None
        # Only in the calendar: Graph's GET by id finds an event in any calendar, so a meeting moved out of it (a
        # deletion, docs/sync.md) while its person was held back would be linked again (review20f).
        found = self.ctx.backend.in_calendar(self.mailbox, [link.item_id])
        if not found:
            # Its deletion was not applied when it was read (a pass that read it went past it: the booking was held
            # back, review20e; or a full reconciliation, which finds meetings by their tag, could not tell this
            # untagged one from a deleted one): the item is gone, or moved out of the calendar, so the meeting was
            # deleted in Outlook (I2).
            self._booking_cancelled_in_exchange(link, booking)
            return
        meeting = found[0]
        if meeting.installation != self.ctx.installation or meeting.booking_id != tag_of(booking):
            try:
                meeting = self.ctx.backend.tag(
                    self.mailbox, meeting, self.ctx.installation, tag_of(booking), revision=self._revision()
                )
            finally:
                self.wrote = True
        # The tag is on: the link leaves `pending-update` (I1), and the meeting as read is merged against the last
        # synced snapshot; every path of `_exchange_update` stores the ChangeKey with what it settled (a change it
        # cannot settle keeps the link as it was and the position held).
        self._exchange_item(
            canonical(meeting),
            replace(link, state=LINKED, last_error=None, error_count=0, revision=meeting.revision),
            self.bookings,
        )
        self.report.unchanged += 1

    def _finish_purge(self, booking: Booking, link: BookingSyncState) -> None:
        """A `sync purge` cut short left this held booking's meeting in Exchange: it is cancelled now (the booking
        stays held back until `sync resume`)."""
        if self.ctx.dry_run:
            self.report.planned.append(f"cancel meeting of booking {booking.id} ({booking.title}) (purge)")
            self.report.cancelled += 1
            return
        try:
            self.ctx.backend.cancel(self.mailbox, self._meeting(link))
        except MailboxUnavailable:
            raise
        except (BackendError, ConnectError) as exc:  # the hold stays as it is: the next pass tries again
            self.report.failures.append(
                f"booking {booking.id} ({booking.title}): its meeting is still in Exchange after a purge cut "
                f"short: {exc.message}; tried again next pass"
            )
            return
        finally:
            self.wrote = True
        self._save_link(replace(link, item_id=None, change_key=None))
        self.report.cancelled += 1
        self._audit("ews:CancelCalendarItem", booking, {"item_id": link.item_id, "why": "purge finished"})

    def _cancel(self, booking: Booking, link: BookingSyncState) -> None:
        if self.ctx.dry_run:
            self.report.planned.append(f"cancel meeting of booking {booking.id} ({booking.title})")
            self.report.cancelled += 1
            return
        link = self._intent(link, PENDING_CANCEL)
        try:
            self.ctx.backend.cancel(self.mailbox, self._meeting(link))
        finally:
            self.wrote = True
        self._save_link(
            replace(
                link,
                item_id=None,
                change_key=None,
                synced_version=booking.version,
                state=CANCELLED,
                last_error=None,
                error_count=0,
            )
        )
        self.report.cancelled += 1
        self._audit("ews:CancelCalendarItem", booking, {"item_id": link.item_id})


def deleted_in_outlook(booking: Booking, current: MeetingFields) -> list[Occurrence]:
    """The occurrences ROOMS holds active that Exchange's series (`current`, its exceptions read) has deleted, and
    that writing the booking cannot bring back (review19x): none when ROOMS' series has another pattern, range or
    times than Exchange's (its write rewrites the recurrence: every occurrence comes back), nor when they are the
    last active ones."""
    series, theirs = booking.series, current.series
    if series is None or theirs is None or not theirs.cancelled:
        return []
    target = booking_fields(booking)
    if target.series != theirs or (target.start, target.end) != (current.start, current.end):
        return []
    deleted = {whole_seconds(c) for c in theirs.cancelled}
    gone = [
        o for o in series.occurrences if o.status == "active" and whole_seconds(o.original_start) in deleted
    ]
    if len(gone) == sum(o.status == "active" for o in series.occurrences):
        return []
    return gone


def deleted_if_missing(link: BookingSyncState, booking: Booking) -> bool:
    """Whether the link's meeting, when no meeting in the mailbox carries its tag (the full reconciliation's
    finding), was deleted in Outlook: its booking is cancelled (or, cancelled in ROOMS before that was written,
    its room's copy is looked for). `sync migrate` moves such a link as it is, for the first pass over the new
    service (a full reconciliation) to settle the same way."""
    return link.item_id is not None and (
        (booking.status == "active" and link.state in (LINKED, FAILED, ROOM_DECLINED))
        or _cancelled_before_written(link, booking)
    )


def other_service(service: str) -> str:
    return "graph" if service == "ews" else "ews"


def read_back(backend: CalendarBackend, mailbox: str, item_ids: Sequence[str]) -> set[str]:
    """The ids among `item_ids` the backend reads an item back under (the same id): ids of its own service. An id
    it refuses (Graph: 400 for an EWS id's characters; EWS: a malformed id) is none of its: asked one by one
    then, so one such id does not hide the others."""
    try:
        return {m.item_id for m in backend.get(mailbox, item_ids)} & set(item_ids)
    except (MailboxUnavailable, ConnectError):
        raise
    except BackendError:
        if len(item_ids) == 1:
            return set()
    found: set[str] = set()
    for item_id in item_ids:
        found |= read_back(backend, mailbox, [item_id])
    return found


def gone_over_service(link: BookingSyncState, booking: Booking | None) -> BookingSyncState:
    """The link of a meeting no meeting carries the tag of over the service the mailbox is reached over now (its
    id is of the other service; deleted in Outlook), nor, untagged, its UID (`untagged_by_uid`): the id is never
    sent. A link the full reconciliation takes as deleted in Outlook (`deleted_if_missing`; a `pending-update` one
    as a linked one: its update intent is moot, nothing is left to write) keeps it for that reconciliation, which
    comes first (its position is forgotten with this) and lets go of it; any other link lets go of it now: a
    cancellation under way or a held-back booking has its meeting looked for by its tag, as after a lost answer.
    Not read back (it is gone). The same for `sync migrate` and a pass that finds the person switched without it
    (review24r: a `pending-update` link let go of its id there, and its deleted meeting was made again)."""
    moot = replace(link, state=LINKED) if link.state == PENDING_UPDATE else link
    if booking is not None and deleted_if_missing(moot, booking):
        # The full reconciliation reads the id of no linked meeting it takes so (`_reconcile`: only
        # `pending-update` ones).
        return replace(moot, readback=False)
    return replace(link, item_id=None, change_key=None, readback=False)


def untagged_by_uid(
    backend: CalendarBackend,
    mailbox: str,
    links: Iterable[BookingSyncState],
    start: datetime,
    end: datetime,
) -> dict[int, list[Meeting]]:
    """The untagged meetings the person organizes (not cancelled) with each link's stored UID (booking id ->
    meetings; a UID no meeting holds is left out: the meeting was deleted): one calendar view of [start, end)
    widened to each live link's slot as last synced (a settled one's may be long past: not read in full for it);
    for the UIDs not seen there, one look-up of the whole calendar (a meeting moved in Outlook beyond the window is
    no deleted one: review24p, review24r; no request when every UID was seen). `sync migrate` and a pass relinking
    a mailbox switched without it look them up so (one rule)."""
    links = list(links)
    for link in links:
        if link.state in (CANCELLED, UNLINKED):
            continue
        try:
            held = MeetingFields.from_json(link.snapshot or {})
        except Exception:  # a snapshot that cannot be read: the window alone
            log.debug("%s: booking %s: snapshot unreadable", mailbox, link.booking_id, exc_info=True)
            continue
        start, end = min(start, held.start), max(end, held.end)
    mine = (None, mailbox.lower())
    seen: dict[str, list[Meeting]] = {}
    for meeting in backend.find_untagged(mailbox, start, end):
        if meeting.uid and meeting.organizer in mine and not meeting.is_cancelled:
            seen.setdefault(meeting.uid, []).append(meeting)
    far = sorted({_uid(link) or "" for link in links if not seen.get(_uid(link) or "")} - {""})
    if far:
        for meeting in backend.find_untagged_by_uid(mailbox, far):
            if meeting.uid and meeting.organizer in mine and not meeting.is_cancelled:
                seen.setdefault(meeting.uid, []).append(meeting)
    return {link.booking_id: seen[uid] for link in links if (uid := _uid(link) or "") in seen}


def _cancelled_before_written(link: BookingSyncState, booking: Booking) -> bool:
    """A linked meeting found deleted in Outlook whose booking was cancelled in ROOMS before the cancellation was
    written: it can no longer reach the room through the meeting, so the room's copy is looked for as for any
    deletion without a cancellation (issue 20 item 6)."""
    return booking.status == "cancelled" and link.state in (LINKED, FAILED, ROOM_DECLINED, PENDING_UPDATE)


def _series_taken(conn: Any, room: Room, series: NewSeries) -> list[Booking]:
    """The bookings holding the room at an active occurrence of a series from Exchange (the first found)."""
    q.lock_room(conn, room.id)
    for o in series.occurrences:
        if o.status == "active":
            taken = q.overlapping_bookings(conn, room.id, o.start, o.end)
            if taken:
                return taken
    return []


def _snapshot(meeting: Meeting, fields: MeetingFields | None = None) -> dict[str, Any]:
    """What a link stores of the meeting: its fields as synced, and its UID (the room's copy carries the same: a
    room copy is the meeting's only when its UID is the meeting's, never by its times alone)."""
    shown = fields or meeting.fields
    assert shown is not None
    data = shown.to_json()
    if meeting.uid:
        data["uid"] = meeting.uid
    listed = [*meeting.resources, *meeting.optional]
    if listed:
        # Every resource and optional attendee, as read: a second ROOMS room keeps its copy of a meeting deleted
        # without a cancellation as the booked room does, and is freed the same way (`_release_room`, review20i).
        data["listed"] = listed
    if meeting.organizer and shown.series is not None:
        # The organizer as Exchange names it (the primary address): the room's copies of the series name it too
        # (`_organizers`).
        data["organizer"] = meeting.organizer.lower()
    if meeting.answered:
        # When each attendee last answered, as read: a later read after roomsops' write whose answer was lost
        # tells the room's answer to that write from the answer it had already given (`_answer_seen`).
        data["answered"] = {address: meeting.answered_at(address) for address, _ in meeting.answered}
    return data


def _uid(link: BookingSyncState) -> str | None:
    uid = (link.snapshot or {}).get("uid")
    return str(uid) if uid else None


def decline_reason(
    backend: CalendarBackend, room: str, start: datetime, end: datetime, *, via: str | None = None
) -> str:
    """What is known of why the room declined [start, end). Exchange records only the answer on the organizer's
    item (the reason is in the response mail, with EnableResponseDetails), so roomsops says only what it sees:
    the room's calendar holding another meeting there (a conflict); else that no reason is given, and what it may
    be (never a reason it cannot know: the calendar may have been freed since). `via`: the organizer whose
    service opens the room."""
    try:
        held = [
            m
            for m in backend.room_calendar(room, start, end, via=via, occurrences=True)
            if m.fields is not None and m.fields.free_busy != "Free"
        ]
    except (BackendError, ConnectError) as exc:
        return (
            "reason not given by Exchange, and the room's calendar could not be read to look for a "
            f"conflict ({exc.message})"
        )
    if held:
        other = held[0]
        assert other.fields is not None
        return (
            f"conflict: the room's calendar is taken at this time by {other.organizer or 'someone'} "
            f"({other.fields.start:%Y-%m-%d %H:%M}–{other.fields.end:%H:%M} UTC)"
        )
    return (
        "reason not given by Exchange; the room's calendar is free at this time now: a conflict freed since, "
        "or its booking policy (the booking window, the maximum duration or the working hours; see "
        "Get-CalendarProcessing)"
    )


def _spans(first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    """[first, last) cut into calendar views of at most CALENDAR_VIEW_SPAN; none when last is not after first."""
    spans: list[tuple[datetime, datetime]] = []
    while last > first:
        spans.append((first, min(last, first + CALENDAR_VIEW_SPAN)))
        first = spans[-1][1]
    return spans


def _booking_slots(booking: Booking) -> list[Slot]:
    """The room slots a booking takes: each active occurrence of a series, or its own."""
    room = (booking.room or "").lower()
    if booking.series is None:
        return [(room, whole_seconds(booking.start), whole_seconds(booking.end))]
    return [
        (room, whole_seconds(o.start), whole_seconds(o.end))
        for o in booking.series.occurrences
        if o.status == "active"
    ]


def held_slot(link: BookingSyncState | None) -> Slot | None:
    """The room slot the link's meeting holds as last written (None: no meeting, or no room)."""
    if link is None or link.item_id is None or not link.snapshot:
        return None
    try:
        held = MeetingFields.from_json(link.snapshot)
    except Exception:  # a snapshot that cannot be read: no slot known
        return None
    return (held.room, held.start, held.end) if held.room else None


def not_synced(link: BookingSyncState) -> bool:
    """Whether the link is held back from the sync (its person left it, or `sync purge`) until `sync resume`."""
    return link.state == UNLINKED and (link.last_error or "").startswith(NOT_SYNCED_NOTE)


def tag_of(booking: Booking) -> str:
    """The booking tag the booking's meeting carries (`core.calendar.booking_tag`)."""
    return booking_tag(booking.id, booking.tag_key)


def canonical(meeting: Meeting) -> Meeting:
    """The meeting with its fields as ROOMS can hold them (`model.from_exchange`), or parked with the reason."""
    if meeting.fields is None:
        return meeting
    try:
        return replace(meeting, fields=from_exchange(meeting.fields))
    except Unmappable as exc:
        return replace(meeting, fields=None, problem=str(exc))


def _refused(meeting: Meeting) -> str | None:
    """Why ROOMS cannot take the meeting's times (None: it can)."""
    if meeting.is_all_day:
        return "the meeting was made all-day in Outlook (a booking has a start and an end time)"
    if meeting.fields is not None and meeting.fields.end <= meeting.fields.start:
        return "the meeting lasts no time in Outlook (a booking needs an end after its start)"
    return None


def unexpected(exc: BaseException) -> str:
    return f"unexpected {type(exc).__name__}: {exc}"


def describe(exc: BaseException) -> str:
    """One line for a failure: roomsops' own message, or the unexpected exception's type and text."""
    return exc.message if isinstance(exc, RoomsopsError) else unexpected(exc)
