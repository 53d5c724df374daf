"""Bookings of a room by a person: add, list, update, cancel.

`create_booking` is the one place where the no-double-booking rule lives.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
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
    Person,
    Room,
    Store,
)
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.schema import (
    CANCELLED,
    FAILED,
    LINKED,
    NOT_SYNCED_NOTE,
    PENDING_CANCEL,
    PENDING_CREATE,
    PENDING_STATES,
    PENDING_UPDATE,
    ROOM_DECLINED,
    ROOM_HOLDS,
    SYNC_DISABLED,
    UNLINKED,
)
from roomsops.core.errors import InputError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.services.rooms.common import (
    canonical,
    check_email,
    check_text,
    columns,
    local_span,
    local_time,
)

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
    time_zone: str = field(default="UTC", metadata=_INTERNAL)

    def lines(self) -> list[str]:
        b = self.booking
        tz = ZoneInfo(self.time_zone)
        head = {
            "added": f"booking {b.id} added",
            "updated": f"booking {b.id} updated: {', '.join(self.changed)}",
            "unchanged": f"booking {b.id} unchanged",
            "cancelled": f"booking {b.id} cancelled",
            "already_cancelled": f"booking {b.id} was already cancelled",
        }[self.action]
        reminder = "-" if b.reminder_minutes is None else f"{b.reminder_minutes} minutes"
        return [
            head,
            f"  title      {b.title}",
            f"  room       {b.room_name} ({b.room})",
            f"  when       {local_span(b.start, b.end, tz)} ({self.time_zone})",
            f"  organizer  {b.organizer}",
            f"  attendees  {', '.join(b.attendees) or '-'}",
            f"  private    {'yes' if b.private else 'no'}",
            f"  reminder   {reminder}",
            f"  free/busy  {b.free_busy}",
            f"  status     {b.status}",
        ]


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


def sync_word(
    booking: Booking, link: BookingSyncState | None, person_synced: bool, now: datetime | None = None
) -> str:
    """The booking's state in the sync: linked (its meeting is in Exchange as synced), pending (to be written by
    the next pass), failed (the last attempt failed; tried again), room-declined, sync-disabled (rollbacks
    exhausted), not synced (its person's sync mode is not synced by roomsops, or held back by `sync purge` until
    `sync resume`), cancelled (its meeting cancelled, or it never had one), room-holds (cancelled, but the room
    still holds the slot: its meeting was deleted without a cancellation), unlinked (its meeting let go by the
    conflict behaviour Cancel), past (changed or made in ROOMS after it was over: no pass writes it, no invitation
    is sent for a meeting that is over). A linked booking changed or cancelled in ROOMS since its last write is
    pending until the pass writes it."""
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
        and booking.end <= now
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
        return [
            f"times in {self.time_zone}",
            *columns(("id", "start", "end", "room", "organizer", "status", "sync", "title"), rows),
        ]


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

    @property
    def empty(self) -> bool:
        return replace(self, allow_past=False) == BookingChanges()


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
            f"add it first with 'roomsops persons add {email}' (it looks the address up in Exchange), or see "
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
            f"{email} is not a known room", f"add it first with 'roomsops rooms add {email} --name NAME'"
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


def _check_attendees(attendees: Sequence[str], organizer: Person, room: Room) -> tuple[str, ...]:
    """Valid addresses, each once (case-insensitively); neither the organizer nor the booked room."""
    found: dict[str, str] = {}
    for value in attendees:
        email = check_email(value, "attendee")
        key = db.email_key(email)
        if key == db.email_key(organizer.email):
            raise InputError(f"attendee {email} is the organizer", "leave the organizer out of --attendee")
        if key == db.email_key(room.email):
            raise InputError(f"attendee {email} is the booked room", "leave the room out of --attendee")
        found.setdefault(key, email)
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
            f"choose another time or room; see 'roomsops bookings list --room {room.email}'",
            code="room_taken",
        )


def create_booking(conn: Connection, request: BookingRequest, tz: ZoneInfo) -> Booking:
    """Validate and insert a booking, refusing a taken room; call inside `Store.write()`."""
    title = check_text(request.title, "title", MAX_TITLE, required=True)
    free_busy = canonical(request.free_busy, FREE_BUSY, "free/busy", f"use one of {', '.join(FREE_BUSY)}")
    reminder = _check_reminder(request.reminder_minutes)
    _check_times(request.start, request.end, tz)
    _check_bounds(request.start, request.end, tz, db.now_utc())
    _refuse_past(request.start, tz, db.now_utc(), request.allow_past, "--start")
    organizer = _known_person(conn, check_email(request.organizer, "organizer"))
    room = _known_room(conn, check_email(request.room, "room"))
    attendees = _check_attendees(request.attendees, organizer, room)
    _refuse_overlap(conn, room, request.start, request.end, tz)
    booking_id = db.insert_booking(
        conn,
        NewBooking(
            organizer_id=organizer.id,
            room_id=room.id,
            title=title,
            start=request.start,
            end=request.end,
            attendees=attendees,
            private=request.private,
            reminder_minutes=reminder,
            free_busy=free_busy,
        ),
        db.now_utc(),
    )
    booking = db.get_booking(conn, booking_id)
    assert booking is not None
    return booking


def _audit_booking(booking: Booking) -> dict[str, Any]:
    return {
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
    store: Store, audit: AuditLog, tz: ZoneInfo, booking_id: int, changes: BookingChanges
) -> BookingChange:
    """Change some fields of an active booking; a new time or room must be free."""
    if changes.empty:
        raise InputError(
            "nothing to change",
            "pass at least one of --start, --end, --title, --room, --attendee, --private, --reminder, "
            "--free-busy",
        )
    with store.write() as conn:
        current = _existing_booking(conn, booking_id)
        if current.status == "cancelled":
            raise InputError(f"booking {booking_id} is cancelled", "book again with 'roomsops bookings add'")
        organizer = _known_person(conn, current.organizer)
        room = _known_room(conn, current.room if changes.room is None else check_email(changes.room, "room"))
        start = current.start if changes.start is None else changes.start
        end = current.end if changes.end is None else changes.end
        _check_times(start, end, tz)
        _check_bounds(start, end, tz, db.now_utc())
        if changes.start is not None and changes.start != current.start:
            _refuse_past(start, tz, db.now_utc(), changes.allow_past, "--start")
        wanted: dict[str, Any] = {
            "title": None if changes.title is None else check_text(changes.title, "title", MAX_TITLE, True),
            "start": changes.start,
            "end": changes.end,
            "room_id": room.id if changes.room is not None else None,
            "attendees": None
            if changes.attendees is None
            else _check_attendees(changes.attendees, organizer, room),
            "private": changes.private,
            "free_busy": None
            if changes.free_busy is None
            else canonical(changes.free_busy, FREE_BUSY, "free/busy", f"use one of {', '.join(FREE_BUSY)}"),
        }
        if changes.reminder_minutes is not KEEP:
            wanted["reminder_minutes"] = _check_reminder(changes.reminder_minutes)
        current_values = {**vars(current), "room_id": current.room_id}
        differ = {
            k: v
            for k, v in wanted.items()
            if (v is not None or k == "reminder_minutes") and v != current_values[k]
        }
        if not differ:
            return BookingChange("unchanged", current, time_zone=tz.key)
        if {"start", "end", "room_id"} & differ.keys():
            _refuse_overlap(conn, room, start, end, tz, exclude_id=booking_id)
        booking = db.update_booking(conn, booking_id, differ, db.now_utc(), expected_version=current.version)
    changed = tuple("room" if k == "room_id" else k for k in differ)
    audit.record(
        "bookings.update",
        f"booking {booking_id}",
        params={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in differ.items()},
        result={"changed": list(changed), "version": booking.version},
    )
    return BookingChange("updated", booking, changed, time_zone=tz.key)


def cancel_booking(
    store: Store, audit: AuditLog, tz: ZoneInfo, booking_id: int, confirm: Confirm
) -> BookingChange:
    """Cancel a booking after confirmation (asked outside the write transaction: no lock while a
    person thinks)."""
    with store.read() as conn:
        booking = _existing_booking(conn, booking_id)
    if booking.status == "cancelled":
        return BookingChange("already_cancelled", booking, time_zone=tz.key)
    confirm(
        f'Cancel booking {booking.id} "{booking.title}" ({booking.room_name}, '
        f"{local_span(booking.start, booking.end, tz)} {tz.key})?"
    )
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
