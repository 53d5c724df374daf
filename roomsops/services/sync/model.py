"""The meeting a ROOMS booking should be, and what an Exchange meeting means in ROOMS, in one canonical form.

Both sides are compared in this form only, so that what one side cannot hold never looks like an edit: Exchange
keeps whole seconds and at most 255 characters of a subject; ROOMS holds four free/busy values and no empty title.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from roomsops.adapters.store import FREE_BUSY, Booking, NewSeries, Occurrence, Series
from roomsops.core import recurrence
from roomsops.core.calendar import Exception_, Meeting, MeetingFields, SeriesFields, normalized_attendees
from roomsops.core.errors import InputError
from roomsops.services.rooms import series as repeats

#: The title a booking gets from a meeting whose Outlook subject is empty (ROOMS refuses empty titles).
DEFAULT_TITLE = "(no subject)"
#: Exchange keeps at most this many characters of a subject, and ROOMS of a title.
SUBJECT_LENGTH = 255
#: Outlook's "Show as" values ROOMS does not hold, and the ROOMS value each becomes. Working elsewhere means the
#: person is available (Free); "no data" says nothing, so the booking keeps ROOMS' default (Busy).
FREE_BUSY_FROM_EXCHANGE = {"WorkingElsewhere": "Free", "NoData": "Busy"}


class Unmappable(ValueError):
    """An Outlook value ROOMS has no place for: the item is parked with this reason."""


def whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def title_of(subject: str) -> str:
    """A booking title from an Outlook subject: cut as Exchange cuts it; empty becomes DEFAULT_TITLE."""
    cut = subject[:SUBJECT_LENGTH]
    return cut if cut.strip() else DEFAULT_TITLE


def free_busy_of(show_as: str) -> str:
    if show_as in FREE_BUSY:
        return show_as
    if show_as in FREE_BUSY_FROM_EXCHANGE:
        return FREE_BUSY_FROM_EXCHANGE[show_as]
    raise Unmappable(f"Outlook's free/busy value {show_as!r} has no ROOMS equivalent")


def from_exchange(fields: MeetingFields) -> MeetingFields:
    """A meeting's fields as ROOMS can hold them (what the booking would be), for every comparison and edit."""
    return replace(
        fields,
        subject=title_of(fields.subject),
        start=whole_seconds(fields.start),
        end=whole_seconds(fields.end),
        free_busy=free_busy_of(fields.free_busy),
    )


def booking_fields(booking: Booking) -> MeetingFields:
    """The meeting a booking should be (whole seconds: Exchange keeps no fractions, so none are compared)."""
    return MeetingFields(
        subject=title_of(booking.title),
        start=whole_seconds(booking.start),
        end=whole_seconds(booking.end),
        location=booking.room_name,
        room=booking.room.lower(),
        attendees=normalized_attendees(booking.attendees),
        reminder_minutes=booking.reminder_minutes,
        private=booking.private,
        free_busy=booking.free_busy,
        series=series_fields(booking),
    )


#: A ROOMS occurrence's own values (`Occurrence.changes`) as `MeetingFields` names them.
_OCCURRENCE_FIELDS = {
    "title": "subject",
    "private": "private",
    "reminder_minutes": "reminder_minutes",
    "free_busy": "free_busy",
}


def series_fields(booking: Booking) -> SeriesFields | None:
    """The series a booking's meeting should be (docs/series.md, "Sync of series"); None for a single booking.

    A series without end is written as a series ending on `booked_until`, the last day ROOMS holds occurrences
    for: a room with EnforceSchedulingHorizon $true (Exchange Online's default) declines a series without end
    whole, and Exchange then holds exactly the occurrences ROOMS checked for conflicts."""
    series = booking.series
    if series is None:
        return None
    rng = series.range
    if rng.type == recurrence.NO_END:
        rng = recurrence.Range(recurrence.END_DATE, rng.start_date, end_date=series.booked_until)
    occurrences = sorted(series.occurrences, key=lambda o: o.original_start)
    exceptions = tuple(
        Exception_(
            original_start=whole_seconds(o.original_start),
            start=whole_seconds(o.start),
            end=whole_seconds(o.end),
            changes=tuple(
                sorted(
                    (_OCCURRENCE_FIELDS[k], title_of(v) if k == "title" else v)
                    for k, v in o.changes.items()
                    if k in _OCCURRENCE_FIELDS
                )
            ),
        )
        for o in occurrences
        if o.status == "active" and (o.moved or o.changes)
    )
    return SeriesFields(
        pattern=series.pattern,
        range=rng,
        time_zone=series.time_zone,
        cancelled=tuple(whole_seconds(o.original_start) for o in occurrences if o.status != "active"),
        exceptions=exceptions,
        original_starts=tuple(whole_seconds(o.original_start) for o in occurrences),
    )


def ends_after(fields: MeetingFields, moment: datetime) -> bool:
    """Whether a meeting still has time after `moment`: a single meeting by its end; a series by its last
    occurrence (review19x), not by its master's Start and End, which are its first occurrence's — a weekly jour
    fixe that began months ago with occurrences still ahead ends after today. The range decides: an end date or a
    number of occurrences bounds the series (its occurrences deleted in Exchange, as read, left out; a moved one
    counts where it is), no end never ends. A series whose dates cannot be worked out (a time zone no table
    names) counts as ending after it: the sync judges it and reports what it cannot hold."""
    if fields.end > moment:
        return True
    series = fields.series
    if series is None:
        return False
    if any(e.end > moment for e in series.exceptions):
        return True
    if series.range.type == recurrence.NO_END:
        return True
    try:
        tz = ZoneInfo(series.time_zone)
        clock, wall = recurrence.wall_clock(fields.start, fields.end, tz)
        # Occurrences deleted or moved are judged apart (a moved one where it is, above).
        gone = set(series.cancelled) | {e.original_start for e in series.exceptions}
        # Every date up to the day after `moment` (local), and on to the last one deleted or moved: a date beyond
        # that is an occurrence after `moment`.
        last = max([moment, *gone]).astimezone(tz).date() + timedelta(days=1)
        dates = recurrence.series_dates(series.recurrence, last)
    except Exception:  # an unknown zone or a pattern out of the calendar: judged by the sync
        return True
    if not dates.complete:
        return True
    # Occurrences never overlap (Exchange refuses such a series): the last one left as the pattern has it ends last.
    for day in reversed(dates.dates):
        start, end = recurrence.occurrence(day, clock, wall, tz)
        if whole_seconds(start) not in gone:
            return end > moment
    return False


def room_as_listed(fields: MeetingFields, room: str | None, aliases: Iterable[str] = ()) -> MeetingFields:
    """A synced meeting's fields as ROOMS reads them (docs/sync.md "One synced room per meeting"): the booking's
    room `room` (or one of its `aliases` seen in the pass) listed as a required attendee — moved in Outlook from
    the Resources line to the To line, or typed there — is still invited and holds the slot: it is the meeting's
    room, whatever the first resource (another room there is a second room, `_booking_second_rooms`), and no
    attendee. Only for comparing and recording: what roomsops writes is computed from the meeting as read."""
    if not room:
        return fields
    primary = room.lower()
    listed = {primary} | {a.lower() for a in aliases}
    if not listed & set(fields.attendees):
        if fields.room and fields.room in fields.attendees:
            # Another room read as the meeting's room on the To line (a ROOMS room Outlook swapped in there,
            # `room_as_booked`): a room change, never an attendee added (review20m).
            return replace(fields, attendees=tuple(a for a in fields.attendees if a != fields.room))
        return fields
    # Listed on the To line (and perhaps as a resource too): the room, never an attendee.
    kept = fields.room if fields.room in listed else primary
    return replace(fields, room=kept, attendees=tuple(a for a in fields.attendees if a not in listed))


def room_kept_on_its_line(target: MeetingFields, held: MeetingFields | None) -> MeetingFields:
    """The fields to write for a booking (`target`) to a meeting that holds `held` (as recorded: `room_as_booked`):
    the booking's room that the meeting lists as a required attendee (moved in Outlook to the To line) and that
    the booking keeps stays there — the required attendees written are the booking's and that room, so a write of
    another field neither takes the room off the meeting nor puts it on the Resources line. A room change replaces
    it: the old room, not among the attendees written, leaves the To line, the new one is written as a resource
    (review20i)."""
    if held is None or not held.room or held.room not in held.attendees or target.room != held.room:
        return target
    return replace(target, attendees=tuple(sorted({*target.attendees, held.room})))


def room_as_booked(
    meeting: Meeting, room: str | None, before: str | None = None, rooms: Collection[str] = ()
) -> Meeting:
    """A synced meeting as its booking holds it (docs/sync.md "One synced room per meeting"): the booking's room
    `room` listed as a resource, but not first (after a room ROOMS does not manage, or a ROOMS room that declined),
    is the meeting's room — Exchange's first resource is only `fields.room` as read. Recorded so in the link's
    snapshot and compared so: otherwise the first ROOMS write of any field took the room for changed and rewrote
    the resources, taking the other room off the meeting (review20f). A room write replaces only this room
    (`core.calendar.replaced_room`). `before`: the room the link's snapshot records (the room booked before a
    ROOMS room change whose write has not landed yet): when the booking's room is not listed, the meeting still
    holds `before` as its room wherever it is listed — a move whose write failed is no Outlook room change to the
    room listed first (review20g). Either is looked for wherever the meeting lists it: a resource, a required
    attendee (moved in Outlook to the To line), an optional attendee (review20i). Neither listed (a room changed in
    Outlook): the first resource that is a ROOMS room (`rooms`, primary addresses) is the room Outlook chose, not a
    room ROOMS does not manage listed before it (review20i) — else the first ROOMS room on the To line, else on the
    Optional line (a ROOMS room swapped in there beside a room ROOMS does not manage, review20m: "every resource and
    required attendee is examined"); else Exchange's first resource. A room so read on the To line stays among
    the attendees as read (`room_as_listed` takes it out for comparing; a write keeps it there)."""
    fields = meeting.fields
    if fields is None:
        return meeting
    for candidate in (room, before):
        if not candidate:
            continue
        primary = candidate.lower()
        if fields.room == primary:
            return meeting
        if primary in meeting.resources or primary in fields.attendees or primary in meeting.optional:
            return replace(meeting, fields=replace(fields, room=primary))
    managed = {r.lower() for r in rooms}
    listed = (*meeting.resources, *fields.attendees, *meeting.optional)
    chosen = next((r for r in listed if r in managed), None)
    if chosen is not None and chosen != fields.room:
        return replace(meeting, fields=replace(fields, room=chosen))
    return meeting


def zero_length(fields: MeetingFields) -> bool:
    """Whether a meeting, or one of its series' moved occurrences, lasts no time (ROOMS cannot hold it)."""
    if fields.end <= fields.start:
        return True
    return fields.series is not None and any(e.end <= e.start for e in fields.series.exceptions)


def series_from_exchange(
    fields: MeetingFields,
    now: datetime,
    horizon_days: int,
    ours: Series | None = None,
    as_written: SeriesFields | None = None,
    exchange_cancels: bool = False,
) -> NewSeries:
    """The ROOMS series an Exchange series is (docs/series.md, "Outlook edits of a series"), by original start:
    Exchange's deleted occurrences cancelled, its modified ones at their times with their own values. A series ROOMS
    holds (`ours`) whose pattern, range and first occurrence's times Exchange still has as ROOMS wrote them
    (`as_written`: `series_fields` of the booking) keeps its occurrence rows (and stays a series without end if it
    was one; one cancelled in ROOMS stays cancelled); otherwise the pattern is expanded anew in the series' time zone
    at the first occurrence's wall-clock times, up to the booking horizon for a series without end. Exchange's own
    values of an exception are taken where the backend read them (Graph's instances); where not (EWS's
    ModifiedOccurrences carry times only) an occurrence keeps the values ROOMS holds for it. Raises `InputError` for
    a series ROOMS cannot hold (beyond the horizon, overlapping occurrences, none left). `exchange_cancels` (ROOMS
    has nothing unwritten): a kept series' occurrences are cancelled as Exchange's are, not as ROOMS held them —
    an occurrence Outlook brought back (a pattern set again drops every deleted occurrence) is active again, not
    left cancelled in ROOMS while the meeting shows it (soak seed 25062, series36)."""
    series = fields.series
    assert series is not None
    if zero_length(fields):
        # ROOMS cannot hold an occurrence without duration (CHECK end > start): no database error (review25v).
        raise InputError(
            "the series or one of its occurrences lasts no time in Outlook (a booking needs an end after its "
            "start)",
            "give it an end after its start in Outlook",
        )
    tz = ZoneInfo(series.time_zone)
    clock, wall = recurrence.wall_clock(fields.start, fields.end, tz)
    kept = (
        ours is not None
        and as_written is not None
        and series == as_written
        and ours.occurrences
        and whole_seconds(min(o.original_start for o in ours.occurrences)) == fields.start
    )
    known = {whole_seconds(o.original_start): o for o in (ours.occurrences if ours else ())}
    if kept:
        assert ours is not None
        base = tuple(sorted(ours.occurrences, key=lambda o: o.original_start))
        pattern, rng, zone, booked_until = ours.pattern, ours.range, ours.time_zone, ours.booked_until
    else:
        rec = series.recurrence
        horizon = repeats.horizon_date(tz, horizon_days, now)
        base = repeats.plan(rec, fields.start, fields.end, tz, horizon, horizon_days)
        last = base[-1].original_start.astimezone(tz).date()
        pattern, rng, zone = rec.pattern, rec.range, series.time_zone
        booked_until = horizon if rec.range.type == recurrence.NO_END else last
    cancelled = set(series.cancelled)
    exceptions = {e.original_start: e for e in series.exceptions}
    occurrences: list[Occurrence] = []
    for o in base:
        key = whole_seconds(o.original_start)
        # Its end at the series' wall-clock end, as Exchange expands it: on the night clocks go back an occurrence
        # in the repeated hour lasts an hour more than the first one (review25v), not the same absolute duration.
        day = o.original_start.astimezone(tz).date()
        plain = Occurrence(
            original_start=o.original_start,
            start=o.original_start,
            end=recurrence.occurrence(day, clock, wall, tz)[1],
        )
        if key in cancelled or (kept and o.status != "active" and not exchange_cancels):
            occurrences.append(replace(plain, status="cancelled"))
            continue
        exception = exceptions.get(key)
        if exception is None:
            occurrences.append(plain)
            continue
        if series.changes_read:
            changes = own_values(fields, {_ROOMS_FIELD[name]: value for name, value in exception.changes})
        else:
            changes = dict(known[key].changes) if key in known else {}
        occurrences.append(replace(plain, start=exception.start, end=exception.end, changes=changes))
    if all(o.status != "active" for o in occurrences):
        raise InputError(
            "the series has no occurrence left that ROOMS holds (every one is deleted)",
            "cancel the meeting in Outlook instead",
        )
    return NewSeries(pattern, rng, zone, booked_until, tuple(occurrences))


def occurrence_rows(occurrences: Iterable[Occurrence]) -> list[tuple[Any, ...]]:
    """Occurrences as compared between ROOMS and Exchange: by original start, whole seconds, their own values."""
    return sorted(
        (
            whole_seconds(o.original_start),
            whole_seconds(o.start),
            whole_seconds(o.end),
            o.status,
            tuple(sorted(o.changes.items())) if o.status == "active" else (),
        )
        for o in occurrences
    )


#: `MeetingFields` names of an occurrence's own values as ROOMS' `Occurrence.changes` names them.
_ROOMS_FIELD = {v: k for k, v in _OCCURRENCE_FIELDS.items()}


def own_values(fields: MeetingFields, changes: dict[str, Any]) -> dict[str, Any]:
    """An occurrence's own values without those equal to the series' (a value the series has is no change)."""
    series_values = {
        "title": title_of(fields.subject),
        "private": fields.private,
        "reminder_minutes": fields.reminder_minutes,
        "free_busy": free_busy_of(fields.free_busy),
    }
    mapped = {
        k: (title_of(v) if k == "title" else free_busy_of(v) if k == "free_busy" else v)
        for k, v in changes.items()
    }
    return {k: v for k, v in mapped.items() if k in series_values and series_values[k] != v}


#: A difference's field naming one occurrence of a series (docs/series.md, "Differences of a series"):
#: `occurrence:` and its original start, UTC ISO 8601.
OCCURRENCE_FIELD = "occurrence:"


def occurrence_field(original_start: datetime) -> str:
    return OCCURRENCE_FIELD + whole_seconds(original_start).isoformat()


def occurrence_of_field(name: str) -> datetime | None:
    """The original start (UTC) a difference's field names, or None for a field of the whole meeting or series."""
    if not name.startswith(OCCURRENCE_FIELD):
        return None
    return whole_seconds(datetime.fromisoformat(name.removeprefix(OCCURRENCE_FIELD)))


#: One occurrence as a link's snapshot, a read and a difference record it: "deleted", or its (start, end) (UTC,
#: whole seconds) — the pattern's times for an occurrence that is no exception.
OccurrenceState = str | tuple[datetime, datetime]


def occurrence_states(series: SeriesFields, duration: Any) -> dict[datetime, OccurrenceState]:
    """The deleted and moved occurrences of a series, by original start (UTC, whole seconds); an exception at its
    pattern's times (one set back, or one with own values alone, which a snapshot does not record) is left out:
    it reads as none."""
    states: dict[datetime, OccurrenceState] = {}
    for e in series.exceptions:
        key = whole_seconds(e.original_start)
        times = (whole_seconds(e.start), whole_seconds(e.end))
        if times != (key, key + duration):
            states[key] = times
    for c in series.cancelled:
        states[whole_seconds(c)] = "deleted"
    return states


def occurrence_state(
    states: dict[datetime, OccurrenceState], original_start: datetime, duration: Any
) -> OccurrenceState:
    key = whole_seconds(original_start)
    return states.get(key, (key, key + duration))


def occurrences_edited(
    before: SeriesFields, after: SeriesFields, duration_before: Any, duration_after: Any
) -> tuple[datetime, ...]:
    """The original starts of the occurrences whose state (deleted, or their times) differs between two reads of a
    series with the same pattern and range, in order."""
    old, new = occurrence_states(before, duration_before), occurrence_states(after, duration_after)
    return tuple(
        key
        for key in sorted(set(old) | set(new))
        if occurrence_state(old, key, duration_before) != occurrence_state(new, key, duration_after)
    )
