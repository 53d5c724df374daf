"""Reads and writes of persons, rooms, bookings and the sync's state, on a connection in a transaction.

Every function takes the `Connection` of the caller's `Store.read()`/`Store.write()` transaction,
so one command's checks and changes commit together. Bulk writes use executemany (one prepared
statement, many parameter sets) rather than a round trip per row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from roomsops.adapters.store.records import (
    Booking,
    BookingSyncState,
    Difference,
    MailboxSyncState,
    NewBooking,
    NewSeries,
    Occurrence,
    Person,
    PersonFields,
    Room,
    Series,
    SyncMailbox,
    UpsertCounts,
    email_key,
)
from roomsops.adapters.store.schema import (
    BLOCKING_STATUSES,
    CANCELLED,
    LEFT_SYNC_NOTE,
    LINKED,
    NOT_SYNCED_NOTE,
    OCCURRENCES_DECLINED,
    PENDING_CANCEL,
    PENDING_CREATE,
    READBACK,
    ROOM_DECLINED,
    ROOM_HOLDS,
    ROOM_MAY_ANSWER,
    UNLINKED,
    UNSEEN,
    booking_attendees,
    booking_occurrences,
    booking_series,
    booking_sync,
    bookings,
    id_high_water,
    installation,
    mailbox_sync,
    persons,
    room_asks,
    rooms,
    sync_differences,
    sync_notices,
)
from roomsops.core import recurrence
from roomsops.core.calendar import MeetingFields
from roomsops.core.errors import OperationFailed
from roomsops.core.vocabulary import SYNCED_MODES

# ---------------------------------------------------------------- persons


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _person(row: Row[Any]) -> Person:
    m = row._mapping
    return Person(
        email=m["email"],
        name=m["name"],
        sync_mode=m["sync_mode"],
        sync_url=m["sync_url"],
        conflict_behaviour=m["conflict_behaviour"],
        id=m["id"],
    )


def get_person(conn: Connection, email: str) -> Person | None:
    row = conn.execute(select(persons).where(persons.c.email_key == email_key(email))).first()
    return _person(row) if row else None


def list_persons(conn: Connection, sync_modes: Iterable[str] | None = None) -> list[Person]:
    """Persons by address; only those with one of `sync_modes` when given."""
    query = select(persons).order_by(persons.c.email_key)
    if sync_modes is not None:
        query = query.where(persons.c.sync_mode.in_(list(sync_modes)))
    return [_person(row) for row in conn.execute(query)]


def _person_values(fields: PersonFields) -> dict[str, Any]:
    return {
        "email": fields.email,
        "email_key": fields.key,
        "name": fields.name,
        "sync_mode": fields.sync_mode,
        "sync_url": fields.sync_url,
        "conflict_behaviour": fields.conflict_behaviour,
    }


def insert_person(conn: Connection, fields: PersonFields, now: datetime) -> Person:
    result = conn.execute(insert(persons).values(**_person_values(fields), created_utc=now, updated_utc=now))
    return Person(**vars(fields), id=_new_id(result))


def update_person(conn: Connection, person_id: int, fields: PersonFields, now: datetime) -> Person:
    conn.execute(
        update(persons).where(persons.c.id == person_id).values(**_person_values(fields), updated_utc=now)
    )
    return Person(**vars(fields), id=person_id)


def switch_sync_mode(
    conn: Connection, person_id: int, from_mode: str, to_mode: str, sync_url: str | None, now: datetime
) -> bool:
    """Set a person's sync mode and sync URL, and nothing else of it, only if its mode is still `from_mode` (a
    change made meanwhile, `persons set` or ROOMS' own edit, is never undone). True when it was switched."""
    result = conn.execute(
        update(persons)
        .where(persons.c.id == person_id, persons.c.sync_mode == from_mode)
        .values(sync_mode=to_mode, sync_url=sync_url, updated_utc=now)
    )
    return bool(result.rowcount)


def upsert_persons(conn: Connection, rows: Sequence[PersonFields], now: datetime) -> UpsertCounts:
    """Insert new persons and update changed ones (matched by address, case-insensitively); the
    rows' addresses must be distinct.

    Portable and fast: one SELECT of the existing persons, then one executemany INSERT and one
    executemany UPDATE; unchanged persons are not written at all.
    """
    existing = {email_key(p.email): p for p in list_persons(conn)}
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    added, updated, unchanged = [], [], []
    for fields in rows:
        old = existing.get(fields.key)
        if old is None:
            new.append({**_person_values(fields), "created_utc": now, "updated_utc": now})
            added.append(fields.email)
        elif old.fields != fields:
            changed.append({"b_id": old.id, **_person_values(fields), "updated_utc": now})
            updated.append(fields.email)
        else:
            unchanged.append(fields.email)
    if new:
        conn.execute(insert(persons), new)
    if changed:
        values: dict[str, Any] = {
            name: bindparam(name)
            for name in ("email", "email_key", "name", "sync_mode", "sync_url", "conflict_behaviour")
        }
        conn.execute(
            update(persons)
            .where(persons.c.id == bindparam("b_id"))
            .values(**values, updated_utc=bindparam("updated_utc")),
            changed,
        )
    return UpsertCounts(tuple(added), tuple(updated), tuple(unchanged))


# ---------------------------------------------------------------- rooms


def _room(row: Row[Any]) -> Room:
    m = row._mapping
    return Room(email=m["email"], name=m["name"], sync_master=bool(m["sync_master"]), id=m["id"])


def get_room(conn: Connection, email: str) -> Room | None:
    row = conn.execute(select(rooms).where(rooms.c.email_key == email_key(email))).first()
    return _room(row) if row else None


def list_rooms(conn: Connection) -> list[Room]:
    return [_room(row) for row in conn.execute(select(rooms).order_by(rooms.c.email_key))]


def room_keys(conn: Connection) -> set[str]:
    return set(conn.execute(select(rooms.c.email_key)).scalars())


def insert_room(conn: Connection, email: str, name: str, sync_master: bool, now: datetime) -> Room:
    result = conn.execute(
        insert(rooms).values(
            email=email,
            email_key=email_key(email),
            name=name,
            sync_master=sync_master,
            created_utc=now,
            updated_utc=now,
        )
    )
    return Room(email=email, name=name, sync_master=sync_master, id=_new_id(result))


def rooms_added_since(conn: Connection, since: datetime) -> set[str]:
    """The rooms (lower-cased addresses) added to ROOMS at `since` or later (`created_utc`, whole seconds)."""
    return {
        str(e).lower()
        for e in conn.execute(select(rooms.c.email).where(rooms.c.created_utc >= since)).scalars()
    }


def bookings_inviting(conn: Connection, emails: Iterable[str], now: datetime) -> list[int]:
    """The active bookings still to come (or a series) that list one of `emails` (a mailbox's addresses) as an
    attendee (case-insensitively)."""
    keys = sorted({email.casefold() for email in emails})
    query = (
        select(bookings.c.id)
        .join(booking_attendees, booking_attendees.c.booking_id == bookings.c.id)
        .where(
            func.lower(booking_attendees.c.email).in_(keys),
            bookings.c.status.in_(BLOCKING_STATUSES),
            or_(
                bookings.c.end_utc > now,
                bookings.c.id.in_(select(booking_series.c.booking_id)),
            ),
        )
        .distinct()
        .order_by(bookings.c.id)
    )
    return [int(row.id) for row in conn.execute(query)]


def forget_positions(conn: Connection, now: datetime) -> int:
    """Forget every mailbox's stored sync position: the next pass of each reads its calendar afresh (a pass from
    no position: its untagged meetings in the window are looked at as new ones; with links, a full
    reconciliation). The mailboxes whose position was forgotten."""
    result = conn.execute(
        update(mailbox_sync)
        .where(mailbox_sync.c.sync_state.is_not(None))
        .values(sync_state=None, updated_utc=now)
    )
    return int(result.rowcount or 0)


def lock_room(conn: Connection, room_id: int) -> None:
    """Serialise bookings of one room: a row lock where the database has them (SQLite compiles
    FOR UPDATE away; there the write transaction's BEGIN IMMEDIATE already serialises writers)."""
    conn.execute(select(rooms.c.id).where(rooms.c.id == room_id).with_for_update())


# ---------------------------------------------------------------- bookings


def _bookings_query() -> Select[Any]:
    return (
        select(
            bookings,
            persons.c.email.label("organizer"),
            rooms.c.email.label("room"),
            rooms.c.name.label("room_name"),
        )
        .join(persons, persons.c.id == bookings.c.organizer_id)
        .join(rooms, rooms.c.id == bookings.c.room_id)
        .outerjoin(booking_series, booking_series.c.booking_id == bookings.c.id)
    )


def _fetch_bookings(conn: Connection, query: Select[Any]) -> list[Booking]:
    rows = list(conn.execute(query))
    if not rows:
        return []
    ids = [row.id for row in rows]
    attendees: dict[int, list[str]] = {}
    # In chunks: databases cap the number of bound parameters of one statement.
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for booking_id, email in conn.execute(
            select(booking_attendees.c.booking_id, booking_attendees.c.email)
            .where(booking_attendees.c.booking_id.in_(chunk))
            .order_by(booking_attendees.c.booking_id, booking_attendees.c.position)
        ):
            attendees.setdefault(booking_id, []).append(email)
    series = _fetch_series(conn, rows)
    return [
        Booking(
            id=row.id,
            organizer=row.organizer,
            room=row.room,
            room_name=row.room_name,
            title=row.title,
            start=row.start_utc,
            end=row.end_utc,
            attendees=tuple(attendees.get(row.id, ())),
            private=bool(row.private),
            reminder_minutes=row.reminder_minutes,
            free_busy=row.free_busy,
            status=row.status,
            version=row.version,
            created=row.created_utc,
            updated=row.updated_utc,
            organizer_id=row.organizer_id,
            room_id=row.room_id,
            tag_key=row.tag_key,
            series=series.get(row.id),
        )
        for row in rows
    ]


def _fetch_series(conn: Connection, rows: Sequence[Row[Any]]) -> dict[int, Series]:
    """The series among these bookings' rows, with their occurrences by original start."""
    found: dict[int, Row[Any]] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found |= {
            r.booking_id: r
            for r in conn.execute(select(booking_series).where(booking_series.c.booking_id.in_(chunk)))
        }
    if not found:
        return {}
    occurrences: dict[int, list[Row[Any]]] = {}
    series_ids = list(found)
    for start in range(0, len(series_ids), 500):
        chunk = series_ids[start : start + 500]
        for row in conn.execute(
            select(booking_occurrences)
            .where(booking_occurrences.c.booking_id.in_(chunk))
            .order_by(booking_occurrences.c.booking_id, booking_occurrences.c.original_start_utc)
        ):
            occurrences.setdefault(row.booking_id, []).append(row)
    anchors = {row.id: row for row in rows}
    return {
        booking_id: _series(row, anchors[booking_id], occurrences.get(booking_id, []))
        for booking_id, row in found.items()
    }


def _series(row: Row[Any], anchor: Row[Any], occurrence_rows: list[Row[Any]]) -> Series:
    rec = recurrence.Recurrence(
        recurrence.Pattern(
            type=row.pattern_type,
            interval=row.repeat_interval,
            days_of_week=tuple(d for d in (row.days_of_week or "").split(",") if d),
            day_of_month=row.day_of_month,
            index=row.week_index,
            month=row.month,
            first_day_of_week=row.first_day_of_week,
        ),
        recurrence.Range(
            type=row.range_type,
            start_date=row.start_date,
            end_date=row.end_date,
            number_of_occurrences=row.number_of_occurrences,
        ),
        row.time_zone,
    )
    tz = ZoneInfo(row.time_zone)
    clock, duration = recurrence.wall_clock(anchor.start_utc, anchor.end_utc, tz)
    listed = []
    for o in occurrence_rows:
        day = o.original_start_utc.astimezone(tz).date()
        expected = recurrence.occurrence(day, clock, duration, tz)
        listed.append(
            Occurrence(
                original_start=o.original_start_utc,
                start=o.start_utc,
                end=o.end_utc,
                status=o.status,
                changes=json.loads(o.changes) if o.changes else {},
                moved=(o.original_start_utc, o.end_utc) != expected or o.start_utc != o.original_start_utc,
            )
        )
    return Series(
        pattern=rec.pattern,
        range=rec.range,
        time_zone=rec.time_zone,
        booked_until=row.booked_until,
        description=recurrence.describe(rec),
        occurrences=tuple(listed),
    )


def get_booking(conn: Connection, booking_id: int) -> Booking | None:
    found = _fetch_bookings(conn, _bookings_query().where(bookings.c.id == booking_id))
    return found[0] if found else None


@dataclass(frozen=True)
class BookingQuery:
    """Filters of `list_bookings`; a booking matches the window when it overlaps it."""

    start: datetime | None = None
    end: datetime | None = None
    organizer_id: int | None = None
    room_id: int | None = None
    statuses: tuple[str, ...] | None = None


def list_bookings(conn: Connection, where: BookingQuery) -> list[Booking]:
    """Bookings ordered by start, then id."""
    query = _bookings_query()
    if where.start is not None or where.end is not None:
        # A single booking by its own times; a series when one of its occurrences (any status) overlaps the window.
        single: list[ColumnElement[bool]] = [booking_series.c.booking_id.is_(None)]
        occurrence = select(booking_occurrences.c.booking_id).where(
            booking_occurrences.c.booking_id == bookings.c.id
        )
        if where.start is not None:
            single.append(bookings.c.end_utc > where.start)
            occurrence = occurrence.where(booking_occurrences.c.end_utc > where.start)
        if where.end is not None:
            single.append(bookings.c.start_utc < where.end)
            occurrence = occurrence.where(booking_occurrences.c.start_utc < where.end)
        query = query.where(or_(and_(*single), occurrence.exists()))
    if where.organizer_id is not None:
        query = query.where(bookings.c.organizer_id == where.organizer_id)
    if where.room_id is not None:
        query = query.where(bookings.c.room_id == where.room_id)
    if where.statuses is not None:
        query = query.where(bookings.c.status.in_(where.statuses))
    return _fetch_bookings(conn, query.order_by(bookings.c.start_utc, bookings.c.id))


def bookings_in_window(conn: Connection, organizer: str, start: datetime, end: datetime) -> list[Booking]:
    """Every booking (any status) that `organizer` organizes and that overlaps [start, end): the sync's
    view of one mailbox. Unknown organizer: no bookings."""
    person = get_person(conn, organizer)
    if person is None:
        return []
    return list_bookings(conn, BookingQuery(start=start, end=end, organizer_id=person.id))


def bookings_by_id(conn: Connection, ids: Sequence[int]) -> list[Booking]:
    """These bookings (any status); unknown ids are left out."""
    found: list[Booking] = []
    for start in range(0, len(ids), 500):  # databases cap the number of bound parameters of one statement
        chunk = list(ids[start : start + 500])
        found += _fetch_bookings(conn, _bookings_query().where(bookings.c.id.in_(chunk)))
    return found


def overlapping_bookings(
    conn: Connection,
    room_id: int,
    start: datetime,
    end: datetime,
    exclude_id: int | None = None,
    exclude_occurrence: tuple[int, datetime] | None = None,
) -> list[Booking]:
    """Bookings that hold `room_id` during [start, end), by start. Half-open: 9-10 and 10-11 do not overlap;
    cancelled bookings hold nothing. A series holds the room with each of its active occurrences: one that
    overlaps is its booking at the occurrence's times and title. `exclude_id` leaves a booking out (a series with
    all its occurrences), `exclude_occurrence` one occurrence (booking id, original start)."""
    condition = and_(
        bookings.c.room_id == room_id,
        bookings.c.status.in_(BLOCKING_STATUSES),
        bookings.c.start_utc < end,
        bookings.c.end_utc > start,
        booking_series.c.booking_id.is_(None),
    )
    if exclude_id is not None:
        condition = and_(condition, bookings.c.id != exclude_id)
    found = _fetch_bookings(conn, _bookings_query().where(condition))
    held = and_(
        bookings.c.room_id == room_id,
        bookings.c.status.in_(BLOCKING_STATUSES),
        booking_occurrences.c.status == "active",
        booking_occurrences.c.start_utc < end,
        booking_occurrences.c.end_utc > start,
    )
    if exclude_id is not None:
        held = and_(held, bookings.c.id != exclude_id)
    occurrences = [
        row
        for row in conn.execute(
            select(booking_occurrences)
            .join(bookings, bookings.c.id == booking_occurrences.c.booking_id)
            .where(held)
        )
        if exclude_occurrence is None or (row.booking_id, row.original_start_utc) != exclude_occurrence
    ]
    if occurrences:
        series = {b.id: b for b in bookings_by_id(conn, sorted({row.booking_id for row in occurrences}))}
        for row in occurrences:
            booking = series[row.booking_id]
            changes = json.loads(row.changes) if row.changes else {}
            found.append(
                replace(
                    booking, start=row.start_utc, end=row.end_utc, title=changes.get("title", booking.title)
                )
            )
    return sorted(found, key=lambda b: (b.start, b.id))


def save_series(conn: Connection, booking_id: int, series: NewSeries) -> None:
    """Store a booking's recurrence and occurrences, replacing what it had (in the caller's write transaction)."""
    assert series.occurrences, "a series has at least one occurrence"
    p, r = series.pattern, series.range
    values = {
        "pattern_type": p.type,
        "repeat_interval": p.interval,
        "days_of_week": ",".join(p.days_of_week) or None,
        "day_of_month": p.day_of_month,
        "week_index": p.index,
        "month": p.month,
        "first_day_of_week": p.first_day_of_week,
        "range_type": r.type,
        "start_date": r.start_date,
        "end_date": r.end_date,
        "number_of_occurrences": r.number_of_occurrences,
        "time_zone": series.time_zone,
        "booked_until": series.booked_until,
    }
    exists = conn.execute(
        select(booking_series.c.booking_id).where(booking_series.c.booking_id == booking_id)
    )
    if exists.first() is None:
        conn.execute(insert(booking_series).values(booking_id=booking_id, **values))
    else:
        conn.execute(update(booking_series).where(booking_series.c.booking_id == booking_id).values(**values))
    conn.execute(delete(booking_occurrences).where(booking_occurrences.c.booking_id == booking_id))
    conn.execute(
        insert(booking_occurrences),
        [
            {
                "booking_id": booking_id,
                "original_start_utc": o.original_start,
                "start_utc": o.start,
                "end_utc": o.end,
                "status": o.status,
                "changes": json.dumps(o.changes, sort_keys=True) if o.changes else None,
            }
            for o in series.occurrences
        ],
    )


def _write_attendees(conn: Connection, booking_id: int, attendees: Sequence[str]) -> None:
    conn.execute(delete(booking_attendees).where(booking_attendees.c.booking_id == booking_id))
    if attendees:
        conn.execute(
            insert(booking_attendees),
            [{"booking_id": booking_id, "position": i, "email": e} for i, e in enumerate(attendees)],
        )


def insert_booking(conn: Connection, new: NewBooking, now: datetime) -> int:
    """Insert a booking as given (the caller has checked the room is free); its id, never one given before."""
    values: dict[str, Any] = {}
    if (
        conn.dialect.name == "sqlite"
    ):  # SQLite gives max(id) + 1: a deleted last booking's id would come again
        values["id"] = _next_id(conn, "bookings", bookings.c.id)
    result = conn.execute(
        insert(bookings).values(
            **values,
            organizer_id=new.organizer_id,
            room_id=new.room_id,
            title=new.title,
            start_utc=new.start,
            end_utc=new.end,
            private=new.private,
            reminder_minutes=new.reminder_minutes,
            free_busy=new.free_busy,
            status=new.status,
            version=1,
            created_utc=now,
            updated_utc=now,
            tag_key=uuid.uuid4().hex,  # never given twice, whatever ids a restored database gives again
        )
    )
    booking_id = _new_id(result)
    _raise_high_water(conn, "bookings", booking_id)
    _write_attendees(conn, booking_id, new.attendees)
    return booking_id


def _next_id(conn: Connection, table: str, column: Any) -> int:
    """One more than the highest id the table has or ever had."""
    highest = conn.execute(select(func.max(column))).scalar() or 0
    ever = conn.execute(select(id_high_water.c.value).where(id_high_water.c.name == table)).scalar() or 0
    return max(int(highest), int(ever)) + 1


def _raise_high_water(conn: Connection, table: str, given: int) -> None:
    updated = conn.execute(
        update(id_high_water)
        .where(id_high_water.c.name == table, id_high_water.c.value < given)
        .values(value=given)
    )
    if (
        updated.rowcount == 0
        and conn.execute(select(id_high_water.c.value).where(id_high_water.c.name == table)).first() is None
    ):
        conn.execute(insert(id_high_water).values(name=table, value=given))


#: Columns `update_booking` may change, by the `Booking` field name.
_UPDATABLE = {
    "title": bookings.c.title,
    "start": bookings.c.start_utc,
    "end": bookings.c.end_utc,
    "room_id": bookings.c.room_id,
    "private": bookings.c.private,
    "reminder_minutes": bookings.c.reminder_minutes,
    "free_busy": bookings.c.free_busy,
    "status": bookings.c.status,
}


def update_booking(
    conn: Connection,
    booking_id: int,
    changes: dict[str, Any],
    now: datetime,
    expected_version: int | None = None,
) -> Booking:
    """Change fields of a booking (keys as in `_UPDATABLE`, plus "attendees") and bump its version.

    With `expected_version`, the update applies only if nobody changed the booking since it was
    read (optimistic check for the sync, which reads, talks to Exchange, then writes).
    """
    values: dict[Any, Any] = {_UPDATABLE[k]: v for k, v in changes.items() if k != "attendees"}
    condition = bookings.c.id == booking_id
    if expected_version is not None:
        condition = and_(condition, bookings.c.version == expected_version)
    result = conn.execute(
        update(bookings)
        .where(condition)
        .values({**values, bookings.c.version: bookings.c.version + 1, bookings.c.updated_utc: now})
    )
    if result.rowcount != 1:
        raise OperationFailed(
            f"booking {booking_id} changed meanwhile (expected version {expected_version})",
            "read it again and retry",
            code="booking_changed",
        )
    if "attendees" in changes:
        _write_attendees(conn, booking_id, changes["attendees"])
    booking = get_booking(conn, booking_id)
    assert booking is not None
    return booking


# ---------------------------------------------------------------- the sync's state


def installation_id(conn: Connection) -> str:
    """This database's installation id (a UUID made once), tagged on every meeting the sync writes."""
    value = conn.execute(select(installation.c.installation_id)).scalar_one()
    return str(value)


def sync_mailboxes(conn: Connection, include_rooms: bool = True) -> list[SyncMailbox]:
    """The mailboxes the sync app opens, over EWS or Microsoft Graph: persons in O365/O365Pull/Microsoft365,
    then (rooms have no sync mode of their own here) every room, whose calendars those meetings book. For the
    access policy (an application access policy governs EWS and Graph alike)."""
    found = [SyncMailbox(p.email, "person", p.sync_mode) for p in list_persons(conn, sync_modes=SYNCED_MODES)]
    if include_rooms:
        found += [SyncMailbox(r.email, "room", None) for r in list_rooms(conn)]
    return found


def _booking_sync(row: Row[Any]) -> BookingSyncState:
    m = row._mapping
    return BookingSyncState(
        booking_id=m["booking_id"],
        mailbox=m["mailbox"],
        item_id=m["item_id"],
        change_key=m["change_key"],
        snapshot=json.loads(m["snapshot"]) if m["snapshot"] is not None else None,
        synced_version=m["synced_version"],
        attempts=m["attempts"],
        last_error=m["last_error"],
        updated=m["updated_utc"],
        state=m["state"],
        error_count=m["error_count"],
        last_attempt=m["last_attempt_utc"],
        revision=m["revision"],
        readback=bool(m["readback"] & READBACK),
        unseen=bool(m["readback"] & UNSEEN),
        from_exchange=bool(m["from_exchange"]),
    )


def get_booking_sync(conn: Connection, booking_id: int) -> BookingSyncState | None:
    row = conn.execute(select(booking_sync).where(booking_sync.c.booking_id == booking_id)).first()
    return _booking_sync(row) if row else None


def booking_sync_by_item(conn: Connection, item_id: str) -> BookingSyncState | None:
    row = conn.execute(select(booking_sync).where(booking_sync.c.item_id == item_id)).first()
    return _booking_sync(row) if row else None


#: How a note OCCURRENCES_DECLINED names each occurrence the room declined: its start in the series' time zone,
#: to the minute, followed by the reason in parentheses (`engine.MailboxSync._occurrences_declined`).
OCCURRENCE_STAMP = "%Y-%m-%d %H:%M"


def occurrence_stamp(occurrence: Occurrence, time_zone: str) -> str:
    return f"{occurrence.start.astimezone(ZoneInfo(time_zone)):{OCCURRENCE_STAMP}}"


def declined_occurrences(booking: Booking, note: str | None) -> list[Occurrence] | None:
    """The active occurrences of a series its room accepted without them, as its link's note OCCURRENCES_DECLINED
    names them (`occurrence_stamp`). None: no such note, or one naming none of the series' occurrences (written
    before they changed)."""
    series = booking.series
    if series is None or note is None or not note.startswith(OCCURRENCES_DECLINED):
        return None
    named = [o for o in series.occurrences if f"{occurrence_stamp(o, series.time_zone)} (" in note]
    return [o for o in named if o.status == "active"] if named else None


def declined_ahead(booking: Booking, note: str | None, now: datetime) -> bool:
    """Whether a series its room accepted without some occurrences (its link's note OCCURRENCES_DECLINED) has one of
    those still to come. A declined occurrence that is over settles nothing any more (review20e): not the series'
    last occurrence, the declined ones decide (review20x); a note that names none of them, the series' end."""
    named = declined_occurrences(booking, note)
    if named is None:
        ends = [o.end for o in (booking.series.occurrences if booking.series else ()) if o.status == "active"]
        return max(ends, default=booking.end) > now
    return any(o.end > now for o in named)


def room_problems(
    conn: Connection, mailbox: str | None = None, now: datetime | None = None
) -> list[BookingSyncState]:
    """Links whose room is not as the booking says: the room declined an active booking's meeting, or accepted its
    series without some occurrences (a `linked` link noted OCCURRENCES_DECLINED, review20v) (with `now`: one not
    over yet, by the booking's end or its meeting's as last synced, a series' by its declined occurrences
    (`declined_ahead`): a decline of a slot that is over settles nothing any more), or it still holds the slot of
    a booking whose meeting was deleted in Outlook without a cancellation. `room_problem_kind` names each."""
    # A series' end is its last active occurrence's (the booking's own is its first's).
    series_end = (
        select(func.max(booking_occurrences.c.end_utc))
        .where(booking_occurrences.c.booking_id == bookings.c.id, booking_occurrences.c.status == "active")
        .scalar_subquery()
    )
    query = (
        select(booking_sync, bookings.c.end_utc.label("booking_end"), series_end.label("series_end"))
        .join(bookings, bookings.c.id == booking_sync.c.booking_id)
        .where(
            (and_(booking_sync.c.state == ROOM_DECLINED, bookings.c.status == "active"))
            | (
                and_(
                    booking_sync.c.state == LINKED,
                    booking_sync.c.last_error.like(OCCURRENCES_DECLINED + "%"),
                    bookings.c.status == "active",
                )
            )
            | (and_(booking_sync.c.state == CANCELLED, booking_sync.c.last_error.like(ROOM_HOLDS + "%")))
        )
        .order_by(booking_sync.c.booking_id)
    )
    if mailbox is not None:
        query = query.where(booking_sync.c.mailbox == email_key(mailbox))
    rows = list(conn.execute(query))
    partly = [row.booking_id for row in rows if row.state == LINKED] if now is not None else []
    partial = {b.id: b for b in bookings_by_id(conn, partly)} if partly else {}
    out = []
    for row in rows:
        link = _booking_sync(row)
        end = row._mapping["booking_end"]
        series = row._mapping["series_end"]
        if link.state in (ROOM_DECLINED, LINKED) and now is not None:
            if (series or min(end, _held_until(row.snapshot, end))) <= now:
                continue
            booking = partial.get(link.booking_id)
            if booking is not None and not declined_ahead(booking, link.last_error, now):
                continue
        out.append(link)
    return out


def room_problem_kind(link: BookingSyncState) -> str:
    """The word `sync diff` and `sync serve` show for a link `room_problems` lists: `room-declined` (declined, or
    a series accepted without some occurrences) or `room-holds`."""
    return "room-holds" if link.state == CANCELLED else ROOM_DECLINED


def booking_sync_by_ids(conn: Connection, booking_ids: Sequence[int]) -> dict[int, BookingSyncState]:
    if not booking_ids:
        return {}
    query = select(booking_sync).where(booking_sync.c.booking_id.in_(list(booking_ids)))
    return {link.booking_id: link for link in map(_booking_sync, conn.execute(query))}


def linked_mailboxes(conn: Connection) -> set[str]:
    """The mailboxes (`email_key`) with at least one booking's sync state: one query, for passes that look at
    many persons of whom few have any."""
    return {str(m) for (m,) in conn.execute(select(booking_sync.c.mailbox).distinct())}


def booking_sync_for_mailbox(conn: Connection, mailbox: str) -> list[BookingSyncState]:
    query = (
        select(booking_sync)
        .where(booking_sync.c.mailbox == email_key(mailbox))
        .order_by(booking_sync.c.booking_id)
    )
    return [_booking_sync(row) for row in conn.execute(query)]


def save_booking_sync(conn: Connection, state: BookingSyncState, now: datetime) -> BookingSyncState:
    """Insert or replace the sync state of one booking (portable: update, insert if there was none)."""
    values = {
        "mailbox": email_key(state.mailbox),
        "item_id": state.item_id,
        "change_key": state.change_key,
        "snapshot": json.dumps(state.snapshot, sort_keys=True) if state.snapshot is not None else None,
        "synced_version": state.synced_version,
        "attempts": state.attempts,
        "last_error": state.last_error,
        "updated_utc": now,
        "state": state.state,
        "error_count": state.error_count,
        "last_attempt_utc": state.last_attempt,
        "revision": state.revision,
        "readback": (READBACK if state.readback else 0) | (UNSEEN if state.unseen else 0),
        "from_exchange": 1 if state.from_exchange else 0,
    }
    result = conn.execute(
        update(booking_sync).where(booking_sync.c.booking_id == state.booking_id).values(**values)
    )
    if result.rowcount == 0:
        conn.execute(insert(booking_sync).values(booking_id=state.booking_id, **values))
    saved = get_booking_sync(conn, state.booking_id)
    assert saved is not None
    return saved


@dataclass(frozen=True)
class RoomAsk:
    """A booking whose room is to be asked again (`schema.room_asks`): the room that freed its slot, the mark's
    token."""

    booking_id: int
    room: str
    token: str


def mark_room_asks(conn: Connection, booking_ids: Iterable[int], room: str, now: datetime) -> str:
    """Mark these bookings: their room (`room`) is to be asked again. A booking marked already gets the new mark
    (its token replaced: a pass holding the old one no longer clears it). Returns the token."""
    token = uuid.uuid4().hex
    values = {"room": email_key(room), "token": token, "marked_utc": now}
    for booking_id in sorted(set(booking_ids)):
        result = conn.execute(update(room_asks).where(room_asks.c.booking_id == booking_id).values(**values))
        if result.rowcount == 0:
            conn.execute(insert(room_asks).values(booking_id=booking_id, **values))
    return token


def room_asks_of(conn: Connection, mailbox: str) -> dict[int, RoomAsk]:
    """The marks of the bookings `mailbox` organizes, by booking id."""
    query = (
        select(room_asks)
        .join(bookings, bookings.c.id == room_asks.c.booking_id)
        .join(persons, persons.c.id == bookings.c.organizer_id)
        .where(persons.c.email_key == email_key(mailbox))
    )
    return {row.booking_id: RoomAsk(row.booking_id, row.room, row.token) for row in conn.execute(query)}


def clear_room_asks(conn: Connection, marks: Iterable[RoomAsk]) -> None:
    """Clear these marks, each only if it is still the one read (same token): a mark made since stays."""
    for mark in marks:
        conn.execute(
            delete(room_asks).where(
                room_asks.c.booking_id == mark.booking_id, room_asks.c.token == mark.token
            )
        )


def add_notices(
    conn: Connection, booking_id: int, mailbox: str, notices: Iterable[str], now: datetime
) -> list[int]:
    """Store what a pass has to tell the person of `mailbox` (`schema.sync_notices`); their ids."""
    ids = []
    for notice in notices:
        values = {"booking_id": booking_id, "mailbox": email_key(mailbox), "notice": notice, "noted_utc": now}
        key = conn.execute(insert(sync_notices).values(**values)).inserted_primary_key
        assert key is not None
        ids.append(int(key[0]))
    return ids


def notices_of(conn: Connection, mailbox: str) -> list[tuple[int, str]]:
    """What passes of `mailbox` have not said yet, oldest first: (id, notice)."""
    query = (
        select(sync_notices.c.id, sync_notices.c.notice)
        .where(sync_notices.c.mailbox == email_key(mailbox))
        .order_by(sync_notices.c.id)
    )
    return [(row.id, row.notice) for row in conn.execute(query)]


def noticed_mailboxes(conn: Connection) -> set[str]:
    """The mailboxes (`email_key`) with notices not said yet: one query."""
    return {str(m) for (m,) in conn.execute(select(sync_notices.c.mailbox).distinct())}


def drop_notices(conn: Connection, ids: Iterable[int]) -> None:
    """Forget notices a pass has said."""
    said = sorted(set(ids))
    if said:
        conn.execute(delete(sync_notices).where(sync_notices.c.id.in_(said)))


def delete_booking_sync(conn: Connection, booking_id: int) -> None:
    conn.execute(delete(booking_sync).where(booking_sync.c.booking_id == booking_id))


def _mailbox_sync(row: Row[Any]) -> MailboxSyncState:
    m = row._mapping
    return MailboxSyncState(
        mailbox=m["mailbox"],
        sync_state=m["sync_state"],
        last_pass=m["last_pass_utc"],
        last_error=m["last_error"],
        updated=m["updated_utc"],
        passes_since_full=m["passes_since_full"],
        service=m["service"],
    )


def get_mailbox_sync(conn: Connection, mailbox: str) -> MailboxSyncState | None:
    row = conn.execute(select(mailbox_sync).where(mailbox_sync.c.mailbox == email_key(mailbox))).first()
    return _mailbox_sync(row) if row else None


def save_mailbox_sync(conn: Connection, state: MailboxSyncState, now: datetime) -> MailboxSyncState:
    key = email_key(state.mailbox)
    values = {
        "sync_state": state.sync_state,
        "last_pass_utc": state.last_pass,
        "last_error": state.last_error,
        "updated_utc": now,
        "passes_since_full": state.passes_since_full,
    }
    result = conn.execute(update(mailbox_sync).where(mailbox_sync.c.mailbox == key).values(**values))
    if result.rowcount == 0:
        conn.execute(insert(mailbox_sync).values(mailbox=key, **values))
    saved = get_mailbox_sync(conn, key)
    assert saved is not None
    return saved


def record_mailbox_service(conn: Connection, mailbox: str, service: str, now: datetime) -> None:
    """Record the service ("ews" or "graph") whose item ids the mailbox's links hold: written only once they do
    (the pass relinked them, or had none to relink; `sync migrate` moved them), never before."""
    key = email_key(mailbox)
    result = conn.execute(update(mailbox_sync).where(mailbox_sync.c.mailbox == key).values(service=service))
    if result.rowcount == 0:
        conn.execute(insert(mailbox_sync).values(mailbox=key, service=service, updated_utc=now))


def mailbox_services(conn: Connection) -> dict[str, str]:
    """The service each mailbox was last synced over (lower-cased address -> "ews" | "graph"), where recorded."""
    rows = conn.execute(
        select(mailbox_sync.c.mailbox, mailbox_sync.c.service).where(mailbox_sync.c.service.is_not(None))
    )
    return {str(mailbox): str(service) for mailbox, service in rows}


def unsynced_bookings(
    conn: Connection, organizers: Iterable[str], now: datetime
) -> set[tuple[str, int, int]]:
    """The bookings of these organizers (lower-cased addresses) not yet ended whose ROOMS version the sync has not
    written: (organizer's lower-cased address, booking id, version) — a booking made or changed in ROOMS since
    its organizer's last pass. One indexed query; for `roomsops serve`, to schedule the pass of a mailbox whose
    changes no notification announces."""
    keys = sorted({email_key(e) for e in organizers})
    if not keys:
        return set()
    rows = conn.execute(
        select(persons.c.email_key, bookings.c.id, bookings.c.version)
        .select_from(
            bookings.join(persons, persons.c.id == bookings.c.organizer_id)
            .outerjoin(booking_sync, booking_sync.c.booking_id == bookings.c.id)
            .outerjoin(booking_series, booking_series.c.booking_id == bookings.c.id)
        )
        .where(
            persons.c.email_key.in_(keys),
            # a series' row holds its first occurrence: its later ones may still come
            or_(bookings.c.end_utc > now, booking_series.c.booking_id.is_not(None)),
            or_(
                booking_sync.c.booking_id.is_(None),
                booking_sync.c.synced_version.is_(None),
                booking_sync.c.synced_version != bookings.c.version,
            ),
        )
    )
    return {(str(key), int(booking_id), int(version)) for key, booking_id, version in rows}


# ---------------------------------------------------------------- the sync's differences


def add_difference(conn: Connection, difference: Difference) -> Difference:
    """Record a difference; an open one of the same booking and kind is replaced by the newer view."""
    conn.execute(
        delete(sync_differences).where(
            sync_differences.c.booking_id == difference.booking_id,
            sync_differences.c.kind == difference.kind,
            sync_differences.c.resolution.is_(None),
        )
    )
    result = conn.execute(
        insert(sync_differences).values(
            booking_id=difference.booking_id,
            mailbox=email_key(difference.mailbox),
            kind=difference.kind,
            fields=json.dumps(list(difference.fields)),
            rooms_state=json.dumps(difference.rooms_state, sort_keys=True),
            exchange_state=json.dumps(difference.exchange_state, sort_keys=True),
            detected_utc=difference.detected,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return replace(difference, id=int(key[0]))


def _difference(row: Row[Any]) -> Difference:
    m = row._mapping
    return Difference(
        id=m["id"],
        booking_id=m["booking_id"],
        mailbox=m["mailbox"],
        kind=m["kind"],
        fields=tuple(json.loads(m["fields"])),
        rooms_state=json.loads(m["rooms_state"]),
        exchange_state=json.loads(m["exchange_state"]),
        detected=m["detected_utc"],
        resolution=m["resolution"],
    )


def list_differences(
    conn: Connection, mailbox: str | None = None, booking_id: int | None = None, open_only: bool = True
) -> list[Difference]:
    query = select(sync_differences)
    if mailbox is not None:
        query = query.where(sync_differences.c.mailbox == email_key(mailbox))
    if booking_id is not None:
        query = query.where(sync_differences.c.booking_id == booking_id)
    if open_only:
        query = query.where(sync_differences.c.resolution.is_(None))
    return [_difference(row) for row in conn.execute(query.order_by(sync_differences.c.id))]


def resolve_differences(conn: Connection, booking_id: int, resolution: str, now: datetime) -> int:
    result = conn.execute(
        update(sync_differences)
        .where(sync_differences.c.booking_id == booking_id, sync_differences.c.resolution.is_(None))
        .values(resolution=resolution, resolved_utc=now)
    )
    return int(result.rowcount)


def settle_difference(conn: Connection, difference_id: int, resolution: str, now: datetime) -> None:
    """Close one open difference (e.g. "settled": a later edit made both sides agree)."""
    conn.execute(
        update(sync_differences)
        .where(sync_differences.c.id == difference_id, sync_differences.c.resolution.is_(None))
        .values(resolution=resolution, resolved_utc=now)
    )


# ---------------------------------------------------------------- removing and renaming records


def unsettled_links(conn: Connection, booking_ids: Sequence[int], now: datetime) -> list[int]:
    """The bookings among `booking_ids` whose meeting in Exchange still needs the sync: a linked item not
    cancelled or let go; a create or cancel whose answer was lost (no item known, the meeting may exist: a pass
    looks it up by its tag; also one held back since its person left the sync); a room still holding the slot of a meeting deleted without a cancellation
    (`rooms_still_held`). Their organizer and room must stay until a sync pass settled them."""
    if not booking_ids:
        return []
    query = select(booking_sync.c.booking_id).where(
        booking_sync.c.booking_id.in_(list(booking_ids)),
        or_(
            and_(
                booking_sync.c.item_id.is_not(None),
                or_(
                    booking_sync.c.state.not_in([CANCELLED, UNLINKED]),
                    # A meeting left in Exchange when its person left the sync: a purge or a sync still cancels it.
                    and_(
                        booking_sync.c.state == UNLINKED,
                        booking_sync.c.last_error.like(f"{NOT_SYNCED_NOTE}%"),
                    ),
                ),
            ),
            booking_sync.c.state.in_([PENDING_CREATE, PENDING_CANCEL]),
            # Such a create held back when its person left the sync: a cancellation still looks it up by its tag.
            and_(booking_sync.c.state == UNLINKED, booking_sync.c.last_error == LEFT_SYNC_NOTE),
        ),
    )
    return sorted(set(conn.execute(query).scalars()) | set(rooms_still_held(conn, booking_ids, now)))


def rooms_still_held(conn: Connection, booking_ids: Sequence[int], now: datetime) -> list[int]:
    """The bookings among `booking_ids` whose meeting was deleted in Outlook without a cancellation while their
    room still holds the slot (ROOM_HOLDS), or may hold it again by a late answer (ROOM_MAY_ANSWER), the slot
    still ahead: every pass looks for the room's copy and removes it (the link is the watch: it goes with the
    booking)."""
    if not booking_ids:
        return []
    query = (
        select(booking_sync.c.booking_id, booking_sync.c.snapshot, bookings.c.end_utc)
        .join(bookings, bookings.c.id == booking_sync.c.booking_id)
        .where(
            booking_sync.c.booking_id.in_(list(booking_ids)),
            booking_sync.c.state == CANCELLED,
            booking_sync.c.last_error.like(f"{ROOM_HOLDS}%")
            | booking_sync.c.last_error.like(f"{ROOM_MAY_ANSWER}%"),
        )
    )
    return sorted(i for i, snapshot, end in conn.execute(query) if _held_until(snapshot, end) > now)


def _held_until(snapshot: str | None, booking_end: datetime) -> datetime:
    """The end of the slot a meeting held as last synced (its snapshot, as the pass looks for the room's copy);
    the booking's end without one (or one that cannot be read)."""
    try:
        return MeetingFields.from_json(json.loads(snapshot)).end if snapshot else booking_end
    except (ValueError, TypeError, KeyError):
        return booking_end


def live_links_in_mailbox(conn: Connection, mailbox: str) -> list[int]:
    """The bookings whose meeting lives in `mailbox`, known by its item id, and is not cancelled or let go (what
    `sync migrate` moves between EWS and Microsoft Graph). A rename onto another mailbox waits for more: the
    `unsettled_links` of the mailbox."""
    query = select(booking_sync.c.booking_id).where(
        booking_sync.c.mailbox == email_key(mailbox),
        booking_sync.c.item_id.is_not(None),
        or_(
            booking_sync.c.state.not_in([CANCELLED, UNLINKED]),
            # A meeting left in Exchange when its person left the sync: a purge or a sync still cancels it.
            and_(booking_sync.c.state == UNLINKED, booking_sync.c.last_error.like(f"{NOT_SYNCED_NOTE}%")),
        ),
    )
    return sorted(conn.execute(query).scalars())


def reachable_links_in_mailbox(conn: Connection, mailbox: str) -> list[int]:
    """The bookings whose meeting lives in `mailbox` (or may: a create or cancel whose answer was lost, no item
    id known, also one held back since its person left the sync) and is not cancelled or let go: what a
    cancellation or `sync purge` of a person who left the sync still reaches, over the service the mailbox's
    links are of (by item id, or by tag for those without one). `live_links_in_mailbox` and those item-less."""
    query = select(booking_sync.c.booking_id).where(
        booking_sync.c.mailbox == email_key(mailbox),
        booking_sync.c.item_id.is_(None),
        or_(
            booking_sync.c.state.in_([PENDING_CREATE, PENDING_CANCEL]),
            and_(booking_sync.c.state == UNLINKED, booking_sync.c.last_error == LEFT_SYNC_NOTE),
        ),
    )
    return sorted(set(conn.execute(query).scalars()) | set(live_links_in_mailbox(conn, mailbox)))


def delete_bookings(conn: Connection, booking_ids: Sequence[int]) -> None:
    """Delete bookings with their attendees, sync links and differences (ON DELETE CASCADE)."""
    if booking_ids:
        conn.execute(delete(bookings).where(bookings.c.id.in_(list(booking_ids))))


def delete_person(conn: Connection, person_id: int, email: str) -> None:
    """Delete a person that organizes no booking any more, and the sync state of its mailbox."""
    conn.execute(delete(mailbox_sync).where(mailbox_sync.c.mailbox == email_key(email)))
    conn.execute(delete(persons).where(persons.c.id == person_id))


def delete_room(conn: Connection, room_id: int) -> None:
    """Delete a room that no booking holds any more."""
    conn.execute(delete(rooms).where(rooms.c.id == room_id))


def rename_person(
    conn: Connection, person: Person, new_email: str, now: datetime, same_mailbox: bool = False
) -> Person:
    """Give a person another address, keeping its bookings; the sync links, the mailbox's record, its differences
    and its notes not said yet move with it.
    The read position (`sync_state`: a SyncFolderItems state, a Graph deltaLink naming the user in its path) is
    the mailbox's: it moves only when Exchange said the new address is the same mailbox (`same_mailbox`); else it
    is dropped, and the next pass starts the new mailbox's afresh (a full reconciliation by tag)."""
    old_key, new_key = email_key(person.email), email_key(new_email)
    conn.execute(
        update(persons)
        .where(persons.c.id == person.id)
        .values(email=new_email, email_key=new_key, updated_utc=now)
    )
    if old_key != new_key:
        conn.execute(update(booking_sync).where(booking_sync.c.mailbox == old_key).values(mailbox=new_key))
        conn.execute(delete(mailbox_sync).where(mailbox_sync.c.mailbox == new_key))
        moved: dict[str, object] = {"mailbox": new_key}
        if not same_mailbox:
            moved |= {"sync_state": None, "updated_utc": now}
        conn.execute(update(mailbox_sync).where(mailbox_sync.c.mailbox == old_key).values(**moved))
        conn.execute(
            update(sync_differences).where(sync_differences.c.mailbox == old_key).values(mailbox=new_key)
        )
        # Notes not said yet: the next pass of the new address says them (review25ac).
        conn.execute(update(sync_notices).where(sync_notices.c.mailbox == old_key).values(mailbox=new_key))
    return replace(person, email=new_email)


def update_room(conn: Connection, room: Room, name: str, sync_master: bool, now: datetime) -> Room:
    conn.execute(
        update(rooms).where(rooms.c.id == room.id).values(name=name, sync_master=sync_master, updated_utc=now)
    )
    return replace(room, name=name, sync_master=sync_master)
