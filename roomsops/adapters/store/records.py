"""The rows of the ROOMS database as frozen dataclasses (what the store returns and the results render).

Field names are the stable snake_case keys of the `--json` output; internal ids are left out of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from roomsops.core.recurrence import Pattern, Range
from roomsops.core.vocabulary import SYNCED_MODES

_INTERNAL: dict[str, Any] = {"json": False}


def email_key(email: str) -> str:
    """The key addresses are unique by: Exchange treats SMTP addresses case-insensitively."""
    return email.strip().lower()


@dataclass(frozen=True)
class PersonFields:
    """A person as written: validated values for every column (see `rooms.person_fields`)."""

    email: str
    name: str
    sync_mode: str
    sync_url: str | None
    conflict_behaviour: str

    @property
    def key(self) -> str:
        return email_key(self.email)


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    sync_mode: str
    sync_url: str | None
    conflict_behaviour: str
    handled_by_sync: bool = field(init=False)
    id: int = field(default=0, metadata=_INTERNAL)

    def __post_init__(self) -> None:
        object.__setattr__(self, "handled_by_sync", self.sync_mode in SYNCED_MODES)

    @property
    def fields(self) -> PersonFields:
        return PersonFields(self.email, self.name, self.sync_mode, self.sync_url, self.conflict_behaviour)


@dataclass(frozen=True)
class Room:
    email: str
    name: str
    sync_master: bool
    id: int = field(default=0, metadata=_INTERNAL)


@dataclass(frozen=True)
class NewBooking:
    """A validated booking to insert (ids resolved, times UTC-aware)."""

    organizer_id: int
    room_id: int
    title: str
    start: datetime
    end: datetime
    attendees: tuple[str, ...] = ()
    private: bool = False
    reminder_minutes: int | None = None
    free_busy: str = "Busy"
    status: str = "active"


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a series, known by its original start (as Exchange knows an exception)."""

    original_start: datetime
    start: datetime
    end: datetime
    status: str = "active"  # active | cancelled (a deleted occurrence in Exchange)
    #: The fields this occurrence alone has changed (title, private, reminder_minutes, free_busy) with their values.
    changes: dict[str, Any] = field(default_factory=dict)
    #: Moved: its start or end is not the pattern's (set by the store from the series' wall-clock times).
    moved: bool = False


@dataclass(frozen=True)
class Series:
    """A booking's recurrence (`core.recurrence`: Graph's patternedRecurrence, EWS's RecurrenceType) and its
    occurrences, by original start."""

    pattern: Pattern
    range: Range
    time_zone: str
    #: The last date occurrences were made up to (a series without end: the booking horizon when it was made).
    booked_until: date
    description: str
    occurrences: tuple[Occurrence, ...] = ()


@dataclass(frozen=True)
class NewSeries:
    """A series to store: its recurrence and every occurrence (the booking's row holds the first one)."""

    pattern: Pattern
    range: Range
    time_zone: str
    booked_until: date
    occurrences: tuple[Occurrence, ...]


@dataclass(frozen=True)
class Booking:
    id: int
    organizer: str
    room: str
    room_name: str
    title: str
    start: datetime
    end: datetime
    attendees: tuple[str, ...]
    private: bool
    reminder_minutes: int | None
    free_busy: str
    status: str
    version: int
    created: datetime
    updated: datetime
    organizer_id: int = field(default=0, metadata=_INTERNAL)
    room_id: int = field(default=0, metadata=_INTERNAL)
    #: The random key written with the id in its meeting's booking tag (None: made before schema 8).
    tag_key: str | None = field(default=None, metadata=_INTERNAL)
    #: A booking that repeats: its recurrence and occurrences (None: a single booking). Its own start and end are
    #: the first occurrence's, as a recurring master's are in Exchange.
    series: Series | None = None


@dataclass(frozen=True)
class BookingSyncState:
    """The sync's link from a booking to its meeting, and what was last synced."""

    booking_id: int
    mailbox: str
    item_id: str | None = None
    change_key: str | None = None
    snapshot: dict[str, Any] | None = None
    synced_version: int | None = None
    attempts: int = 0  # rollbacks of Outlook edits in a row (SyncConflictBehaviour Rollback)
    last_error: str | None = None
    updated: datetime | None = None
    state: str = "linked"  # schema.LINK_STATES
    error_count: int = 0  # failures since the last success
    last_attempt: datetime | None = None
    revision: str | None = None  # the revision tag of roomsops' last write of the meeting
    readback: bool = False  # a write was sent and not read back yet: the next pass reads the meeting again
    from_exchange: bool = False  # the booking was made from a meeting the person created in Outlook
    #: the meeting's item id was saved after the mailbox's stored position was read (kept in the readback column's
    #: second bit): that position does not report the item's deletion, so passes read it by id until a position
    #: read after it is stored (docs/sync.md, "The position")
    unseen: bool = False


@dataclass(frozen=True)
class MailboxSyncState:
    """The sync's position in one mailbox (the SyncFolderItems state) and its last pass."""

    mailbox: str
    sync_state: str | None = None
    last_pass: datetime | None = None
    last_error: str | None = None
    updated: datetime | None = None
    passes_since_full: int = 0  # passes since the last full reconciliation (`sync.full_every`)
    #: the service ("ews" or "graph") whose item ids the mailbox's links hold (None: not known, e.g. before v10)
    service: str | None = None


@dataclass(frozen=True)
class SyncMailbox:
    """A mailbox the sync app opens over EWS: a person in O365/O365Pull, or a room."""

    email: str
    kind: str  # person | room
    sync_mode: str | None  # None for rooms: they have no sync mode of their own


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert of persons did, by address."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Difference:
    """A booking whose ROOMS and Exchange states differ and that an admin settles (ROOMS' sync differences)."""

    booking_id: int
    mailbox: str
    kind: str  # both_changed | room_changed | attendees_changed
    fields: tuple[str, ...]
    rooms_state: dict[str, Any]
    exchange_state: dict[str, Any]
    detected: datetime
    resolution: str | None = None
    id: int = 0
