"""`sync diff` and `sync resolve`: ROOMS' "sync differences" view, and settling one booking's difference."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from roomsops.adapters.store import (
    Booking,
    BookingSyncState,
    Difference,
    NewSeries,
    Occurrence,
    Store,
    now_utc,
)
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.schema import LINKED, PENDING_UPDATE, ROOM_DECLINED
from roomsops.core.calendar import Meeting, MeetingFields
from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.logs import AuditLog
from roomsops.core.recurrence import at, series_dates, wall_clock
from roomsops.core.results import Result
from roomsops.services.rooms import series as repeats
from roomsops.services.rooms.common import local_span
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.engine import (
    ROOM_PENDING,
    decline_reason,
    deleted_in_outlook,
    room_unanswered,
    snapshot_room,
)
from roomsops.services.sync.model import (
    booking_fields,
    occurrence_of_field,
    occurrence_state,
    occurrence_states,
    room_as_booked,
    room_as_listed,
    room_kept_on_its_line,
    whole_seconds,
)

RESOLUTIONS = ("exchange", "rooms", "ignore")
#: What a resolve's snapshot keeps of the one it replaces (what the booking's fields do not say).
_KEPT = ("uid", "listed")


@dataclass(frozen=True)
class RoomProblem:
    """A booking whose room in Exchange is not as ROOMS says: `room-declined` (the room declined its meeting)
    or `room-holds` (its meeting was deleted in Outlook without a cancellation; the room still holds the slot), or
    `room-pending` (the room has not answered its meeting: its calendar does not hold the slot)."""

    booking_id: int
    mailbox: str
    kind: str
    reason: str


@dataclass(frozen=True)
class Conflict:
    """An Outlook edit ROOMS cannot accept, handled by the person's SyncConflictBehaviour over several passes:
    each attempt counted (`sync.rollback_attempts`, `sync.cancel_attempts`)."""

    booking_id: int
    mailbox: str
    behaviour: str  # Rollback | Cancel
    attempts: int  # passes that handled it so far (Rollback: resets in a row)
    limit: int  # the attempts after which the booking is sync-disabled (Rollback) or cancelled (Cancel)
    outcome: str  # "pending": tried again next pass; "sync-disabled" | "cancelled": the limit was reached
    reason: str | None  # the last attempt's error, when there was one


@dataclass(frozen=True)
class DiffResult(Result):
    differences: tuple[Difference, ...]
    rooms: tuple[RoomProblem, ...] = ()
    conflicts: tuple[Conflict, ...] = ()

    def lines(self) -> list[str]:
        out = self._conflict_lines()
        if not self.differences and not self.rooms:
            return [*out, "no open differences"]
        for d in self.differences:
            series = " (series)" if d.rooms_state.get("series") or d.exchange_state.get("series") else ""
            out.append(f"booking {d.booking_id} ({d.mailbox}): {d.kind.replace('_', ' ')}{series}")
            out.extend(difference_lines(d))
        if self.differences:
            out.append("settle each with: roomsops sync resolve BOOKING --use exchange|rooms|ignore")
        for p in self.rooms:
            out.append(f"booking {p.booking_id} ({p.mailbox}): {p.kind}: {p.reason}")
        if self.rooms:
            out.append(
                "the room's answer is the truth: move or cancel a declined booking in ROOMS; a room that still "
                "holds a slot is freed once roomsops may open its mailbox (or by its owner); a room that does not "
                "answer: check its calendar processing (Get-CalendarProcessing)"
            )
        return out

    def _conflict_lines(self) -> list[str]:
        out = []
        for c in self.conflicts:
            if c.outcome == "pending":
                then = "sync-disabled" if c.behaviour == "Rollback" else "cancelled"
                state = f"attempt {c.attempts} of {c.limit} (at the last the booking is {then})"
            else:
                state = f"{c.outcome} after {c.attempts} attempt(s)"
            reason = f": {c.reason}" if c.reason else ""
            out.append(f"booking {c.booking_id} ({c.mailbox}): conflict ({c.behaviour}), {state}{reason}")
        return out


def difference_lines(d: Difference) -> list[str]:
    """One line per field of a difference, ROOMS' value beside Exchange's. A series' whole-series fields are named
    "series <field>"; an occurrence (`occurrence:<original start>`) is one line with its original start in the
    series' time zone and its state on each side: its times, or "deleted" (docs/series.md, "Differences of a
    series")."""
    out = []
    series = bool(d.rooms_state.get("series") or d.exchange_state.get("series"))
    for name in d.fields:
        original = occurrence_of_field(name)
        if original is None:
            label = f"series {name}" if series else name
            out.append(
                f"  {label:16} ROOMS: {d.rooms_state.get(name)!s:32} Exchange: {d.exchange_state.get(name)}"
            )
            continue
        ours, theirs = (
            _occurrence_shown(d.rooms_state, original, "rooms"),
            _occurrence_shown(d.exchange_state, original, "exchange"),
        )
        zone = ZoneInfo(
            str((d.rooms_state.get("series") or d.exchange_state["series"]).get("time_zone") or "UTC")
        )
        label = f"occurrence {original.astimezone(zone):%a %Y-%m-%d %H:%M}"
        out.append(f"  {label:30} ROOMS: {ours:32} Exchange: {theirs}")
    return out


def _occurrence_shown(state: dict[str, Any], original: datetime, side: str) -> str:
    """An occurrence as one side's recorded state holds it: "deleted", or its times in the series' time zone (the
    day named too when it is not the original start's day)."""
    fields = MeetingFields.from_json(state)
    if fields.series is None:
        return "(no series)"
    zone = ZoneInfo(fields.series.time_zone)
    if not _in_pattern(fields, original, zone):
        # The series on this side has no occurrence there (its pattern or times changed): none to show (review25e b).
        return "none (not in its pattern)"
    shown = occurrence_state(
        occurrence_states(fields.series, fields.end - fields.start), original, fields.end - fields.start
    )
    if isinstance(shown, str):
        return "cancelled" if side == "rooms" else shown
    start, end = (t.astimezone(zone) for t in shown)
    moved = "" if (start, end) == (original, original + (fields.end - fields.start)) else "moved to "
    day = "" if start.date() == original.astimezone(zone).date() else f"{start:%a %Y-%m-%d} "
    return f"{moved}{day}{start:%H:%M}–{end:%H:%M}"


def _in_pattern(fields: MeetingFields, original: datetime, zone: ZoneInfo) -> bool:
    """Whether the series `fields` has an occurrence at `original` (UTC): a date of its pattern and range, at its
    first occurrence's wall-clock start."""
    assert fields.series is not None
    clock, _ = wall_clock(fields.start, fields.end, zone)
    day = original.astimezone(zone).date()
    return day in series_dates(fields.series.recurrence, day).dates and at(day, clock, zone) == original


def diff(
    store: Store, mailbox: str | None, rollback_attempts: int = 5, cancel_attempts: int = 2
) -> DiffResult:
    with store.read() as conn:
        differences = tuple(q.list_differences(conn, mailbox=mailbox))
        rooms = tuple(
            RoomProblem(
                booking_id=link.booking_id,
                mailbox=link.mailbox,
                kind=q.room_problem_kind(link),
                reason=link.last_error or "no reason recorded",
            )
            for link in q.room_problems(conn, mailbox, now_utc())
        )
        conflicts = []
        persons = {p.email.casefold(): p for p in q.list_persons(conn)}
        rooms += _rooms_pending(conn, [p.email for p in persons.values()], mailbox)
        for person in persons.values():
            if mailbox is not None and person.email.casefold() != mailbox.casefold():
                continue
            links = [link for link in q.booking_sync_for_mailbox(conn, person.email) if link.attempts > 0]
            found = {b.id: b for b in q.bookings_by_id(conn, [link.booking_id for link in links])}
            for link in links:
                booking = found.get(link.booking_id)
                if booking is None:
                    continue
                rollback = person.conflict_behaviour != "Cancel"
                if booking.status == "sync_disabled":
                    outcome = "sync-disabled"
                elif booking.status == "cancelled":
                    outcome = "cancelled"
                else:
                    outcome = "pending"
                conflicts.append(
                    Conflict(
                        booking_id=booking.id,
                        mailbox=person.email,
                        behaviour="Rollback" if rollback else "Cancel",
                        attempts=link.attempts,
                        limit=rollback_attempts if rollback else cancel_attempts,
                        outcome=outcome,
                        reason=link.last_error,
                    )
                )
    conflicts.sort(key=lambda c: c.booking_id)
    return DiffResult(differences=differences, rooms=rooms, conflicts=tuple(conflicts))


def _rooms_pending(conn: Connection, persons: list[str], mailbox: str | None) -> tuple[RoomProblem, ...]:
    """Linked bookings whose room has not answered their meeting (`room_unanswered`): `room-pending`."""
    now = now_utc()
    out = []
    for person in persons:
        if mailbox is not None and person.casefold() != mailbox.casefold():
            continue
        links = [link for link in q.booking_sync_for_mailbox(conn, person) if link.state == LINKED]
        found = {b.id: b for b in q.bookings_by_id(conn, [link.booking_id for link in links])}
        for link in links:
            booking = found.get(link.booking_id)
            if booking is not None and booking.room and room_unanswered(link, booking, now):
                out.append(
                    RoomProblem(
                        booking_id=booking.id,
                        mailbox=link.mailbox,
                        kind=ROOM_PENDING,
                        reason=f"the room {booking.room} has not answered its meeting (its calendar does not "
                        "hold the slot; a room whose calendar processing is AutomateProcessing None never answers)",
                    )
                )
    return tuple(sorted(out, key=lambda p: p.booking_id))


@dataclass(frozen=True)
class ResolveResult(Result):
    booking_id: int
    use: str
    resolved: int
    #: `--use exchange` onto a room that declined the meeting: the decline's reason (the booking is then
    #: `room-declined`, reported by every pass until it is settled); None otherwise.
    room_declined: str | None = None

    def lines(self) -> list[str]:
        out = [f"booking {self.booking_id}: {self.resolved} difference(s) settled, using {self.use}"]
        if self.room_declined is not None:
            out.append(
                f"booking {self.booking_id}: the room declined the meeting: {self.room_declined} — reported by "
                "every sync pass until the booking is moved (and accepted) or cancelled"
            )
        return out


def _exchange_value(
    d: Difference,
    name: str,
    meeting: MeetingFields | None,
    synced: MeetingFields | None,
    booking: MeetingFields,
    room: str | None = None,
) -> Any:
    """Exchange's value of one field of a difference: the recorded one, unless it is stale — Outlook edited the
    field again since the last pass (the meeting now differs from what the pass last saw: its current value), or
    the field changed since the difference was recorded (a later Outlook edit applied, or ROOMS changed again:
    the meeting's current value). Without the meeting (it cannot be read), the recorded value. Read as ROOMS
    reads a meeting (`room_as_listed`: the booking's room `room` listed as a required attendee is its room)."""
    recorded = getattr(room_as_listed(MeetingFields.from_json(d.exchange_state), room), name)
    if meeting is None:
        return recorded
    current = getattr(meeting, name)
    if synced is not None and current != getattr(synced, name):
        return current
    if getattr(booking, name) != getattr(MeetingFields.from_json(d.rooms_state), name):
        return current
    return recorded


def _exchange_changes(
    differences: list[Difference],
    meeting: MeetingFields | None,
    synced: MeetingFields | None,
    booking: Booking,
) -> dict[str, Any]:
    """The booking fields to take from Exchange, from every open difference of the booking (never a recorded
    value a later Outlook edit made stale)."""
    changes: dict[str, Any] = {}
    now = booking_fields(booking)
    meeting = room_as_listed(meeting, booking.room) if meeting is not None else None
    synced = room_as_listed(synced, booking.room) if synced is not None else None
    for d in differences:
        for name in d.fields:
            if occurrence_of_field(name) is not None:
                continue  # an occurrence: `_exchange_occurrences`
            value = _exchange_value(d, name, meeting, synced, now, booking.room)
            if name == "subject":
                changes["title"] = value
            elif name in ("start", "end", "reminder_minutes", "private", "free_busy"):
                changes[name] = value
            elif name == "attendees":
                changes["attendees"] = list(value)
            elif name == "room":
                changes["room"] = value
    return changes


def _exchange_occurrences(
    differences: list[Difference], booking: Booking, current: MeetingFields | None = None
) -> tuple[tuple[Occurrence, ...] | None, tuple[datetime, ...]]:
    """The booking's occurrences with Exchange's state of each occurrence a difference names (deleted: cancelled;
    else at Exchange's times, active), as recorded when the difference was found, and the original starts of
    those it moves; None when none names one. Each is ROOMS' occurrence of that original start, else ROOMS' one
    occurrence on the same day in the series' time zone (ROOMS moved the series' times since: its original starts
    moved with them, review25aa). One Exchange deleted since (`current`, the meeting as read now, its exceptions
    read) is taken deleted whatever was recorded: Exchange cannot bring it back, and a write onto it fails
    (review25aa). An occurrence Exchange moved that ROOMS' series no longer has (its pattern changed in ROOMS
    since) cannot be taken: refused, nothing changed (review25e b); one Exchange deleted that ROOMS has not is as
    ROOMS has it (no occurrence there) and is left out."""
    wanted: dict[datetime, str | tuple[datetime, datetime]] = {}
    for d in differences:
        exchange = MeetingFields.from_json(d.exchange_state)
        if exchange.series is None:
            continue
        duration = exchange.end - exchange.start
        states = occurrence_states(exchange.series, duration)
        for name in d.fields:
            original = occurrence_of_field(name)
            if original is not None:
                wanted[original] = occurrence_state(states, original, duration)
    if not wanted or booking.series is None:
        return None, ()
    zone = ZoneInfo(booking.series.time_zone)
    held = {whole_seconds(o.original_start): o for o in booking.series.occurrences}
    by_day: dict[date, list[datetime]] = {}
    for start in held:
        by_day.setdefault(start.astimezone(zone).date(), []).append(start)
    deleted_now = (
        {whole_seconds(c) for c in current.series.cancelled}
        if current is not None and current.series is not None and current.series.exceptions_read
        else set()
    )
    found: dict[datetime, str | tuple[datetime, datetime]] = {}
    for original, taken in sorted(wanted.items()):
        same_day = by_day.get(original.astimezone(zone).date(), [])
        key: datetime | None = original if original in held else None
        if key is None and len(same_day) == 1:
            key = same_day[0]
        if key is not None and (key in deleted_now or original in deleted_now):
            taken = "deleted"
        if key is None and not isinstance(taken, str):
            day = f"{original.astimezone(zone):%a %Y-%m-%d %H:%M}"
            raise OperationFailed(
                f"booking {booking.id}: Exchange moved the occurrence of {day} to "
                f"{local_span(taken[0], taken[1], zone)} ({zone.key}), and ROOMS' series has no "
                "occurrence on that day any more (its pattern or times changed in ROOMS); nothing was changed",
                f"book that time in ROOMS ('roomsops bookings update {booking.id} --occurrence DATE --start ... "
                "--end ...' of an occurrence it has), then resolve with --use rooms or ignore",
            )
        if key is not None:
            found[key] = taken
    out = []
    moved: list[datetime] = []
    for o in booking.series.occurrences:
        state = found.get(whole_seconds(o.original_start))
        if state is None:
            out.append(o)
        elif isinstance(state, str):
            out.append(replace(o, status="cancelled"))
        else:
            out.append(replace(o, start=state[0], end=state[1], status="active"))
            moved.append(o.original_start)
    return tuple(out), tuple(moved)


def _refuse_crossing(
    booking: Booking, occurrences: tuple[Occurrence, ...], moved: tuple[datetime, ...]
) -> None:
    """Each occurrence taken from Exchange at new times stays between its neighbours as ROOMS holds them (moved ones
    where they are now), never on or across their days nor overlapping them: one series never holds its room twice
    at once, and Exchange refuses such a write (ErrorOccurrenceCrossingBoundary; `bookings update --occurrence`
    refuses the same move, review25e c)."""
    if booking.series is None or not moved:
        return
    zone = ZoneInfo(booking.series.time_zone)
    series = replace(booking.series, occurrences=occurrences)
    by_start = {o.original_start: o for o in occurrences}
    for original in moved:
        o = by_start[original]
        try:
            repeats.check_move(series, o, o.start, o.end, zone)
        except InputError as exc:
            raise OperationFailed(
                f"booking {booking.id} cannot take Exchange's occurrences: {exc.message}; nothing was changed",
                "move the neighbouring occurrence in ROOMS first, or resolve with --use rooms or ignore",
            ) from None


def _refuse_taken_occurrences(
    conn: Connection, booking: Booking, occurrences: tuple[Occurrence, ...] | None, room_email: str | None
) -> None:
    """Exchange's occurrences taken only where the room is free in ROOMS at each active one (all or nothing)."""
    if occurrences is None or booking.series is None:
        return
    room = q.get_room(conn, room_email or "")
    if room is None:
        return
    try:
        repeats.refuse_conflicts(
            conn, room, occurrences, ZoneInfo(booking.series.time_zone), exclude_id=booking.id
        )
    except InputError as exc:
        raise OperationFailed(
            f"booking {booking.id} cannot take Exchange's occurrences: {exc.message}",
            "resolve with --use rooms or ignore",
        ) from None


def _save_occurrences(conn: Connection, booking: Booking, occurrences: tuple[Occurrence, ...]) -> Booking:
    series = booking.series
    assert series is not None
    new = NewSeries(series.pattern, series.range, series.time_zone, series.booked_until, occurrences)
    q.save_series(conn, booking.id, new)
    found = q.get_booking(conn, booking.id)
    assert found is not None
    return found


def resolve(
    store: Store, backend: CalendarBackend | None, booking_id: int, use: str, audit: AuditLog
) -> ResolveResult:
    if use not in RESOLUTIONS:
        raise InputError(f"--use {use!r} is not known", "use exchange, rooms or ignore")
    with store.read() as conn:
        differences = q.list_differences(conn, booking_id=booking_id)
        booking = q.get_booking(conn, booking_id)
        link = q.get_booking_sync(conn, booking_id)
    if not differences or booking is None:
        raise InputError(f"booking {booking_id} has no open difference", "see 'roomsops sync diff'")
    now = now_utc()
    declined: str | None = None
    if use == "exchange":
        resolved, declined = _use_exchange(store, backend, booking, link, differences, now)
    elif use == "rooms":
        if link is None or link.item_id is None:
            raise OperationFailed(
                f"booking {booking_id} has no meeting to reset", "run 'roomsops sync' first"
            )
        assert backend is not None
        _refuse_deleted_occurrences(backend, link, booking)
        exchange = MeetingFields.from_json(differences[-1].exchange_state)
        written = _write_meeting(backend, link, exchange, booking)  # no database lock while EWS answers
        with store.write() as conn:
            _record(conn, link, written, booking, now)
            resolved = q.resolve_differences(conn, booking_id, use, now)
    else:
        with store.write() as conn:
            resolved = q.resolve_differences(conn, booking_id, use, now)
    audit.record("sync:resolve", link.mailbox if link else "", {"booking": booking_id, "use": use}, "ok")
    return ResolveResult(booking_id=booking_id, use=use, resolved=resolved, room_declined=declined)


def _refuse_deleted_occurrences(backend: CalendarBackend, link: BookingSyncState, booking: Booking) -> None:
    """`--use rooms` of a series whose meeting no longer has an occurrence ROOMS holds (deleted in Outlook since the
    last pass): Exchange cannot bring back one occurrence, and writing it fails — refused before anything is written
    (review19x). The next pass takes the deletion (docs/series.md, "An occurrence deleted in Outlook is taken")."""
    if booking.series is None or link.item_id is None:
        return
    found = backend.get(link.mailbox, [link.item_id])
    if not found or found[0].fields is None or found[0].fields.series is None:
        return
    meeting = backend.series_exceptions(link.mailbox, found[0])
    assert meeting.fields is not None
    gone = deleted_in_outlook(booking, meeting.fields)
    if not gone:
        return
    tz = ZoneInfo(booking.series.time_zone)
    days = ", ".join(f"{o.original_start.astimezone(tz):%Y-%m-%d %H:%M}" for o in gone)
    raise InputError(
        f"booking {booking.id}: the occurrence(s) of {days} ({tz.key}) were deleted in Outlook, and Exchange cannot "
        "bring back one occurrence of a series, so ROOMS' side cannot be written",
        "run 'roomsops sync' (it cancels them in ROOMS and says how to book the slot again), then resolve again",
    )


def _use_exchange(
    store: Store,
    backend: CalendarBackend | None,
    booking: Booking,
    link: BookingSyncState | None,
    differences: list[Difference],
    now: datetime,
) -> tuple[int, str | None]:
    """`--use exchange`: the booking takes Exchange's state (all or nothing), then the meeting is written from it.
    The number of differences settled, and the room's decline reason when the room declined the meeting."""
    booking_id = booking.id
    declined: str | None = None
    read: Meeting | None = None
    if link is not None and link.item_id is not None and backend is not None:
        found = backend.get(link.mailbox, [link.item_id])
        if found and found[0].fields is not None:
            # The booking's room, wherever the meeting lists it (review20f); not listed, the room the snapshot
            # records (a ROOMS move not written yet, review20i), else the ROOMS room Outlook chose.
            with store.read() as conn:
                managed = [r.email for r in q.list_rooms(conn)]
            read = room_as_booked(found[0], booking.room, snapshot_room(link), managed)
            if booking.series is not None and read.fields is not None and read.fields.series is not None:
                # Its exceptions too (Graph: its instances): an occurrence deleted since is taken deleted.
                read = backend.series_exceptions(link.mailbox, read)
    current = read.fields if read is not None else None
    synced = MeetingFields.from_json(link.snapshot) if link is not None and link.snapshot else None
    changes = _exchange_changes(differences, current, synced, booking)
    if "room" in changes and not changes["room"]:
        # Exchange's state has no room (removed in Outlook): a ROOMS booking cannot be without one, and
        # keeping the booking's room would write it to the meeting again (a new request to the room).
        raise OperationFailed(
            f"the meeting of booking {booking_id} has no room in Exchange (removed in Outlook), and a ROOMS "
            "booking cannot be without one; nothing was changed",
            f"cancel the booking ('roomsops bookings cancel {booking_id}') to follow Exchange, or resolve with "
            "--use rooms (the room is invited again) or --use ignore",
        )
    room_email = changes.pop("room", None)
    with store.write() as conn:
        if room_email:
            room = q.get_room(conn, room_email)
            if room is None:
                raise OperationFailed(
                    f"the meeting's room {room_email} is not a ROOMS room",
                    "add it with 'roomsops rooms add', or resolve with --use rooms",
                )
            changes["room_id"] = room.id
        start, end = changes.get("start", booking.start), changes.get("end", booking.end)
        room_id = changes.get("room_id", booking.room_id)
        if q.overlapping_bookings(conn, room_id, start, end, exclude_id=booking.id):
            raise OperationFailed(
                f"the room is taken in ROOMS at the meeting's time; booking {booking_id} "
                "cannot take Exchange's state",
                "resolve with --use rooms or ignore",
            )
        occurrences, moved = _exchange_occurrences(differences, booking, current)
        if occurrences is not None:
            _refuse_crossing(booking, occurrences, moved)
        _refuse_taken_occurrences(conn, booking, occurrences, room_email or booking.room)
        updated = q.update_booking(conn, booking.id, changes, now)
        if occurrences is not None:
            updated = _save_occurrences(conn, booking, occurrences)
        resolved = q.resolve_differences(conn, booking_id, "exchange", now)
        revision = uuid.uuid4().hex
        if link is not None and link.item_id is not None and backend is not None:
            # The write's intent, with the booking's change (as the pass's `_update`): a write that fails or
            # whose answer is lost leaves `pending-update` and the booking's new version unsynced, so the next
            # pass writes the booking again — never takes a series as written because its master's fields
            # match (its exceptions are not compared; review25e a).
            _intent(conn, link, revision, now)
    # ROOMS won when the difference was found, so the meeting holds ROOMS' state: write the new one (no
    # database lock is held while EWS answers).
    if link is not None and link.item_id is not None and backend is not None:
        written_state = current or (MeetingFields.from_json(link.snapshot) if link.snapshot else None)
        written = _write_meeting(backend, link, written_state, updated, revision)
        answered = link
        if read is not None and written.revision != revision:
            # Nothing written: the meeting already holds Exchange's state, so no request reached its room, and
            # the room's answer on it is the answer to the meeting as it stands (issue 20: the answer is state).
            answered, declined = _room_answer(backend, link, read, updated)
            written = read  # recorded as read: its ChangeKey and revision
        with store.write() as conn:
            _record(conn, answered, written, updated, now)
    return resolved, declined


def _intent(conn: Connection, link: BookingSyncState, revision: str, now: datetime) -> None:
    """Store the intent of rewriting the meeting: `pending-update`, the revision about to be written and the
    read-back flag (a crash after the write leaves both: the next pass reads the meeting again and knows the write
    as its own). The link's other fields stay: `_record` replaces them once the write is answered."""
    q.save_booking_sync(
        conn, replace(link, state=PENDING_UPDATE, last_attempt=now, revision=revision, readback=True), now
    )


def _room_answer(
    backend: CalendarBackend, link: BookingSyncState, meeting: Meeting, booking: Booking
) -> tuple[BookingSyncState, str | None]:
    """The link as the meeting read by `--use exchange` stands, nothing written to it: its ChangeKey and revision,
    and the state by the booking's room's answer on it — `room-declined` with what is known of the reason (the
    decline of a room the booking now takes from Exchange, reported by every pass until settled), or linked. A
    decline read while a write of roomsops is not read back yet and nothing reached the item since (its ChangeKey
    still the write's) predates that write: the link is left to the pass, which waits for the room's new answer.
    The reason, or None when the room did not decline."""
    assert meeting.fields is not None
    if link.readback and meeting.change_key == link.change_key:
        return link, None
    linked = replace(link, change_key=meeting.change_key, revision=meeting.revision, readback=False)
    if link.state not in (LINKED, ROOM_DECLINED) or not booking.room:
        return linked, None
    if meeting.response_of(booking.room) != "Decline":
        return replace(linked, state=LINKED, last_error=None, error_count=0), None
    reason = decline_reason(
        backend, booking.room.lower(), meeting.fields.start, meeting.fields.end, via=link.mailbox or None
    )
    return replace(linked, state=ROOM_DECLINED, last_error=reason, error_count=0), reason


def _write_meeting(
    backend: CalendarBackend,
    link: BookingSyncState,
    current: MeetingFields | None,
    booking: Booking,
    revision: str | None = None,
) -> Meeting:
    """Rewrite the meeting (whose state is `current`) from the booking: the meeting as written (with `revision`
    only when something was written: nothing differed otherwise)."""
    assert link.item_id is not None
    meeting = Meeting(
        item_id=link.item_id, change_key=link.change_key or "", fields=current, revision=link.revision
    )
    # A new revision tag with the write; the next pass reads the meeting back (the snapshot becomes what
    # Exchange holds, docs/sync.md "Own writes are no edits").
    fields = room_kept_on_its_line(booking_fields(booking), current)  # a room on the To line stays there
    return backend.update(link.mailbox, meeting, fields, revision=revision or uuid.uuid4().hex)


def _record(
    conn: Connection, link: BookingSyncState, written: Meeting, booking: Booking, now: datetime
) -> None:
    """Record the rewritten meeting as synced."""
    q.save_booking_sync(
        conn,
        replace(
            link,
            change_key=written.change_key,
            # The meeting's UID stays with the snapshot (the room's copy is found by it, engine._orphan_copies), and
            # so do the rooms listed (a delete without cancellation frees each, engine._release_room).
            snapshot=booking_fields(booking).to_json()
            | {k: v for k, v in (link.snapshot or {}).items() if k in _KEPT and v}
            | _answer_times(link, written),
            synced_version=booking.version,
            revision=written.revision,
            readback=link.readback or written.revision != link.revision,
        ),
        now,
    )


def _answer_times(link: BookingSyncState, written: Meeting) -> dict[str, Any]:
    """The answer times the resolve's snapshot records: those of the meeting as read when nothing was written (its
    room's answer stands: without them `room_unanswered` said room-pending until the next pass read the meeting,
    review20i), else none — the room has not answered the write, and a new answer within the second of the old one
    must not be taken for the old one (`engine._answer_seen`)."""
    if written.answered:
        return {"answered": {address: written.answered_at(address) for address, _ in written.answered}}
    if written.revision == link.revision and link.snapshot and link.snapshot.get("answered"):
        return {"answered": link.snapshot["answered"]}
    return {}
