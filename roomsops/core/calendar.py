"""The calendar vocabulary the sync and every calendar backend speak: meetings, changes, invitations, errors.

No third-party types: a backend (EWS today, Microsoft Graph next) translates its own into these. What a backend
must do with them is the port, `roomsops.services.sync.backend.CalendarBackend`; these live in core so that
adapters can speak them without importing a service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.recurrence import WEEKDAYS, Pattern, Range, Recurrence

#: Fields that flow both ways; room and attendee changes made in Outlook are recorded as differences.
SYNCED_FIELDS = ("subject", "start", "end", "reminder_minutes", "private", "free_busy")
#: Every field of a meeting the sync writes.
ALL_FIELDS = (
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


def booking_tag(booking_id: int, key: str | None) -> str:
    """The booking tag a meeting carries: `<booking id>:<key>`, the key a random value the booking got when it was
    made, so that a booking id given again (a data folder restored from a backup) never names another booking's
    meeting; a booking made before keys existed (schema 7 and older) keeps its plain `<booking id>` tag."""
    return f"{booking_id}:{key}" if key else str(booking_id)


def tagged_booking_id(tag: str | None) -> int | None:
    """The booking id a booking tag names (`12` or `12:<key>`); None for no tag or a tag roomsops did not write.
    The id alone proves nothing: a meeting belongs to a booking only if its whole tag is the booking's
    (`booking_tag`), or if it is the very item the booking's link records."""
    head, _, key = (tag or "").partition(":")
    if not head.isascii() or not head.isdigit() or (_ and not key):
        return None
    return int(head)


@dataclass(frozen=True)
class Exception_:
    """One occurrence of a series written as an exception (docs/series.md, "Sync of series"): by its original start
    (UTC), its own times and the values it alone changed (title, private, reminder_minutes, free_busy)."""

    original_start: datetime
    start: datetime
    end: datetime
    changes: tuple[tuple[str, Any], ...] = ()
    #: As read from EWS: the occurrence's own ItemId (ModifiedOccurrences), to read its own values.
    item_id: str | None = field(default=None, compare=False)


#: The values an occurrence may hold of its own (docs/series.md); the others are always its series'.
OCCURRENCE_VALUES = ("subject", "private", "reminder_minutes", "free_busy")


def occurrence_values(
    fields: MeetingFields, changes: tuple[tuple[str, Any], ...], refresh: Iterable[str] = ()
) -> dict[str, Any]:
    """The values to write on one occurrence of the series `fields`: its own (`changes`), and the series' values of
    `refresh` where it has none of its own. An exception keeps the values it was given when its master changes
    (MS-OXOCAL 2.2.1.44.2: an ExceptionInfo overrides what its OverrideFlags name), so a series value changed for
    the whole series is written again on every exception that had one of its own (docs/series.md)."""
    values = {name: getattr(fields, name) for name in refresh if name in OCCURRENCE_VALUES}
    values.update(dict(changes))
    return values


@dataclass(frozen=True)
class SeriesFields:
    """What makes a meeting a series: its pattern and range (compared, as both services read them back on the
    master), and what is written with them but not compared (docs/series.md: the sync re-applies every exception on
    each write of a series): the time zone its dates and wall-clock times are in, the original starts (UTC) of its
    cancelled occurrences, and its moved or changed occurrences (`Exception_`). `index` gives each occurrence's
    1-based position in the series (EWS InstanceIndex), cancelled ones counted."""

    pattern: Pattern
    range: Range
    time_zone: str = field(default="UTC", compare=False)
    cancelled: tuple[datetime, ...] = field(default=(), compare=False)
    exceptions: tuple[Exception_, ...] = field(default=(), compare=False)
    #: Every occurrence's original start (UTC), in order (cancelled ones too): InstanceIndex is the position + 1.
    original_starts: tuple[datetime, ...] = field(default=(), compare=False)
    #: Read from Exchange: whether `exceptions` carry their own values (Graph's instances do; EWS's
    #: ModifiedOccurrences carry times only), and whether `cancelled`/`exceptions` were read at all.
    changes_read: bool = field(default=False, compare=False)
    exceptions_read: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", canonical_pattern(self.pattern))

    @property
    def recurrence(self) -> Recurrence:
        return Recurrence(self.pattern, self.range, self.time_zone)

    def index(self, original_start: datetime) -> int:
        """EWS's InstanceIndex of the occurrence at `original_start` (1-based); ValueError when it has none."""
        return self.original_starts.index(original_start) + 1

    def to_json(self) -> dict[str, Any]:
        p, r = self.pattern, self.range
        return {
            "pattern": {
                "type": p.type,
                "interval": p.interval,
                "days_of_week": list(p.days_of_week),
                "day_of_month": p.day_of_month,
                "index": p.index,
                "month": p.month,
                "first_day_of_week": p.first_day_of_week,
            },
            "range": {
                "type": r.type,
                "start_date": r.start_date.isoformat(),
                "end_date": r.end_date.isoformat() if r.end_date else None,
                "number_of_occurrences": r.number_of_occurrences,
            },
            "time_zone": self.time_zone,
            # What Exchange held of the exceptions when the link was synced (docs/series.md, "Outlook edits of a
            # series"): a write sets back an exception ROOMS no longer has.
            **({"cancelled": [_z(c) for c in self.cancelled]} if self.cancelled else {}),
            **(
                {"exceptions": [[_z(e.original_start), _z(e.start), _z(e.end)] for e in self.exceptions]}
                if self.exceptions
                else {}
            ),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SeriesFields:
        p, r = data["pattern"], data["range"]
        return cls(
            pattern=Pattern(
                type=str(p["type"]),
                interval=int(p.get("interval") or 1),
                days_of_week=tuple(p.get("days_of_week") or ()),
                day_of_month=p.get("day_of_month"),
                index=p.get("index"),
                month=p.get("month"),
                first_day_of_week=str(p.get("first_day_of_week") or "monday"),
            ),
            range=Range(
                type=str(r["type"]),
                start_date=date.fromisoformat(r["start_date"]),
                end_date=date.fromisoformat(r["end_date"]) if r.get("end_date") else None,
                number_of_occurrences=r.get("number_of_occurrences"),
            ),
            time_zone=str(data.get("time_zone") or "UTC"),
            cancelled=tuple(datetime.fromisoformat(c) for c in data.get("cancelled") or ()),
            exceptions=tuple(
                Exception_(datetime.fromisoformat(o), datetime.fromisoformat(b), datetime.fromisoformat(e))
                for o, b, e in data.get("exceptions") or ()
            ),
        )


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def canonical_pattern(pattern: Pattern) -> Pattern:
    """A pattern as both services read it back: days in week order; where a week starts matters only for a weekly
    pattern repeating every two weeks or more (Graph answers a default for the others)."""
    days = tuple(d for d in WEEKDAYS if d in pattern.days_of_week)
    weekly_every = pattern.type == "weekly" and pattern.interval > 1
    return replace(
        pattern, days_of_week=days, first_day_of_week=pattern.first_day_of_week if weekly_every else "monday"
    )


@dataclass(frozen=True)
class MeetingFields:
    """What the sync compares of a meeting, in one canonical form (UTC times, lower-case sorted addresses)."""

    subject: str
    start: datetime  # UTC
    end: datetime  # UTC
    location: str
    room: str  # the room mailbox, lower case
    attendees: tuple[str, ...]  # required attendees, lower case, sorted
    reminder_minutes: int | None
    private: bool
    free_busy: str
    #: The series this meeting is (its master's recurrence), None for a single meeting (docs/series.md).
    series: SeriesFields | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(replace(self, series=None))
        data["start"] = self.start.astimezone(UTC).isoformat()
        data["end"] = self.end.astimezone(UTC).isoformat()
        data["attendees"] = list(self.attendees)
        del data["series"]
        if self.series is not None:
            data["series"] = self.series.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeetingFields:
        return cls(
            subject=str(data["subject"]),
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            location=str(data.get("location", "")),
            room=str(data.get("room", "")),
            attendees=tuple(data.get("attendees", ())),
            reminder_minutes=data.get("reminder_minutes"),
            private=bool(data.get("private")),
            free_busy=str(data.get("free_busy", "Busy")),
            series=SeriesFields.from_json(data["series"]) if data.get("series") else None,
        )

    def differs(self, other: MeetingFields, fields: tuple[str, ...] = SYNCED_FIELDS) -> list[str]:
        return [name for name in fields if getattr(self, name) != getattr(other, name)]


_T = TypeVar("_T")


def normalized_attendees(addresses: Iterable[object]) -> tuple[str, ...]:
    return tuple(sorted({str(a).strip().lower() for a in addresses if str(a).strip()}))


def replaced_room(
    held: Iterable[_T], address: Callable[[_T], str], old: str, room: str, new: Callable[[], _T]
) -> list[_T]:
    """A meeting's resources (`held`, as the backend holds them) with the booking's room written: the room the
    meeting had (`old`, `MeetingFields.room` as synced) replaced where it is listed by `room` (None of it when
    `room` is empty), every other resource kept as it is, in its place — a room ROOMS does not manage, a second
    ROOMS room the sync reports; `room` first when the old room is not listed. A room write never takes another
    room off the meeting (review20f: a rename took off the room listed before the booking's)."""
    old, room = old.lower(), room.lower()
    out: list[_T] = []
    placed = False
    for entry in held:
        listed = address(entry)
        if listed in (old, room) and listed:
            if room and not placed:
                out.append(entry if listed == room else new())
                placed = True
            continue
        out.append(entry)
    if room and not placed:
        out.insert(0, new())
    return out


#: An attendee's response that is no answer (EWS ResponseType; Graph's none/notResponded map to these).
NO_ANSWER = frozenset({"Unknown", "NoResponseReceived", "Organizer"})


@dataclass(frozen=True)
class Meeting:
    """A calendar item as the sync needs it."""

    item_id: str
    change_key: str
    fields: MeetingFields | None
    installation: str | None = None  # the tag: which roomsops installation wrote it
    booking_id: str | None = None  # the booking tag, as written (`booking_tag`): `12:<key>`, or `12` (older)
    organizer: str | None = None  # lower case
    is_cancelled: bool = False
    is_all_day: bool = False
    is_recurring: bool = False
    room_response: str | None = None  # Accept | Decline | Tentative | Unknown | NoResponseReceived
    #: Every resource attendee (lower case, in the meeting's order): `fields.room` is the first only.
    resources: tuple[str, ...] = ()
    #: (address, response) of every resource, required and optional attendee, as the organizer's item records
    #: them.
    responses: tuple[tuple[str, str], ...] = ()
    #: Why the backend could not read the item's fields (`fields` is None then): the sync parks the item.
    problem: str | None = None
    revision: str | None = None  # the revision tag of roomsops' last write (None: none written)
    #: The meeting's UID (iCalendar UID): the same on the organizer's item and every attendee's and room's copy.
    uid: str | None = None
    #: Optional attendees (lower case, in the meeting's order): a room may be listed there too.
    optional: tuple[str, ...] = ()
    #: (address, when) of each attendee's latest answer as the organizer's item records it (EWS LastResponseTime,
    #: Graph responseStatus.time; UTC, ISO text): tells one answer from a later one that says the same.
    answered: tuple[tuple[str, str], ...] = ()

    def response_of(self, address: str, *aliases: str) -> str | None:
        """The answer the attendee `address` (or one of its `aliases`) gave, as the organizer's item records it
        (None: not invited). An attendee listed more than once (a room on the Resources line and on the To line)
        answers on one entry only, the others saying Unknown: its answer is taken from any of its entries — an
        answer beats none; of entries that disagree, Decline only when it is the newest answer (docs/sync.md
        "One synced room per meeting")."""
        wanted = {address.lower(), *(a.lower() for a in aliases)}
        entries = [r for a, r in self.responses if a in wanted]
        if not entries:
            return self.room_response if self.fields is not None and self.fields.room in wanted else None
        answers = [r for r in entries if r not in NO_ANSWER]
        if not answers:
            return entries[0]
        if len(set(answers)) == 1:
            return answers[0]
        others = [r for r in answers if r != "Decline"]
        times = [when for a, when in self.answered if a in wanted]
        if len(times) != len(answers):  # which answer is the newest cannot be told: a Decline does not win
            return others[0]
        timed = list(zip(times, answers, strict=True))
        declined = max(t for t, r in timed if r == "Decline")
        newest_other = max((t, r) for t, r in timed if r != "Decline")
        return "Decline" if declined > newest_other[0] else newest_other[1]

    def answered_at(self, address: str) -> str | None:
        """When the attendee `address` last answered, as the organizer's item records it (None: not known); listed
        more than once, its newest answer."""
        wanted = address.lower()
        return max((when for a, when in self.answered if a == wanted), default=None)

    def invites(self, address: str) -> bool:
        """Whether `address` is listed on the meeting: a resource, a required or an optional attendee."""
        wanted = address.lower()
        fields = self.fields
        return (
            wanted in self.resources
            or wanted in self.optional
            or (fields is not None and (wanted == fields.room or wanted in fields.attendees))
        )


#: How long before the sync window's start a linked meeting is still watched where the backend's changes cover a
#: window only (Graph's calendarView delta, whose round starts this much before the sync window: Graph itself reports
#: the change or deletion of a meeting moved there in Outlook, or just over, at no extra request). Older ones are
#: settled by the full reconciliation (`sync.full_every`).
PAST_WATCH = timedelta(days=31)


@dataclass(frozen=True)
class Candidate:
    """A meeting a from-scratch read of changes saw that may become a new booking: a single meeting or a series'
    master (never an occurrence alone) the mailbox organizes, with attendees (rooms are attendees), not cancelled, whose tag that read could not tell or
    that carries none. Its start and end (UTC) place it in the sync window; None: not known (it is read anyway)."""

    item_id: str
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class Changes:
    """What changed in a calendar since a state (ids only), and the state to continue from."""

    changed: list[tuple[str, str]] = field(default_factory=list)  # (item id, change key), created or updated
    deleted: list[str] = field(default_factory=list)
    state: str | None = None
    invalid_state: bool = False
    # The changes cover only meetings that start before this (Graph's calendarView delta reads the sync
    # window): the sync reads its linked meetings from there on itself. None: the whole calendar (EWS).
    covers_until: datetime | None = None
    # ... and only meetings that end after this (Graph: the delta round's start, `PAST_WATCH` before the sync
    # window's): the sync reads itself its linked meetings that ended before it and less than `PAST_WATCH` before
    # the sync window's start (none while the round starts there). None: the whole calendar (EWS).
    covers_from: datetime | None = None
    # From scratch only (`changes(mailbox, None)`): the meetings that read saw that may become new bookings (a
    # superset of the untagged ones that can), so that a first pass discovers them without a read of the whole
    # window (`find_untagged`); None: the backend does not tell them (the engine then calls `find_untagged`).
    candidates: list[Candidate] | None = None


class Invitations(StrEnum):
    """`sync.send_invitations`: whether attendees and rooms are told of what the sync writes. A closed set: an
    unknown value is refused, never read as "none" (which would delete meetings instead of cancelling them)."""

    ALL = "all"  # invitations, updates and cancellations are sent; the room answers them
    NONE = "none"  # nothing is sent; a cancelled booking's meeting is deleted

    @classmethod
    def of(cls, value: str, where: str = "sync.send_invitations") -> Invitations:
        try:
            return cls(value)
        except ValueError:
            allowed = " or ".join(member.value for member in cls)
            raise InputError(f"{where} = {value!r} is not allowed: use {allowed}") from None


# --- errors: what a backend raises, whatever service it talks to ---------------------------------------------


class BackendError(OperationFailed):
    """A calendar call failed for one mailbox (exit 1). `reason` is a stable code shared by backends
    (throttled, access_denied, ...); `code` is the backend's own (e.g. ews_throttled), shown in reports."""

    def __init__(
        self, reason: str, mailbox: str, detail: str, remedy: str | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(f"{mailbox}: {detail}", remedy, code=code or reason)
        self.reason = reason
        self.mailbox = mailbox
        self.detail = detail


class WriteOutcomeUnknown(BackendError):
    """A write got no answer: it may have been applied. Never resend it blindly; look the item up by its tag."""


class ItemGone(BackendError):
    """The item does not exist (any more): deleted in Outlook, or already cancelled."""


class SyncStateInvalid(BackendError):
    """The service no longer accepts a stored sync state: the sync starts from scratch and reconciles by tag."""


class MailboxUnavailable(BackendError):
    """The mailbox cannot be worked on now (no such mailbox, access refused, throttled): the pass stops for the
    whole mailbox instead of failing each of its bookings."""


class AccessDenied(MailboxUnavailable):
    """The app may not work in this mailbox (a policy, a management scope, impersonation, the API switched off)."""


class Throttled(MailboxUnavailable):
    """The service kept asking to come back later beyond the backend's retry budget."""


def with_resets(fields: MeetingFields, before: MeetingFields | None) -> MeetingFields:
    """A series' fields to write with the exceptions Exchange held before (`before`, as last read or written) that
    ROOMS no longer has set back to the pattern's times (docs/series.md, "Outlook edits of a series"): an occurrence
    moved back to its pattern's time in ROOMS, or an Outlook move ROOMS refused, is written at its original start
    (Exchange keeps it an exception there, which reads as no exception: `pattern_exceptions`). Nothing to set back
    when the recurrence is rewritten (Exchange drops every exception then). The exceptions come in the order they
    are to be written (`in_write_order`)."""
    series = fields.series
    if series is None:
        return fields
    old = before.series if before is not None else None
    if old is None or series != old:
        ordered = in_write_order(
            series.exceptions, {}
        )  # rewritten: every occurrence is at its pattern's times
        return (
            fields
            if ordered == series.exceptions
            else replace(fields, series=replace(series, exceptions=ordered))
        )
    kept = {e.original_start for e in series.exceptions} | set(series.cancelled)
    duration = fields.end - fields.start
    resets = tuple(
        Exception_(e.original_start, e.original_start, e.original_start + duration)
        for e in old.exceptions
        if e.original_start not in kept
        and (e.start, e.end) != (e.original_start, e.original_start + duration)
        and (not series.original_starts or e.original_start in series.original_starts)
    )
    held = {e.original_start: e.start for e in old.exceptions}
    ordered = in_write_order((*series.exceptions, *resets), held)
    if ordered == series.exceptions:
        return fields
    return replace(fields, series=replace(series, exceptions=ordered))


def in_write_order(
    exceptions: Iterable[Exception_], held: dict[datetime, datetime]
) -> tuple[Exception_, ...]:
    """A series' exceptions in an order Exchange accepts one write after the other: an occurrence moves only between
    its neighbours as they stand at that write (EWS ErrorOccurrenceCrossingBoundary, docs/series.md), so one moved
    onto a day a neighbour leaves is written after that neighbour. `held`: where Exchange holds each occurrence now
    (by original start; absent: at its original start). The occurrences moving earlier are written first, earliest
    first, then those moving later (or staying), latest first: each write then meets its neighbours either where
    they end up or where they stand, on its side of both, when the series as held and the series as written each
    keep their occurrences in order (review25e)."""
    listed = list(exceptions)

    def now(e: Exception_) -> datetime:
        return held.get(e.original_start, e.original_start)

    earlier = sorted((e for e in listed if e.start < now(e)), key=lambda e: (e.start, e.original_start))
    later = sorted(
        (e for e in listed if e.start >= now(e)), key=lambda e: (e.start, e.original_start), reverse=True
    )
    return (*earlier, *later)
