"""Reconciliation of one mailbox: ROOMS bookings ⇄ the organizer's calendar, crash-safe and cheap.

Order of every write that creates something: intent in the database, then the calendar write, then its
result in the database. A crash between the three leaves an intent that the next pass resolves by
looking the meeting up by its tag (installation id + booking id) before writing anything again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from roomsops.errors import ConnectError, RoomsopsError
from roomsops.ews import EwsError, WriteOutcomeUnknown
from roomsops.logs import AuditLog, log
from roomsops.store import Booking, BookingSyncState, MailboxSyncState, Store, now_utc
from roomsops.store import queries as q
from roomsops.sync.backend import CalendarBackend, Meeting
from roomsops.sync.model import MeetingFields, booking_fields

PENDING_CREATE = "pending-create"
ROOM_DECLINED = "room-declined"


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
    skipped: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    unknown_tagged: list[str] = field(default_factory=list)  # our tag, booking unknown: reported, not deleted
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


class MailboxSync:
    """One pass over one organizer's mailbox."""

    def __init__(self, ctx: PassContext, mailbox: str) -> None:
        self.ctx = ctx
        self.mailbox = mailbox
        self.report = MailboxReport(mailbox)
        self.links: dict[int, BookingSyncState] = {}
        self.wrote = False

    # --- database helpers ------------------------------------------------------------------------------------

    def _save_link(self, link: BookingSyncState) -> BookingSyncState:
        if self.ctx.dry_run:
            return link
        with self.ctx.store.write() as conn:
            saved = q.save_booking_sync(conn, link, self.ctx.now())
        self.links[link.booking_id] = saved
        return saved

    def _link(self, booking: Booking) -> BookingSyncState:
        return self.links.get(booking.id) or BookingSyncState(booking_id=booking.id, mailbox=self.mailbox)

    def _linked(self, link: BookingSyncState, meeting: Meeting, version: int | None) -> BookingSyncState:
        snapshot = meeting.fields.to_json() if meeting.fields else None
        return self._save_link(
            replace(
                link,
                item_id=meeting.item_id,
                change_key=meeting.change_key,
                snapshot=snapshot,
                synced_version=version,
                last_error=None,
                attempts=0,
            )
        )

    def _audit(self, action: str, booking: Booking, result: object) -> None:
        self.ctx.audit.record(
            action,
            self.mailbox,
            {"booking": booking.id, "subject": booking.title, "start": booking.start.isoformat()},
            result,
        )

    # --- the pass -----------------------------------------------------------------------------------------

    def run(self) -> MailboxReport:
        try:
            self._run()
        except (EwsError, ConnectError) as exc:
            self.report.error = exc.message
            self.report.error_code = exc.code
            self.report.remedy = exc.remedy
            if not self.ctx.dry_run:
                self._save_mailbox_error(exc.message)
        return self.report

    def _run(self) -> None:
        start, end = self.ctx.window
        with self.ctx.store.read() as conn:
            bookings = q.bookings_in_window(conn, self.mailbox, start, end)
            self.links = {link.booking_id: link for link in q.booking_sync_for_mailbox(conn, self.mailbox)}
            state = q.get_mailbox_sync(conn, self.mailbox)
        saved_state = state.sync_state if state else None
        changes = self.ctx.backend.changes(self.mailbox, saved_state)
        recover = saved_state is None or changes.invalid_state
        if changes.invalid_state:
            log.warning("%s: the stored sync state is invalid; reconciling by tag", self.mailbox)
            changes = self.ctx.backend.changes(self.mailbox, None)
        by_id = {b.id: b for b in bookings}
        if recover:
            self._reconcile_by_tag(by_id)
        self._exchange_changes(changes.changed, changes.deleted, by_id)
        for booking in bookings:
            self._booking(by_id.get(booking.id, booking))
        new_state = changes.state
        if self.wrote and not self.ctx.dry_run:
            # Read past our own writes (and the room's answers to them) now, so the next pass finds nothing.
            catch_up = self.ctx.backend.changes(self.mailbox, new_state)
            if not catch_up.invalid_state:
                self._exchange_changes(catch_up.changed, catch_up.deleted, by_id)
                new_state = catch_up.state
        if not self.ctx.dry_run:
            with self.ctx.store.write() as conn:
                q.save_mailbox_sync(
                    conn,
                    MailboxSyncState(mailbox=self.mailbox, sync_state=new_state, last_pass=self.ctx.now()),
                    self.ctx.now(),
                )

    def _save_mailbox_error(self, message: str) -> None:
        try:
            with self.ctx.store.write() as conn:
                previous = q.get_mailbox_sync(conn, self.mailbox)
                q.save_mailbox_sync(
                    conn,
                    MailboxSyncState(
                        mailbox=self.mailbox,
                        sync_state=previous.sync_state if previous else None,
                        last_pass=self.ctx.now(),
                        last_error=message,
                    ),
                    self.ctx.now(),
                )
        except RoomsopsError as exc:  # reporting the failure must not hide it
            log.warning("could not record the failure of %s: %s", self.mailbox, exc.message)

    # --- Exchange → ROOMS: what changed in the calendar ----------------------------------------------------

    def _reconcile_by_tag(self, bookings: dict[int, Booking]) -> None:
        """Adopt meetings this installation wrote (e.g. before a crash); report tagged ones with no booking."""
        tagged = self.ctx.backend.find_tagged(self.mailbox, self.ctx.installation)
        seen: dict[int, Meeting] = {}
        for meeting in tagged:
            if meeting.organizer not in (None, self.mailbox.lower()):
                continue  # an attendee's copy of another person's meeting: not this mailbox's to sync
            tag = meeting.booking_id or ""
            booking_id = int(tag) if tag.isdigit() else None
            if booking_id is None or (booking_id not in bookings and booking_id not in self.links):
                self.report.unknown_tagged.append(meeting.item_id)
                continue
            link = self.links.get(booking_id)
            keep = seen.get(booking_id)
            if keep is None and link is not None and link.item_id not in (None, meeting.item_id):
                linked = next((m for m in tagged if m.item_id == link.item_id), None)
                keep = linked
            if keep is not None and keep.item_id != meeting.item_id:
                self._drop_duplicate(meeting)
                continue
            seen[booking_id] = meeting
            if link is None or link.item_id != meeting.item_id:
                booking = bookings.get(booking_id)
                self._linked(
                    link or BookingSyncState(booking_id=booking_id, mailbox=self.mailbox), meeting, None
                )
                self.report.adopted += 1
                if booking is not None:
                    self._audit("sync:adopt", booking, {"item_id": meeting.item_id})

    def _drop_duplicate(self, meeting: Meeting) -> None:
        if self.ctx.dry_run:
            self.report.planned.append(f"remove duplicate meeting {meeting.item_id}")
            return
        self.ctx.backend.cancel(self.mailbox, meeting)
        self.wrote = True
        log.info("%s: removed a duplicate meeting of booking %s", self.mailbox, meeting.booking_id)

    def _exchange_changes(
        self, changed: list[tuple[str, str]], deleted: list[str], bookings: dict[int, Booking]
    ) -> None:
        ours = {link.item_id: link for link in self.links.values() if link.item_id}
        refresh = [
            item_id
            for item_id, change_key in changed
            if item_id in ours and ours[item_id].change_key != change_key
        ]
        for meeting in self.ctx.backend.get(self.mailbox, refresh):
            link = ours[meeting.item_id]
            booking = bookings.get(link.booking_id)
            self._exchange_update(link, meeting, booking)
        for item_id in deleted:
            gone = ours.get(item_id)
            booking = bookings.get(gone.booking_id) if gone else None
            if gone is not None and booking is not None and booking.status == "active":
                self._booking_cancelled_in_exchange(gone, booking)

    def _exchange_update(self, link: BookingSyncState, meeting: Meeting, booking: Booking | None) -> None:
        """The meeting changed in Exchange: the room's answer, or (part 2) an edit in Outlook."""
        error = link.last_error
        if meeting.room_response == "Decline" and booking is not None and booking.status == "active":
            error = ROOM_DECLINED
            self.report.failures.append(
                f"booking {booking.id} ({booking.title}): the room {booking.room} "
                "declined the meeting (its calendar is taken in Exchange)"
            )
        self._save_link(replace(link, change_key=meeting.change_key, last_error=error))

    def _booking_cancelled_in_exchange(self, link: BookingSyncState, booking: Booking) -> None:
        """Deleting the meeting (or moving it out of the calendar) cancels the booking."""
        if self.ctx.dry_run:
            self.report.planned.append(f"cancel booking {booking.id}: its meeting was deleted in Exchange")
            return
        with self.ctx.store.write() as conn:
            q.update_booking(conn, booking.id, {"status": "cancelled"}, self.ctx.now())
            q.delete_booking_sync(conn, booking.id)
        self.links.pop(booking.id, None)
        self.report.bookings_cancelled += 1
        self._audit("sync:booking-cancelled", booking, "meeting deleted in Exchange")

    # --- ROOMS → Exchange ----------------------------------------------------------------------------------

    def _booking(self, booking: Booking) -> None:
        link = self.links.get(booking.id)
        try:
            if booking.status == "active":
                if link is None or link.item_id is None:
                    self._create(booking, link)
                elif link.synced_version != booking.version:
                    self._update(booking, link)
                else:
                    self.report.unchanged += 1
            elif booking.status == "cancelled" and link is not None and link.item_id is not None:
                self._cancel(booking, link)
            else:
                self.report.skip(booking.status)
        except (EwsError, ConnectError) as exc:
            if isinstance(exc, EwsError) and exc.reason in {
                "throttled",
                "unauthorized",
                "denied_by_policy",
                "ews_disabled",
                "ews_app_not_allowed",
                "impersonation_denied",
                "mailbox_not_found",
            }:
                raise  # the mailbox, not this booking: stop here, report the mailbox
            self.report.failures.append(f"booking {booking.id} ({booking.title}): {exc.message}")
            if not self.ctx.dry_run:
                self._save_link(
                    replace(
                        self._link(booking), attempts=self._link(booking).attempts + 1, last_error=exc.message
                    )
                )

    def _create(self, booking: Booking, link: BookingSyncState | None) -> None:
        fields = booking_fields(booking)
        if self.ctx.dry_run:
            self.report.planned.append(f"create meeting for booking {booking.id} ({booking.title})")
            self.report.created += 1
            return
        if link is not None and link.last_error == PENDING_CREATE and self._adopt(booking, link):
            return
        link = self._save_link(
            replace(self._link(booking), last_error=PENDING_CREATE, attempts=self._link(booking).attempts + 1)
        )
        try:
            meeting = self.ctx.backend.create(self.mailbox, fields, self.ctx.installation, str(booking.id))
        except WriteOutcomeUnknown:
            # The answer was lost, the meeting may exist: look it up instead of creating it again.
            if self._adopt(booking, link):
                return
            raise
        finally:
            self.wrote = True
        self._linked(link, meeting, booking.version)
        self.report.created += 1
        self._audit("ews:CreateItem", booking, {"item_id": meeting.item_id})

    def _adopt(self, booking: Booking, link: BookingSyncState) -> bool:
        found = self.ctx.backend.find_tagged(self.mailbox, self.ctx.installation, str(booking.id))
        if not found:
            return False
        meeting = found[0]
        for extra in found[1:]:
            self._drop_duplicate(extra)
        link = self._linked(link, meeting, None)
        self.report.adopted += 1
        self._audit("sync:adopt", booking, {"item_id": meeting.item_id})
        if meeting.fields is None or booking_fields(booking).differs(meeting.fields, _ALL_FIELDS):
            self._update(booking, link)
        else:
            self._save_link(replace(link, synced_version=booking.version))
        return True

    def _meeting(self, link: BookingSyncState) -> Meeting:
        fields = MeetingFields.from_json(link.snapshot) if link.snapshot else None
        assert link.item_id is not None and link.change_key is not None
        return Meeting(
            item_id=link.item_id,
            change_key=link.change_key,
            fields=fields,
            installation=self.ctx.installation,
            booking_id=str(link.booking_id),
        )

    def _update(self, booking: Booking, link: BookingSyncState) -> None:
        if self.ctx.dry_run:
            self.report.planned.append(f"update meeting of booking {booking.id} ({booking.title})")
            self.report.updated += 1
            return
        try:
            meeting = self.ctx.backend.update(self.mailbox, self._meeting(link), booking_fields(booking))
        finally:
            self.wrote = True
        self._linked(link, meeting, booking.version)
        self.report.updated += 1
        self._audit("ews:UpdateItem", booking, {"item_id": meeting.item_id})

    def _cancel(self, booking: Booking, link: BookingSyncState) -> None:
        if self.ctx.dry_run:
            self.report.planned.append(f"cancel meeting of booking {booking.id} ({booking.title})")
            self.report.cancelled += 1
            return
        try:
            self.ctx.backend.cancel(self.mailbox, self._meeting(link))
        finally:
            self.wrote = True
        self._save_link(
            replace(
                link, item_id=None, change_key=None, synced_version=booking.version, last_error="cancelled"
            )
        )
        self.report.cancelled += 1
        self._audit("ews:CancelCalendarItem", booking, {"item_id": link.item_id})


_ALL_FIELDS = (
    "subject",
    "start",
    "end",
    "location",
    "room",
    "attendees",
    "reminder_minutes",
    "private",
    "free_busy",
)
