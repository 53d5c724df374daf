"""The tables of the ROOMS database (SQLAlchemy Core) and the schema version this code writes.

Only portable types and constraints: times are UTC `DateTime` without a zone (see `UTCDateTime`),
enumerations are strings with CHECK constraints, JSON is text. Case-insensitive uniqueness of
e-mail addresses uses a lower-cased key column, not a collation (collations differ per database).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.types import TypeDecorator

from roomsops.core.recurrence import INDEXES, PATTERN_TYPES, RANGE_TYPES
from roomsops.core.vocabulary import (  # noqa: F401 - re-exported: the store's vocabulary lives there
    BLOCKING_STATUSES,
    CONFLICT_BEHAVIOURS,
    EWS_SYNC_MODES,
    FREE_BUSY,
    ON_PREMISES_MODES,
    STATUSES,
    SYNC_MODES,
)

#: The schema this code creates and expects; `migrations.STEPS` upgrades every older version to it.
SCHEMA_VERSION = 14


EMAIL_LENGTH = 320  # RFC 5321: 64 + 1 + 255

#: The state of a booking's link to its meeting (docs/sync.md has the transitions). Errors never replace a
#: state: they live in last_error / error_count / last_attempt beside it.
#: booking_sync.readback's bits (see the column).
READBACK = 1
UNSEEN = 2
LINKED = "linked"  # the meeting exists and was last seen as the snapshot says
PENDING_CREATE = "pending-create"  # a meeting is being created: look it up by its tag before creating again
PENDING_UPDATE = "pending-update"  # the meeting is being rewritten from the booking
PENDING_CANCEL = "pending-cancel"  # the booking is cancelled; its meeting is being cancelled
CANCELLED = "cancelled"  # the meeting was cancelled (or deleted in Outlook): nothing more to do
FAILED = "failed"  # an Outlook change could not be applied (parked): retried and reported every pass
ROOM_DECLINED = "room-declined"  # the room declined the meeting
SYNC_DISABLED = "sync-disabled"  # rollbacks exhausted: the booking is no longer synced
UNLINKED = "unlinked"  # the meeting was deliberately let go (conflict behaviour Cancel): never touched again
LINK_STATES = (
    LINKED,
    PENDING_CREATE,
    PENDING_UPDATE,
    PENDING_CANCEL,
    CANCELLED,
    FAILED,
    ROOM_DECLINED,
    SYNC_DISABLED,
    UNLINKED,
)
#: The start of `last_error` of a `cancelled` link whose meeting was deleted in Outlook without a cancellation
#: while the room's copy could not be removed: the room still holds the slot (reported every pass until gone).
ROOM_HOLDS = "room still holds the slot"
#: The start of `last_error` of a `linked` series whose room accepted it without some of its occurrences (a room
#: allowing conflicts within ConflictPercentageAllowed and MaximumConflictInstances declines those): they are named,
#: reported every pass and the booking is shown `room-declined` until the room's next answer holds them all
#: (review20s). Not a new state (no schema change).
OCCURRENCES_DECLINED = "declined"
#: The start of `last_error` of a `linked` series whose room accepted it while the room's calendar could not be read
#: to check its occurrences (`OCCURRENCES_DECLINED`): each pass reads it again until a read succeeds (review20v).
OCCURRENCES_UNCHECKED = "occurrences not checked"
#: The start of `last_error` of a `cancelled` link whose meeting was deleted in Outlook without a cancellation: the
#: room's booking attendant may still process a request sent before the deletion (the invitation, or an Outlook
#: update no pass read) and accept it, its copy then holding the slot; so each pass looks for the copy again for a
#: grace period after the deletion was read (`engine.ROOM_ANSWER_GRACE`, while the slot is ahead). Not reported: the
#: room holds nothing.
ROOM_MAY_ANSWER = "the room may still answer the deleted meeting"
#: `last_error` of an `unlinked` link whose booking stays active: the booking is not synced (its person left the
#: sync, or `sync purge` removed its meeting) until `sync resume --person`; a cancellation still reaches a meeting
#: it left in Exchange. Not a new state (no schema change): `unlinked` already means "never touched by a pass".
NOT_SYNCED_NOTE = "not synced"
#: `last_error` of such a link held back when its person left the sync (`sync.on_person_removed = "report"`). With
#: no item id it was a create (or cancel) whose answer was lost: the meeting may exist, found by its tag only.
LEFT_SYNC_NOTE = f"{NOT_SYNCED_NOTE}: the person left the sync"
#: States that are an intent: an error leaves them as they are, so the next pass completes the intent.
PENDING_STATES = (PENDING_CREATE, PENDING_UPDATE, PENDING_CANCEL)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC: portable, and correctly ordered as text in SQLite.

    A naive datetime is refused at the boundary, so no local time can slip into the database.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: roomsops stores only timezone-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A portable CHECK expression: the column holds one of the values."""
    listed = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({listed})"


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The anchor of every upgrade: its shape never changes, whatever version a database has.
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("roomsops_version", String(40), nullable=False),
    Column("applied_utc", UTCDateTime, nullable=False),
)

installation = Table(
    "installation",
    metadata,
    # One row only: the slot is the primary key and must be 1.
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("installation_id", String(36), nullable=False, unique=True),
    Column("created_utc", UTCDateTime, nullable=False),
    CheckConstraint("slot = 1", name="single_row"),
)

persons = Table(
    "persons",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(EMAIL_LENGTH), nullable=False),
    Column("email_key", String(EMAIL_LENGTH), nullable=False, unique=True),
    Column("name", String(256), nullable=False, server_default=""),
    Column("sync_mode", String(12), nullable=False),
    Column("sync_url", String(2048)),
    Column("conflict_behaviour", String(8), nullable=False, server_default="Rollback"),
    Column("created_utc", UTCDateTime, nullable=False),
    Column("updated_utc", UTCDateTime, nullable=False),
    CheckConstraint(one_of("sync_mode", SYNC_MODES), name="sync_mode"),
    CheckConstraint(one_of("conflict_behaviour", CONFLICT_BEHAVIOURS), name="conflict_behaviour"),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(EMAIL_LENGTH), nullable=False),
    Column("email_key", String(EMAIL_LENGTH), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("sync_master", Boolean, nullable=False, server_default=false()),
    Column("created_utc", UTCDateTime, nullable=False),
    Column("updated_utc", UTCDateTime, nullable=False),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organizer_id", Integer, ForeignKey("persons.id"), nullable=False),
    Column("room_id", Integer, ForeignKey("rooms.id"), nullable=False),
    Column("title", String(255), nullable=False),
    Column("start_utc", UTCDateTime, nullable=False),
    Column("end_utc", UTCDateTime, nullable=False),
    Column("private", Boolean, nullable=False, server_default=false()),
    Column("reminder_minutes", Integer),
    Column("free_busy", String(9), nullable=False, server_default="Busy"),
    Column("status", String(13), nullable=False, server_default="active"),
    # Incremented by every change: the sync compares it with the version it last pushed.
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_utc", UTCDateTime, nullable=False),
    Column("updated_utc", UTCDateTime, nullable=False),
    # A random value given when the booking is made, written with its id in the meeting's booking tag
    # (`core.calendar.booking_tag`): a booking id given again (e.g. a data folder restored from a backup) never
    # names another booking's meeting. NULL: made before schema 8; its meeting carries the plain id.
    Column("tag_key", String(32)),
    CheckConstraint("end_utc > start_utc", name="end_after_start"),
    CheckConstraint("reminder_minutes IS NULL OR reminder_minutes >= 0", name="reminder"),
    CheckConstraint(one_of("free_busy", FREE_BUSY), name="free_busy"),
    CheckConstraint(one_of("status", STATUSES), name="status"),
    Index(None, "room_id", "start_utc"),
    Index(None, "organizer_id", "start_utc"),
)

booking_attendees = Table(
    "booking_attendees",
    metadata,
    Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("email", String(EMAIL_LENGTH), nullable=False),
)

#: The states of one occurrence of a series: an occurrence cancelled on its own is a deleted occurrence in Exchange.
OCCURRENCE_STATUSES = ("active", "cancelled")

# A booking that repeats (issue 25): its pattern and range as Exchange models them (`core.recurrence`; docs/series.md
# maps each column to EWS and Graph). The booking's own row holds the first occurrence's start and end (its
# wall-clock times and duration are every occurrence's), title, room, attendees and the other fields.
booking_series = Table(
    "booking_series",
    metadata,
    Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("pattern_type", String(16), nullable=False),
    Column("repeat_interval", Integer, nullable=False, server_default="1"),  # not "interval": a keyword
    Column("days_of_week", String(80)),  # comma-separated: monday,wednesday
    Column("day_of_month", Integer),
    Column("week_index", String(6)),
    Column("month", Integer),
    Column("first_day_of_week", String(9), nullable=False, server_default="monday"),
    Column("range_type", String(8), nullable=False),
    Column("start_date", Date, nullable=False),  # local dates, in the series' time zone
    Column("end_date", Date),
    Column("number_of_occurrences", Integer),
    Column("time_zone", String(64), nullable=False),
    # The last date occurrences were made up to: the booking horizon (rooms.booking_horizon_days) of a series
    # without end when it was made or last changed; the last occurrence's date otherwise.
    Column("booked_until", Date, nullable=False),
    CheckConstraint(one_of("pattern_type", PATTERN_TYPES), name="pattern_type"),
    CheckConstraint(one_of("range_type", RANGE_TYPES), name="range_type"),
    CheckConstraint(f"week_index IS NULL OR {one_of('week_index', INDEXES)}", name="week_index"),
    CheckConstraint("repeat_interval >= 1", name="repeat_interval"),
)

# The occurrences of a series, one row each, keyed by their original start (as Exchange keys an exception): a
# moved one has another start and end, a cancelled one holds nothing, a changed one carries its own values.
booking_occurrences = Table(
    "booking_occurrences",
    metadata,
    Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("original_start_utc", UTCDateTime, primary_key=True),
    Column("start_utc", UTCDateTime, nullable=False),
    Column("end_utc", UTCDateTime, nullable=False),
    Column("status", String(9), nullable=False, server_default="active"),
    Column(
        "changes", Text
    ),  # JSON: the fields this occurrence alone changed (title, private, reminder, free/busy)
    CheckConstraint("end_utc > start_utc", name="end_after_start"),
    CheckConstraint(one_of("status", OCCURRENCE_STATUSES), name="status"),
    Index(None, "start_utc"),
)

# What the sync knows about each booking's meeting in the organizer's mailbox.
booking_sync = Table(
    "booking_sync",
    metadata,
    Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("mailbox", String(EMAIL_LENGTH), nullable=False),
    Column("item_id", String(512)),
    Column("change_key", String(512)),
    Column("snapshot", Text),  # JSON: the fields as last synced, to tell real edits from echoes
    Column("synced_version", Integer),  # bookings.version last written to Exchange
    Column("attempts", Integer, nullable=False, server_default="0"),  # rollbacks of Outlook edits in a row
    Column("last_error", Text),
    Column("updated_utc", UTCDateTime, nullable=False),
    Column("state", String(20), nullable=False, server_default=LINKED),
    Column("error_count", Integer, nullable=False, server_default="0"),  # failures since the last success
    Column("last_attempt_utc", UTCDateTime),
    # The revision tag roomsops wrote with its last write of the meeting (an extended property beside the booking
    # tag): with the snapshot it tells roomsops' own writes from Outlook edits (docs/sync.md).
    Column("revision", String(64)),
    # Bit flags. READBACK (1): a write was sent whose result was not read back yet; the next pass reads the meeting
    # again (a crash between UpdateItem and its read-back must not hide an Outlook edit the write's ChangeKey
    # covers). UNSEEN (2): the item id was saved after the mailbox's stored position was read (a pass that held its
    # position, or was killed, after creating or linking the meeting): that position never reports the item's
    # deletion, so each pass reads it by id until a position read after it is stored (fix19q).
    Column("readback", Integer, nullable=False, server_default="0"),
    # 1: the booking was made from a meeting the person created in Outlook (its own meeting: `sync purge` and
    # leaving the sync let it be, never cancel it).
    Column("from_exchange", Integer, nullable=False, server_default="0"),
    CheckConstraint(one_of("state", LINK_STATES), name="state"),
    Index(None, "mailbox"),
    Index(None, "item_id"),
)

# A booking whose room roomsops is to ask again (schema 13, review20q): a Sync-Master room taken off an Outlook meeting
# it held (accepted or tentatively) frees the meeting's slots; the ROOMS bookings of that room at those slots are
# marked in a transaction before the removal is sent, so the fact outlives a lost answer, a crash and the run that
# removed it. The pass of the booking's organizer (any run) sends a `room-declined` one again and clears its mark
# with that write; a mark whose room's state is settled otherwise (the room accepted, the booking moved off the room,
# cancelled or over) is cleared too. `token`: each mark's own, so a pass clears only the mark it read, never a later
# one.
room_asks = Table(
    "room_asks",
    metadata,
    Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "room", String(EMAIL_LENGTH), nullable=False
    ),  # lower-cased address of the room that freed its slot
    Column("token", String(36), nullable=False),
    Column("marked_utc", UTCDateTime, nullable=False),
)

# What a pass has to tell its mailbox's person and has not said yet (schema 14, review25aa): an occurrence deleted in
# Outlook that the pass took, ROOMS' change of it dropped (`engine._take_outlook_deletions`). Stored in the
# transaction that takes the deletion, so a pass killed before its summary leaves it for the next one; deleted once a
# pass has said it (its log line written: the summary follows).
sync_notices = Table(
    "sync_notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
    Column("mailbox", String(EMAIL_LENGTH), nullable=False),  # lower-cased address of the pass's mailbox
    Column("notice", Text, nullable=False),
    Column("noted_utc", UTCDateTime, nullable=False),
    Index(None, "mailbox"),
)

# What the sync knows about each mailbox: its SyncFolderItems state and the last pass.
mailbox_sync = Table(
    "mailbox_sync",
    metadata,
    Column("mailbox", String(EMAIL_LENGTH), primary_key=True),  # lower-cased address
    Column("sync_state", Text),
    Column("last_pass_utc", UTCDateTime),
    Column("last_error", Text),
    Column("updated_utc", UTCDateTime, nullable=False),
    # Passes since the last full reconciliation (`sync.full_every`).
    Column("passes_since_full", Integer, nullable=False, server_default="0"),
    # The service ("ews" or "graph") the mailbox was last synced over: the one whose item ids its links hold. A
    # person who leaves the sync is reached over it (their meetings cancelled or purged). NULL: never synced since v10.
    Column("service", String(8)),
    # Leased work (issue 27.2, schema 12): when the mailbox is due next (NULL: now), and the lease of the worker that
    # claimed it (`leases.claim_mailboxes`): the worker's name, until when, and the token its writes must carry (a
    # stale worker's write is refused). NULL lease: nobody holds the mailbox.
    Column("next_run_utc", UTCDateTime),
    Column("lease_owner", String(200)),
    Column("lease_until_utc", UTCDateTime),
    Column("lease_token", String(36)),
    Index(None, "next_run_utc"),
)

# What both sides changed (ROOMS won) or what the sync does not apply (room or attendees changed in Outlook):
# ROOMS' "sync differences" view, settled with `sync resolve`.
sync_differences = Table(
    "sync_differences",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
    Column("mailbox", String(EMAIL_LENGTH), nullable=False),
    Column("kind", String(20), nullable=False),  # both_changed | room_changed | attendees_changed
    Column("fields", Text, nullable=False),  # JSON list of field names
    Column("rooms_state", Text, nullable=False),  # JSON: the booking's fields
    Column("exchange_state", Text, nullable=False),  # JSON: the meeting's fields
    Column("detected_utc", UTCDateTime, nullable=False),
    Column(
        "resolution", String(10)
    ),  # None while open; exchange | rooms | ignore | settled (by a later edit)
    Column("resolved_utc", UTCDateTime),
    Index(None, "booking_id"),
)


# The highest id ever given, per table: a booking id is never given again after its booking was deleted
# (`rooms remove`, `persons remove`), since its meeting may still be in Exchange carrying it in its tag; SQLite
# would otherwise give max(id) + 1 again (other databases' sequences never reuse).
id_high_water = Table(
    "id_high_water",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)
