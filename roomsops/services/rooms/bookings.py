"""Bookings of a room by a person: add, list, update, cancel.

`create_booking` is the one place where the no-double-booking rule lives.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from roomsops.adapters import store as db
from roomsops.adapters.store import (
    FREE_BUSY,
    STATUSES,
    Booking,
    BookingSyncState,
    NewBooking,
    NewSeries,
    Occurrence,
    Person,
    Room,
    Series,
    Store,
)
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.schema import (
    CANCELLED,
    FAILED,
    LINKED,
    NOT_SYNCED_NOTE,
    OCCURRENCES_DECLINED,
    PENDING_CANCEL,
    PENDING_CREATE,
    PENDING_STATES,
    PENDING_UPDATE,
    ROOM_DECLINED,
    ROOM_HOLDS,
    SYNC_DISABLED,
    UNLINKED,
)
from roomsops.core import recurrence
from roomsops.core.calendar import MeetingFields
from roomsops.core.errors import InputError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.templates import shellword
from roomsops.services.rooms import series as repeats
from roomsops.services.rooms.common import (
    canonical,
    check_email,
    check_text,
    columns,
    local_span,
    local_time,
)
from roomsops.services.rooms.series import Repeat

DEFAULT_FREE_BUSY = "Busy"
MAX_TITLE = 255  # Exchange's limit for a subject

Confirm = Callable[[str], None]
#: Field metadata: left out of --json (the time zone only the text rendering needs).
_INTERNAL: dict[str, Any] = {"json": False}


@dataclass(frozen=True)
class BookingChange(Result):
    action: str  # added | updated | unchanged | cancelled | already_cancelled
    booking: Booking
    changed: tuple[str, ...] = ()
    #: The occurrence of a series acted on alone (`--occurrence`): its original date, local; None: the booking.
    occurrence: str | None = None
    #: Exceptions a change of the series' times or pattern dropped, their day no longer in it ("2031-04-09 moved").
    dropped: tuple[str, ...] = ()
    time_zone: str = field(default="UTC", metadata=_INTERNAL)

    def lines(self) -> list[str]:
        b = self.booking
        tz = ZoneInfo(self.time_zone)
        what = f"booking {b.id}" + (f" occurrence {self.occurrence}" if self.occurrence else "")
        head = {
            "added": f"{what} added",
            "updated": f"{what} updated: {', '.join(self.changed)}",
            "unchanged": f"{what} unchanged",
            "cancelled": f"{what} cancelled",
            "already_cancelled": f"{what} was already cancelled",
        }[self.action]
        reminder = "-" if b.reminder_minutes is None else f"{b.reminder_minutes} minutes"
        when = [f"  when       {local_span(b.start, b.end, tz)} ({self.time_zone})"]
        if b.series is not None:
            when = [
                f"  first      {local_span(b.start, b.end, tz)} ({self.time_zone})",
                f"  repeats    {series_summary(b.series, tz)}",
            ]
            shown = _occurrence_shown(b.series, self.occurrence, tz)
            if shown is not None:
                when.append(f"  occurrence {occurrence_words(shown, tz)}")
        return [
            head,
            f"  title      {b.title}",
            f"  room       {b.room_name} ({b.room})",
            *when,
            f"  organizer  {b.organizer}",
            f"  attendees  {', '.join(b.attendees) or '-'}",
            f"  private    {'yes' if b.private else 'no'}",
            f"  reminder   {reminder}",
            f"  free/busy  {b.free_busy}",
            f"  status     {b.status}",
            *(f"  dropped    {d} (its day is no longer in the series)" for d in self.dropped),
        ]


def _occurrence_shown(series: Series, day: str | None, tz: ZoneInfo) -> Occurrence | None:
    if day is None:
        return None
    return next((o for o in series.occurrences if str(o.original_start.astimezone(tz).date()) == day), None)


def occurrence_words(o: Occurrence, tz: ZoneInfo) -> str:
    """One occurrence: `2031-04-09 10:00–11:00, moved from 2031-04-09 09:00, title "Review"`."""
    if o.status == "cancelled":
        return f"{local_time(o.original_start, tz)[:10]} cancelled"
    text = local_span(o.start, o.end, tz)
    if o.moved:
        text += f", moved from {local_time(o.original_start, tz)}"
    for key, value in sorted(o.changes.items()):
        text += f', title "{value}"' if key == "title" else f", {key.replace('_', ' ')} {value}"
    return text


def series_summary(series: Series, tz: ZoneInfo) -> str:
    """The pattern in words, how many occurrences, and each exception, e.g. `weekly on Monday from 2031-03-31 until
    2031-06-30: 14 occurrences; cancelled 2031-04-07; moved 2031-04-14 to 2031-04-15 09:00–10:00`."""
    active = [o for o in series.occurrences if o.status == "active"]
    text = f"{series.description}: {len(active)} occurrence{'s' if len(active) != 1 else ''}"
    if series.range.type == recurrence.NO_END:
        text += f", booked up to {series.booked_until}"
    cancelled = [local_time(o.original_start, tz)[:10] for o in series.occurrences if o.status == "cancelled"]
    if cancelled:
        text += f"; cancelled {', '.join(cancelled)}"
    moved = [o for o in active if o.moved]
    if moved:
        spans = (
            f"{local_time(o.original_start, tz)[:10]} to {local_span(o.start, o.end, tz)}" for o in moved
        )
        text += f"; moved {', '.join(spans)}"
    changed = [o for o in active if o.changes]
    if changed:
        text += "; changed " + ", ".join(
            f"{local_time(o.original_start, tz)[:10]} ({', '.join(k.replace('_', ' ') for k in sorted(o.changes))})"
            for o in changed
        )
    return text


@dataclass(frozen=True)
class ListedBooking(Booking):
    """A booking as `bookings list` shows it: with its sync state in words (`sync_word`)."""

    sync: str = ""


#: A link's state in words; an error recorded beside an intent shows as failed (`sync_word`).
_SYNC_WORDS = {
    LINKED: "linked",
    PENDING_CREATE: "pending",
    PENDING_UPDATE: "pending",
    PENDING_CANCEL: "pending",
    FAILED: "failed",
    ROOM_DECLINED: "room-declined",
    SYNC_DISABLED: "sync-disabled",
    CANCELLED: "cancelled",
    UNLINKED: "unlinked",
}


def last_end(booking: Booking) -> datetime:
    """When the booking is over: a series' last active occurrence's end (its own row holds the first one's)."""
    if booking.series is None:
        return booking.end
    ends = [o.end for o in booking.series.occurrences if o.status == "active"]
    return max(ends, default=booking.end)


def snapshot_room(link: BookingSyncState) -> str | None:
    """The room the link's snapshot records as the meeting's (the room booked when it was last synced), or None."""
    room = (link.snapshot or {}).get("room")
    return str(room) if room else None


def meeting_over(link: BookingSyncState, booking: Booking, now: datetime) -> bool:
    """Whether the link's meeting is over: its end as last synced (its snapshot), else the booking's. No invitation
    or update is sent for a meeting that is over, and a purge sends no cancellation of one."""
    end = booking.end
    if link.snapshot:
        try:
            end = MeetingFields.from_json(link.snapshot).end
        except Exception:  # a snapshot that cannot be read: the booking's end
            end = booking.end
    if booking.series is not None:
        end = max(
            end, last_end(booking)
        )  # a series: its last occurrence (the snapshot holds the first one's)
    return end <= now


#: `sync diff`'s word for a linked booking whose room has not answered its meeting (`room_unanswered`).
ROOM_PENDING = "room-pending"


def room_unanswered(link: BookingSyncState, booking: Booking, now: datetime) -> bool:
    """Whether the booking's meeting is linked and written as the booking is, but its room has not answered it:
    no answer of the room recorded by any read of the meeting (the snapshot's answer times; a room's answer is a
    change of the organizer's item, read by the pass after it), and its slot (a series: its last occurrence) not
    over. A room that answered once and not the later update of the meeting is not told apart (docs/sync.md)."""
    if link.state != LINKED or link.item_id is None or not link.snapshot or booking.status != "active":
        return False
    if not booking.room or link.synced_version != booking.version or meeting_over(link, booking, now):
        return False
    room = (snapshot_room(link) or booking.room).lower()
    answered = {str(a).lower() for a in (link.snapshot.get("answered") or {})}
    return room not in answered and booking.room.lower() not in answered


def sync_word(
    booking: Booking, link: BookingSyncState | None, person_synced: bool, now: datetime | None = None
) -> str:
    """The booking's state in the sync: linked (its meeting is in Exchange as synced), pending (to be written by
    the next pass), failed (the last attempt failed; tried again), room-declined, sync-disabled (rollbacks
    exhausted), not synced (its person's sync mode is not synced by roomsops, or held back by `sync purge` until
    `sync resume`), cancelled (its meeting cancelled, or it never had one), room-pending (linked, written as the booking is,
    but no answer of its room read yet: its calendar does not hold the slot), room-holds (cancelled, but the room
    still holds the slot: its meeting was deleted without a cancellation), unlinked (its meeting let go by the
    conflict behaviour Cancel), past (changed or made in ROOMS after it was over: no pass writes it, no invitation
    is sent for a meeting that is over; a series: when its last occurrence is over). A linked booking changed
    or cancelled in ROOMS since its last write is pending until the pass writes it."""
    now = now or db.now_utc()
    if link is not None and link.state == UNLINKED and (link.last_error or "").startswith(NOT_SYNCED_NOTE):
        return "not synced"
    if booking.status == "cancelled" and link is not None and (link.last_error or "").startswith(ROOM_HOLDS):
        return "room-holds"  # its meeting deleted without a cancellation: the room still holds the slot
    if booking.status == "cancelled" and (link is None or link.state == CANCELLED):
        return "cancelled"
    if not person_synced and (link is None or link.state not in (CANCELLED, UNLINKED)):
        return "not synced"
    if booking.status == "sync_disabled":
        return "sync-disabled"
    unwritten = link is None or link.item_id is None or link.synced_version != booking.version
    if (
        booking.status == "active"
        and unwritten
        and max(
            [o.end for o in (booking.series.occurrences if booking.series else ()) if o.status == "active"]
            + [booking.end]
        )
        <= now
        and (link is None or link.state != FAILED)
    ):
        return "past"  # over before the change reached Exchange: every pass skips it ("past")
    if link is None:
        return "pending"
    if link.state in PENDING_STATES and link.last_error is not None:
        return "failed"
    if (
        link.state == LINKED
        and link.item_id is not None
        and booking.status in ("active", "cancelled")
        and link.synced_version is not None
        and link.synced_version != booking.version
    ):
        return "pending"  # changed or cancelled in ROOMS since its last write: the next pass writes it
    if room_unanswered(link, booking, now):
        # Written as the booking is, but no answer of its room read: not confirmed (issue 20 Deliver 1, "accepted
        # confirms the booking"), the word `sync diff` and the summary's `rooms_pending` use (review20i).
        return ROOM_PENDING
    if (
        link.state == LINKED
        and booking.series is not None
        and (link.last_error or "").startswith(OCCURRENCES_DECLINED)
        and q.declined_ahead(booking, link.last_error, now)
    ):
        # Accepted without some occurrences still to come: those are not held (review20s); once they are over,
        # nothing is left to settle (review20x).
        return _SYNC_WORDS[ROOM_DECLINED]
    return _SYNC_WORDS.get(link.state, link.state)


@dataclass(frozen=True)
class BookingList(Result):
    bookings: tuple[ListedBooking, ...]
    time_zone: str = field(default="UTC", metadata=_INTERNAL)

    def lines(self) -> list[str]:
        if not self.bookings:
            return ["no bookings"]
        tz = ZoneInfo(self.time_zone)
        rows = [
            (
                str(b.id),
                local_time(b.start, tz),
                local_time(b.end, tz),
                b.room_name,
                b.organizer,
                b.status,
                b.sync,
                b.title,
            )
            for b in self.bookings
        ]
        table = columns(("id", "start", "end", "room", "organizer", "status", "sync", "title"), rows)
        out = [f"times in {self.time_zone}", table[0]]
        for b, line in zip(self.bookings, table[1:], strict=True):
            out.append(line)
            if b.series is not None:  # the row shows the first occurrence; the pattern and exceptions follow
                out.append(f"    repeats {series_summary(b.series, tz)}")
        return out


class _Keep(enum.Enum):
    KEEP = "keep"


#: "Leave this field as it is" where None is a value of its own (no reminder).
KEEP: Literal[_Keep.KEEP] = _Keep.KEEP


@dataclass(frozen=True)
class BookingRequest:
    """A booking as asked for: addresses, not ids; times timezone-aware."""

    organizer: str
    room: str
    start: datetime
    end: datetime
    title: str
    attendees: tuple[str, ...] = ()
    private: bool = False
    reminder_minutes: int | None = None
    free_busy: str = DEFAULT_FREE_BUSY
    allow_past: bool = False  # --allow-past: record a booking that already started (e.g. catching up)
    repeat: Repeat | None = None  # a series: --daily, --weekly DAYS, ... (None: a single booking)
    horizon_days: int = 365  # rooms.booking_horizon_days: how far ahead a series is booked
    #: (case-folded attendee, its mailbox's primary SMTP address) as Exchange said, when it was asked.
    attendee_primaries: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BookingChanges:
    """What `bookings update` changes; None (KEEP for the reminder) leaves a field as it is."""

    start: datetime | None = None
    end: datetime | None = None
    title: str | None = None
    room: str | None = None
    attendees: tuple[str, ...] | None = None
    private: bool | None = None
    reminder_minutes: int | Literal[_Keep.KEEP] | None = KEEP
    free_busy: str | None = None
    allow_past: bool = False  # --allow-past: a new start before now is accepted
    repeat: Repeat | None = None  # a series' new pattern or range (None: as it is)
    horizon_days: int = 365  # rooms.booking_horizon_days: how far ahead a series is booked
    attendee_primaries: tuple[tuple[str, str], ...] = ()  # as in BookingRequest

    @property
    def empty(self) -> bool:
        return replace(self, allow_past=False, horizon_days=365, attendee_primaries=()) == BookingChanges()


@dataclass(frozen=True)
class BookingFilter:
    start: datetime | None = None
    end: datetime | None = None
    organizer: str | None = None
    room: str | None = None
    statuses: tuple[str, ...] = ()


def _known_person(conn: Connection, email: str, listing: bool = False) -> Person:
    """The person organizing; a room given as organizer, or an address to look up (listing), is told so
    rather than sent to `persons add` (which would record the wrong address)."""
    person = db.get_person(conn, email)
    if person is None:
        if db.get_room(conn, email) is not None:
            raise InputError(
                f"{email} is a room, not a person",
                "give the person who organizes the meeting as --organizer (the room goes in --room)",
            )
        if listing:
            raise InputError(
                f"{email} is not a known person",
                "see 'roomsops persons list' for the persons' addresses (a person is known by the primary SMTP "
                "address of its mailbox, not an alias)",
            )
        raise InputError(
            f"{email} is not a known person",
            f"add it first with 'roomsops persons add {shellword(email)}' (it looks the address up in Exchange), or see "
            "'roomsops persons list'",
        )
    return person


def _known_room(conn: Connection, email: str) -> Room:
    """The room booked; a person given as the room is told so rather than sent to `rooms add` (which would record
    a user mailbox as a room)."""
    room = db.get_room(conn, email)
    if room is None:
        if db.get_person(conn, email) is not None:
            raise InputError(
                f"{email} is a person, not a room",
                "give the room's mailbox as --room ('roomsops rooms list' lists the rooms; the person who "
                "organizes goes in --organizer)",
            )
        raise InputError(
            f"{email} is not a known room",
            f"add it first with 'roomsops rooms add {shellword(email)} --name NAME'",
        )
    return room


def _check_times(start: datetime, end: datetime, tz: ZoneInfo) -> None:
    if end <= start:
        raise InputError(
            f"the end {local_time(end, tz)} is not after the start {local_time(start, tz)} ({tz.key})",
            "give an end time after the start",
        )


#: Sane bounds for a booking made or moved with roomsops (docs/settings.md, "Bookings"): a start more than a
#: year back or ten years ahead, or a booking longer than two weeks, is a typo (1900, 2125), not a room booking.
MAX_PAST = timedelta(days=366)
MAX_FUTURE = timedelta(days=3653)
MAX_DURATION = timedelta(days=14)
MAX_REMINDER_MINUTES = 20160  # two weeks, the longest reminder Outlook offers


def _check_bounds(start: datetime, end: datetime, tz: ZoneInfo, now: datetime) -> None:
    if not now - MAX_PAST <= start <= now + MAX_FUTURE:
        raise InputError(
            f"the start {local_time(start, tz)} ({tz.key}) is more than a year in the past or ten years ahead",
            "check the date: bookings start between a year ago and ten years from now",
        )
    if end - start > MAX_DURATION:
        raise InputError(
            f"the booking from {local_time(start, tz)} to {local_time(end, tz)} ({tz.key}) lasts more than 14 days",
            "check the end: a booking lasts at most 14 days (book a longer absence as several bookings)",
        )


def _refuse_past(start: datetime, tz: ZoneInfo, now: datetime, allow_past: bool, option: str) -> None:
    """A booking that starts before now is almost always a wrong date; recorded only with --allow-past."""
    if start < now and not allow_past:
        raise InputError(
            f"the start {local_time(start, tz)} ({tz.key}) is in the past; nothing was changed",
            f"check the date ({option} takes local time in rooms.time_zone), or add --allow-past to record a "
            "booking that already started (the sync does not send invitations for bookings that are over)",
            code="booking_in_past",
        )


def _check_reminder(minutes: int | None) -> int | None:
    if minutes is not None and minutes < 0:
        raise InputError(f"the reminder {minutes} is negative", "give the minutes before the start, e.g. 15")
    if minutes is not None and minutes > MAX_REMINDER_MINUTES:
        raise InputError(
            f"the reminder {minutes} is more than {MAX_REMINDER_MINUTES} minutes (two weeks)",
            "give the minutes before the start, e.g. 15",
        )
    return minutes


def _alias_of(email: str, recorded: str) -> str:
    """The note on an attendee given by another address of a recorded mailbox than the one recorded."""
    return (
        ""
        if db.email_key(email) == db.email_key(recorded)
        else f" ({recorded}, another address of its mailbox)"
    )


def _check_attendees(
    conn: Connection,
    attendees: Sequence[str],
    organizer: Person,
    room: Room,
    primaries: Sequence[tuple[str, str]] = (),
) -> tuple[str, ...]:
    """Valid addresses, each mailbox once (case-insensitively); neither the organizer nor the booked room, nor
    another ROOMS room (ROOMS books one room per meeting: a second one invited would hold the slot in Exchange
    only), each rule also by an alias of the mailbox when Exchange was asked (`primaries`, review21y/review21z)."""
    primary_of = dict(primaries)
    found: dict[str, str] = {}
    for value in attendees:
        email = check_email(value, "attendee")
        key = db.email_key(email)
        # The key of its mailbox: the primary address when Exchange was asked, else the address as given.
        mailbox = db.email_key(primary_of.get(email.casefold(), email))
        if db.email_key(organizer.email) in (key, mailbox):
            raise InputError(
                f"attendee {email} is the organizer{_alias_of(email, organizer.email)}",
                "leave the organizer out of --attendee",
            )
        if db.email_key(room.email) in (key, mailbox):
            raise InputError(
                f"attendee {email} is the booked room{_alias_of(email, room.email)}",
                "leave the room out of --attendee",
            )
        other = db.get_room(conn, email) or (db.get_room(conn, mailbox) if mailbox != key else None)
        if other is not None:  # also by an alias of a ROOMS room's mailbox
            raise InputError(
                f"attendee {email} is the ROOMS room {other.name}{_alias_of(email, other.email)}"
                + ": ROOMS books one room per meeting",
                "leave the room out of --attendee, and book it with its own 'roomsops bookings add --room "
                f"{shellword(other.email)}'",
            )
        found.setdefault(mailbox, email)  # an alias of an attendee already given: once
    return tuple(found.values())


def _refuse_overlap(
    conn: Connection, room: Room, start: datetime, end: datetime, tz: ZoneInfo, exclude_id: int | None = None
) -> None:
    """Lock the room, then refuse when another booking holds it: in the caller's write transaction,
    so no other writer can book the same slot between this check and the caller's insert."""
    db.lock_room(conn, room.id)
    others = db.overlapping_bookings(conn, room.id, start, end, exclude_id)
    if others:
        other = others[0]
        raise InputError(
            f"{room.name} ({room.email}) is already booked {local_span(other.start, other.end, tz)} "
            f'({tz.key}) by booking {other.id} "{other.title}"',
            f"choose another time or room; see 'roomsops bookings list --room {shellword(room.email)}'",
            code="room_taken",
        )


def create_booking(conn: Connection, request: BookingRequest, tz: ZoneInfo) -> Booking:
    """Validate and insert a booking (a series with all its occurrences), refusing a taken room; call inside
    `Store.write()`."""
    title = check_text(request.title, "title", MAX_TITLE, required=True)
    free_busy = canonical(request.free_busy, FREE_BUSY, "free/busy", f"use one of {', '.join(FREE_BUSY)}")
    reminder = _check_reminder(request.reminder_minutes)
    now = db.now_utc()
    _check_times(request.start, request.end, tz)
    _check_bounds(request.start, request.end, tz, now)
    start, end, new_series = request.start, request.end, None
    if request.repeat is not None:
        rec = repeats.recurrence_of(request.repeat, request.start.astimezone(tz).date(), tz)
        horizon = repeats.horizon_date(tz, request.horizon_days, now)
        occurrences = repeats.plan(rec, request.start, request.end, tz, horizon, request.horizon_days)
        rec = repeats.anchored(rec, occurrences[0], tz)
        start, end = (
            occurrences[0].start,
            occurrences[0].end,
        )  # the first occurrence: on or after --start's day
        new_series = NewSeries(
            rec.pattern, rec.range, rec.time_zone, _booked_until(rec, occurrences, horizon, tz), occurrences
        )
    _refuse_past(start, tz, now, request.allow_past, "--start")
    organizer = _known_person(conn, check_email(request.organizer, "organizer"))
    room = _known_room(conn, check_email(request.room, "room"))
    attendees = _check_attendees(conn, request.attendees, organizer, room, request.attendee_primaries)
    if new_series is None:
        _refuse_overlap(conn, room, start, end, tz)
    else:
        repeats.refuse_conflicts(conn, room, new_series.occurrences, tz)
    booking_id = db.insert_booking(
        conn,
        NewBooking(
            organizer_id=organizer.id,
            room_id=room.id,
            title=title,
            start=start,
            end=end,
            attendees=attendees,
            private=request.private,
            reminder_minutes=reminder,
            free_busy=free_busy,
        ),
        now,
    )
    if new_series is not None:
        db.save_series(conn, booking_id, new_series)
    booking = db.get_booking(conn, booking_id)
    assert booking is not None
    return booking


def _booked_until(
    rec: recurrence.Recurrence, occurrences: tuple[Occurrence, ...], horizon: date, tz: ZoneInfo
) -> date:
    """How far the occurrences go: the horizon for a series without end, else its last occurrence's day."""
    if rec.range.type == recurrence.NO_END:
        return horizon
    return occurrences[-1].original_start.astimezone(tz).date()


def _audit_booking(booking: Booking) -> dict[str, Any]:
    series = booking.series
    repeats_as = (
        {}
        if series is None
        else {
            "series": series.description,
            "occurrences": sum(o.status == "active" for o in series.occurrences),
        }
    )
    return repeats_as | {
        "organizer": booking.organizer,
        "room": booking.room,
        "title": booking.title,
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
        "attendees": list(booking.attendees),
        "private": booking.private,
        "reminder_minutes": booking.reminder_minutes,
        "free_busy": booking.free_busy,
        "status": booking.status,
        "version": booking.version,
    }


def add_booking(store: Store, audit: AuditLog, tz: ZoneInfo, request: BookingRequest) -> BookingChange:
    with store.write() as conn:
        booking = create_booking(conn, request, tz)
    audit.record("bookings.add", f"booking {booking.id}", params=_audit_booking(booking), result="added")
    return BookingChange("added", booking, time_zone=tz.key)


def list_bookings(store: Store, tz: ZoneInfo, where: BookingFilter) -> BookingList:
    if where.start is not None and where.end is not None:
        _check_times(where.start, where.end, tz)
    statuses = tuple(
        canonical(s, STATUSES, "status", f"use one of {', '.join(STATUSES)}") for s in where.statuses
    )
    now = db.now_utc()
    with store.read() as conn:
        organizer = (
            _known_person(conn, check_email(where.organizer), listing=True) if where.organizer else None
        )
        room = _known_room(conn, check_email(where.room)) if where.room else None
        found = db.list_bookings(
            conn,
            db.BookingQuery(
                start=where.start,
                end=where.end,
                organizer_id=organizer.id if organizer else None,
                room_id=room.id if room else None,
                statuses=statuses or None,
            ),
        )
        links = q.booking_sync_by_ids(conn, [b.id for b in found])
        synced = {p.email.casefold(): p.handled_by_sync for p in db.list_persons(conn)}
    listed = tuple(
        ListedBooking(
            **{f.name: getattr(b, f.name) for f in fields(Booking)},
            sync=sync_word(b, links.get(b.id), synced.get(b.organizer.casefold(), False), now),
        )
        for b in found
    )
    return BookingList(listed, time_zone=tz.key)


def _existing_booking(conn: Connection, booking_id: int) -> Booking:
    booking = db.get_booking(conn, booking_id)
    if booking is None:
        raise InputError(f"there is no booking {booking_id}", "see 'roomsops bookings list'")
    return booking


def update_booking(
    store: Store,
    audit: AuditLog,
    tz: ZoneInfo,
    booking_id: int,
    changes: BookingChanges,
    occurrence: date | None = None,
) -> BookingChange:
    """Change some fields of an active booking; a new time or room must be free. A series changes as a whole (a
    new time or pattern makes its occurrences again, keeping the exceptions whose day stays in it), or one of its
    occurrences alone (`occurrence`: its original date, local)."""
    if changes.empty:
        raise InputError(
            "nothing to change",
            "pass at least one of --start, --end, --title, --room, --attendee, --private, --reminder, "
            "--free-busy (for a series also --daily, --weekly, --monthly, --yearly, --interval, --until, --count, "
            "--no-end)",
        )
    with store.write() as conn:
        current = _existing_booking(conn, booking_id)
        if current.status == "cancelled":
            raise InputError(f"booking {booking_id} is cancelled", "book again with 'roomsops bookings add'")
        if occurrence is not None:
            result, differ = _update_occurrence(conn, current, occurrence, changes, tz)
        elif current.series is not None:
            result, differ = _update_series(conn, current, changes, tz)
        else:
            result, differ = _update_single(conn, current, changes, tz)
    if result.action == "updated":
        audit.record(
            "bookings.update",
            f"booking {booking_id}" + (f" occurrence {result.occurrence}" if result.occurrence else ""),
            params={k: (v.isoformat() if isinstance(v, datetime | date) else v) for k, v in differ.items()},
            result={
                "changed": list(result.changed),
                "version": result.booking.version,
                "dropped": list(result.dropped),
            },
        )
    return result


def _wanted(conn: Connection, current: Booking, changes: BookingChanges) -> tuple[Room, dict[str, Any]]:
    """The booking's fields as the changes ask (validated), and the room it is to be in."""
    organizer = _known_person(conn, current.organizer)
    room = _known_room(conn, current.room if changes.room is None else check_email(changes.room, "room"))
    wanted: dict[str, Any] = {
        "title": None if changes.title is None else check_text(changes.title, "title", MAX_TITLE, True),
        "start": changes.start,
        "end": changes.end,
        "room_id": room.id if changes.room is not None else None,
        "attendees": None
        if changes.attendees is None
        else _check_attendees(conn, changes.attendees, organizer, room, changes.attendee_primaries),
        "private": changes.private,
        "free_busy": None
        if changes.free_busy is None
        else canonical(changes.free_busy, FREE_BUSY, "free/busy", f"use one of {', '.join(FREE_BUSY)}"),
    }
    if changes.reminder_minutes is not KEEP:
        wanted["reminder_minutes"] = _check_reminder(changes.reminder_minutes)
    return room, wanted


def _differ(current: Booking, wanted: dict[str, Any]) -> dict[str, Any]:
    current_values = {**vars(current), "room_id": current.room_id}
    return {
        k: v
        for k, v in wanted.items()
        if (v is not None or k == "reminder_minutes") and v != current_values[k]
    }


def _update_single(
    conn: Connection, current: Booking, changes: BookingChanges, tz: ZoneInfo
) -> tuple[BookingChange, dict[str, Any]]:
    if changes.repeat is not None:
        raise InputError(
            f"booking {current.id} is a single booking; a repeat pattern is given when a series is booked",
            f"book the series with 'roomsops bookings add ... --weekly DAYS' (or --daily, --monthly, --yearly) and "
            f"cancel booking {current.id}",
        )
    now = db.now_utc()
    start = current.start if changes.start is None else changes.start
    end = current.end if changes.end is None else changes.end
    _check_times(start, end, tz)
    _check_bounds(start, end, tz, now)
    if changes.start is not None and changes.start != current.start:
        _refuse_past(start, tz, now, changes.allow_past, "--start")
    room, wanted = _wanted(conn, current, changes)
    differ = _differ(current, wanted)
    if not differ:
        return BookingChange("unchanged", current, time_zone=tz.key), differ
    if {"start", "end", "room_id"} & differ.keys():
        _refuse_overlap(conn, room, start, end, tz, exclude_id=current.id)
    booking = db.update_booking(conn, current.id, differ, now, expected_version=current.version)
    changed = tuple("room" if k == "room_id" else k for k in differ)
    return BookingChange("updated", booking, changed, time_zone=tz.key), differ


def _update_series(
    conn: Connection, current: Booking, changes: BookingChanges, input_tz: ZoneInfo
) -> tuple[BookingChange, dict[str, Any]]:
    """The whole series: its fields, its room (every occurrence must be free there), its times or pattern (its
    occurrences made again up to the horizon, the exceptions of the days that stay carried over)."""
    series = current.series
    assert series is not None
    tz = ZoneInfo(series.time_zone)
    now = db.now_utc()
    start = current.start if changes.start is None else changes.start
    end = current.end if changes.end is None else changes.end
    _check_times(start, end, input_tz)
    _check_bounds(start, end, input_tz, now)
    room, wanted = _wanted(conn, current, changes)
    wanted["start"] = wanted["end"] = None  # the first occurrence's times follow from the occurrences below
    differ = _differ(current, wanted)
    was = recurrence.Recurrence(series.pattern, series.range, series.time_zone)
    occurrences, rec, booked_until = series.occurrences, was, series.booked_until
    dropped: tuple[str, ...] = ()
    replanned = (start, end) != (current.start, current.end) or changes.repeat is not None
    if replanned:
        rec = repeats.recurrence_of(changes.repeat or Repeat(), start.astimezone(tz).date(), tz, was)
        horizon = repeats.horizon_date(tz, changes.horizon_days, now)
        planned = repeats.plan(rec, start, end, tz, horizon, changes.horizon_days)
        rec = repeats.anchored(rec, planned[0], tz)
        occurrences, dropped = repeats.carry_exceptions(series, planned, tz)
        booked_until = _booked_until(rec, planned, horizon, tz)
        for o in occurrences:
            if o.moved:
                repeats.check_move(replace(series, occurrences=occurrences), o, o.start, o.end, tz)
        first = planned[0]
        if (first.start, first.end) != (current.start, current.end):
            if first.start != current.start:
                _refuse_past(first.start, input_tz, now, changes.allow_past, "--start")
            differ |= {"start": first.start, "end": first.end}
    # A field changed for the whole series is the series' again in every occurrence.
    overridden = set(differ) & set(repeats.OCCURRENCE_FIELDS)
    occurrences = tuple(
        replace(o, changes={k: v for k, v in o.changes.items() if k not in overridden}) for o in occurrences
    )
    series_changed = rec != was or occurrences != series.occurrences
    if not differ and not series_changed:
        return BookingChange("unchanged", current, time_zone=input_tz.key), differ
    held = {(o.start, o.end) for o in series.occurrences if o.status == "active"}
    to_check = [o for o in occurrences if "room_id" in differ or (o.start, o.end) not in held]
    active = sum(o.status == "active" for o in occurrences)
    repeats.refuse_conflicts(conn, room, to_check, tz, exclude_id=current.id, total=active)
    booking = db.update_booking(conn, current.id, differ, now, expected_version=current.version)
    if series_changed:
        db.save_series(
            conn, current.id, NewSeries(rec.pattern, rec.range, rec.time_zone, booked_until, occurrences)
        )
        booking = _existing_booking(conn, current.id)
    changed = tuple("room" if k == "room_id" else k for k in differ)
    if rec != was:
        changed += ("repeat",)
    elif replanned and series_changed and "start" not in differ:
        changed += ("occurrences",)  # made again up to today's horizon (a series without end)
    audit = differ | ({"repeat": recurrence.describe(rec)} if rec != was else {})
    return BookingChange("updated", booking, changed, dropped=dropped, time_zone=input_tz.key), audit


def _update_occurrence(
    conn: Connection, current: Booking, day: date, changes: BookingChanges, input_tz: ZoneInfo
) -> tuple[BookingChange, dict[str, Any]]:
    """One occurrence alone (an exception in Exchange): its times (between its neighbours, the room free), title,
    private, reminder or free/busy."""
    series = _series_of(current)
    alone = [
        name
        for name, given in (
            ("--room", changes.room),
            ("--attendee/--no-attendees", changes.attendees),
            ("a repeat option", changes.repeat),
        )
        if given is not None
    ]
    if alone:
        raise InputError(
            f"{', '.join(alone)} with --occurrence: they belong to the whole series",
            f"leave out --occurrence to change the series, or cancel the occurrence ('roomsops bookings cancel "
            f"{current.id} --occurrence {day}') and book that day apart",
        )
    tz = ZoneInfo(series.time_zone)
    one = repeats.find(series, current.id, day, tz)
    label = str(one.original_start.astimezone(tz).date())
    if one.status == "cancelled":
        raise InputError(
            f"the occurrence of {label} of booking {current.id} is cancelled",
            "book that day apart with 'roomsops bookings add'",
        )
    now = db.now_utc()
    start = one.start if changes.start is None else changes.start
    end = one.end if changes.end is None else changes.end
    _check_times(start, end, input_tz)
    _check_bounds(start, end, input_tz, now)
    if start != one.start:
        _refuse_past(start, input_tz, now, changes.allow_past, "--start")
    _, wanted = _wanted(conn, current, changes)
    own = dict(one.changes)
    for name in repeats.OCCURRENCE_FIELDS:
        if name in wanted and (wanted[name] is not None or name == "reminder_minutes"):
            if wanted[name] == getattr(current, name):
                own.pop(name, None)  # as the series again
            else:
                own[name] = wanted[name]
    moved = (start, end) != (one.start, one.end)
    if not moved and own == one.changes:
        return BookingChange("unchanged", current, occurrence=label, time_zone=input_tz.key), {}
    if moved:
        repeats.check_move(series, one, start, end, tz)
        room = _known_room(conn, current.room)
        changed_one = replace(one, start=start, end=end)
        repeats.refuse_conflicts(
            conn, room, [changed_one], tz, total=1, exclude_occurrence=(current.id, one.original_start)
        )
    occurrences = tuple(
        replace(o, start=start, end=end, changes=own) if o.original_start == one.original_start else o
        for o in series.occurrences
    )
    db.update_booking(conn, current.id, {}, now, expected_version=current.version)
    db.save_series(conn, current.id, _new_series(series, occurrences))
    booking = _existing_booking(conn, current.id)
    changed = (("start", "end") if moved else ()) + tuple(
        k for k in repeats.OCCURRENCE_FIELDS if own.get(k, KEEP) != one.changes.get(k, KEEP)
    )
    audit = {"occurrence": label, "start": start, "end": end} if moved else {"occurrence": label}
    return BookingChange("updated", booking, changed, occurrence=label, time_zone=input_tz.key), audit | {
        k: own.get(k) for k in changed if k in repeats.OCCURRENCE_FIELDS
    }


def _series_of(booking: Booking) -> Series:
    if booking.series is None:
        raise InputError(
            f"booking {booking.id} is not a series: it has no occurrences", "leave out --occurrence"
        )
    return booking.series


def _new_series(series: Series, occurrences: tuple[Occurrence, ...]) -> NewSeries:
    return NewSeries(series.pattern, series.range, series.time_zone, series.booked_until, occurrences)


def cancel_booking(
    store: Store,
    audit: AuditLog,
    tz: ZoneInfo,
    booking_id: int,
    confirm: Confirm,
    occurrence: date | None = None,
) -> BookingChange:
    """Cancel a booking, or one occurrence of a series (`occurrence`: its original date, local), after
    confirmation (asked outside the write transaction: no lock while a person thinks)."""
    with store.read() as conn:
        booking = _existing_booking(conn, booking_id)
    if occurrence is not None:
        return _cancel_occurrence(store, audit, tz, booking, occurrence, confirm)
    if booking.status == "cancelled":
        return BookingChange("already_cancelled", booking, time_zone=tz.key)
    when = (
        f"{local_span(booking.start, booking.end, tz)} {tz.key}"
        if booking.series is None
        else f"{booking.series.description}, every occurrence"
    )
    confirm(f'Cancel booking {booking.id} "{booking.title}" ({booking.room_name}, {when})?')
    with store.write() as conn:
        current = _existing_booking(conn, booking_id)
        if current.status == "cancelled":
            return BookingChange("already_cancelled", current, time_zone=tz.key)
        cancelled = db.update_booking(conn, booking_id, {"status": "cancelled"}, db.now_utc())
    audit.record(
        "bookings.cancel",
        f"booking {booking_id}",
        params={"previous_status": current.status},
        result={"status": "cancelled", "version": cancelled.version},
    )
    return BookingChange("cancelled", cancelled, time_zone=tz.key)


def _cancel_occurrence(
    store: Store, audit: AuditLog, tz: ZoneInfo, booking: Booking, day: date, confirm: Confirm
) -> BookingChange:
    """One occurrence of a series (a deleted occurrence in Exchange); the series keeps at least one."""
    series = _series_of(booking)
    if booking.status == "cancelled":
        raise InputError(
            f"booking {booking.id} is cancelled, every occurrence with it", "see 'roomsops bookings list'"
        )
    stz = ZoneInfo(series.time_zone)
    one = repeats.find(series, booking.id, day, stz)
    label = str(one.original_start.astimezone(stz).date())
    if one.status == "cancelled":
        return BookingChange("already_cancelled", booking, occurrence=label, time_zone=tz.key)
    if not any(o.status == "active" and o.original_start != one.original_start for o in series.occurrences):
        raise InputError(
            f"the occurrence of {label} is the last one left of booking {booking.id}",
            f"cancel the whole booking with 'roomsops bookings cancel {booking.id}' (Exchange holds no series "
            "without an occurrence)",
        )
    confirm(
        f"Cancel the occurrence of {local_span(one.start, one.end, tz)} {tz.key} of booking {booking.id} "
        f'"{booking.title}" ({booking.room_name})?'
    )
    with store.write() as conn:
        current = _existing_booking(conn, booking.id)
        series = _series_of(current)
        one = repeats.find(series, current.id, day, stz)
        if current.status == "cancelled" or one.status == "cancelled":
            return BookingChange("already_cancelled", current, occurrence=label, time_zone=tz.key)
        if not any(
            o.status == "active" and o.original_start != one.original_start for o in series.occurrences
        ):
            raise InputError(
                f"the occurrence of {label} is the last one left of booking {current.id}",
                f"cancel the whole booking with 'roomsops bookings cancel {current.id}'",
            )
        occurrences = tuple(
            replace(o, status="cancelled") if o.original_start == one.original_start else o
            for o in series.occurrences
        )
        db.update_booking(conn, current.id, {}, db.now_utc(), expected_version=current.version)
        db.save_series(conn, current.id, _new_series(series, occurrences))
        cancelled = _existing_booking(conn, current.id)
    audit.record(
        "bookings.cancel",
        f"booking {booking.id} occurrence {label}",
        params={"occurrence": label, "start": one.start.isoformat()},
        result={"status": "cancelled", "version": cancelled.version},
    )
    return BookingChange("cancelled", cancelled, occurrence=label, time_zone=tz.key)
