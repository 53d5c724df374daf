"""Upgrading an older ROOMS database in place, one schema version at a time, inside one transaction.

Each step is frozen once released: it carries its own copies of the tables it creates (never the
current ones from `schema.py`, which move on), and uses portable DDL only (ADD/DROP COLUMN, CREATE
TABLE/INDEX). SQLite's and PostgreSQL's DDL are transactional, so a failing step leaves the database as it was.

One definition for SQLite and PostgreSQL (issue 27): a PostgreSQL database is created at schema 11 or later
(`metadata.create_all`), so the steps from 11 on run on both, and name column types as SQLAlchemy types compiled
for the database at hand (`_add_columns`), never as one database's type names (SQLite's DATETIME, for one).
A new schema version = bump `schema.SCHEMA_VERSION`, add a step here, keep a fixture of the old
version under tests/data/ and a test that upgrades a copy of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    text,
)

from roomsops import __version__
from roomsops.adapters.store.schema import UTCDateTime, schema_version

Step = Callable[[Connection, datetime], None]


def _v1_to_v2(conn: Connection, now: datetime) -> None:
    """v2: conflict behaviour per person, free/busy and a revision per booking, attendees as rows,
    the sync's state tables and the installation id."""
    frozen = MetaData()
    # A stub, so that the new tables' foreign keys can name it; it is not created.
    Table("bookings", frozen, Column("id", Integer, primary_key=True))
    attendees = Table(
        "booking_attendees",
        frozen,
        Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
        Column("position", Integer, primary_key=True, autoincrement=False),
        Column("email", String(320), nullable=False),
    )
    Table(
        "booking_sync",
        frozen,
        Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
        Column("mailbox", String(320), nullable=False),
        Column("item_id", String(512)),
        Column("change_key", String(512)),
        Column("snapshot", Text),
        Column("synced_version", Integer),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text),
        Column("updated_utc", UTCDateTime, nullable=False),
        Index("ix_booking_sync_mailbox", "mailbox"),
        Index("ix_booking_sync_item_id", "item_id"),
    )
    Table(
        "mailbox_sync",
        frozen,
        Column("mailbox", String(320), primary_key=True),
        Column("sync_state", Text),
        Column("last_pass_utc", UTCDateTime),
        Column("last_error", Text),
        Column("updated_utc", UTCDateTime, nullable=False),
    )
    installation = Table(
        "installation",
        frozen,
        Column("slot", Integer, primary_key=True, autoincrement=False),
        Column("installation_id", String(36), nullable=False, unique=True),
        Column("created_utc", UTCDateTime, nullable=False),
        CheckConstraint("slot = 1", name="ck_installation_single_row"),
    )
    conn.execute(
        text(
            "ALTER TABLE persons ADD COLUMN conflict_behaviour VARCHAR(8) DEFAULT 'Rollback' NOT NULL "
            "CHECK (conflict_behaviour IN ('Rollback', 'Cancel'))"
        )
    )
    conn.execute(
        text(
            "ALTER TABLE bookings ADD COLUMN free_busy VARCHAR(9) DEFAULT 'Busy' NOT NULL "
            "CHECK (free_busy IN ('Free', 'Tentative', 'Busy', 'OOF'))"
        )
    )
    conn.execute(text("ALTER TABLE bookings ADD COLUMN version INTEGER DEFAULT 1 NOT NULL"))
    frozen.create_all(conn, tables=[t for t in frozen.sorted_tables if t.name != "bookings"])

    # v1 kept attendees as one comma-separated text; v2 keeps one row per attendee, in order.
    rows = []
    for booking_id, listed in conn.execute(
        text("SELECT id, attendees FROM bookings WHERE attendees IS NOT NULL ORDER BY id")
    ):
        emails = [e.strip() for e in str(listed).split(",") if e.strip()]
        rows += [{"booking_id": booking_id, "position": i, "email": e} for i, e in enumerate(emails)]
    if rows:
        conn.execute(insert(attendees), rows)
    conn.execute(text("ALTER TABLE bookings DROP COLUMN attendees"))
    conn.execute(
        text("CREATE INDEX ix_bookings_organizer_id_start_utc ON bookings (organizer_id, start_utc)")
    )
    conn.execute(insert(installation).values(slot=1, installation_id=str(uuid.uuid4()), created_utc=now))


def _v2_to_v3(conn: Connection, now: datetime) -> None:
    """v3: the sync's differences (both sides changed, or a room/attendee change made in Outlook)."""
    frozen = MetaData()
    Table("bookings", frozen, Column("id", Integer, primary_key=True))
    differences = Table(
        "sync_differences",
        frozen,
        Column("id", Integer, primary_key=True),
        Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
        Column("mailbox", String(320), nullable=False),
        Column("kind", String(20), nullable=False),
        Column("fields", Text, nullable=False),
        Column("rooms_state", Text, nullable=False),
        Column("exchange_state", Text, nullable=False),
        Column("detected_utc", UTCDateTime, nullable=False),
        Column("resolution", String(10)),
        Column("resolved_utc", UTCDateTime),
        Index("ix_sync_differences_booking_id", "booking_id"),
    )
    differences.create(conn)


def _v3_to_v4(conn: Connection, now: datetime) -> None:
    """v4: an explicit state per booking link, errors in their own columns. v3 encoded the state in last_error
    ("pending-create", "cancelled", "room-declined"), where an error could overwrite an intent."""
    states = "'linked', 'pending-create', 'pending-update', 'pending-cancel', 'cancelled', 'failed', " + (
        "'room-declined', 'sync-disabled', 'unlinked'"
    )
    conn.execute(
        text(
            "ALTER TABLE booking_sync ADD COLUMN state VARCHAR(20) DEFAULT 'linked' NOT NULL "
            f"CONSTRAINT ck_booking_sync_state CHECK (state IN ({states}))"
        )
    )
    conn.execute(text("ALTER TABLE booking_sync ADD COLUMN error_count INTEGER DEFAULT 0 NOT NULL"))
    conn.execute(text("ALTER TABLE booking_sync ADD COLUMN last_attempt_utc DATETIME"))
    for sql in (
        # Real errors (anything but v3's state markers) move to their own columns.
        "UPDATE booking_sync SET error_count = CASE WHEN attempts > 0 THEN attempts ELSE 1 END, "
        "last_attempt_utc = updated_utc WHERE last_error IS NOT NULL "
        "AND last_error NOT IN ('pending-create', 'cancelled', 'room-declined') "
        "AND last_error NOT LIKE 'rollback:%'",
        "UPDATE booking_sync SET state = 'cancelled', last_error = NULL WHERE last_error = 'cancelled'",
        "UPDATE booking_sync SET state = 'room-declined', last_error = NULL WHERE last_error = 'room-declined'",
        # Without a meeting, the last thing tried was a create (its answer may have been lost): look it up first.
        "UPDATE booking_sync SET state = 'pending-create' WHERE item_id IS NULL AND state = 'linked'",
        "UPDATE booking_sync SET last_error = NULL WHERE last_error = 'pending-create'",
        # A rollback that worked was noted in last_error; one whose reset failed is a failure.
        "UPDATE booking_sync SET state = 'failed', error_count = 1 WHERE last_error LIKE 'rollback:%reset failed%'",
        "UPDATE booking_sync SET last_error = NULL WHERE last_error LIKE 'rollback:%' AND state = 'linked'",
        "UPDATE booking_sync SET state = 'failed' WHERE state = 'linked' AND last_error IS NOT NULL",
        "UPDATE booking_sync SET state = 'sync-disabled' WHERE booking_id IN "
        "(SELECT id FROM bookings WHERE status = 'sync_disabled')",
    ):
        conn.execute(text(sql))


def _v4_to_v5(conn: Connection, now: datetime) -> None:
    """v5: passes since the last full reconciliation per mailbox (`sync.full_every`)."""
    conn.execute(text("ALTER TABLE mailbox_sync ADD COLUMN passes_since_full INTEGER DEFAULT 0 NOT NULL"))


def _add_id_high_water(conn: Connection, now: datetime) -> None:
    """v6: the highest booking id ever given, so a deleted booking's id is never given again (its meeting may
    still carry it). Seeded with the highest id there is (ids deleted before the upgrade cannot be known)."""
    conn.execute(
        text(
            "CREATE TABLE id_high_water (name VARCHAR(40) NOT NULL, value INTEGER NOT NULL, CONSTRAINT pk_id_high_water PRIMARY KEY (name))"
        )
    )
    conn.execute(
        text("INSERT INTO id_high_water (name, value) SELECT 'bookings', COALESCE(MAX(id), 0) FROM bookings")
    )


def _v6_to_v7(conn: Connection, now: datetime) -> None:
    """v7: the revision tag of roomsops' last write per link, and a read-back flag (a write not read back yet).
    Links written before keep no revision (NULL, as their meetings carry none): their fields are compared with
    the snapshot as before."""
    conn.execute(text("ALTER TABLE booking_sync ADD COLUMN revision VARCHAR(64)"))
    conn.execute(text("ALTER TABLE booking_sync ADD COLUMN readback INTEGER DEFAULT 0 NOT NULL"))


def _v7_to_v8(conn: Connection, now: datetime) -> None:
    """v8: a random key per booking, written with its id in the meeting's booking tag. Bookings made before keep
    none (NULL): their meetings carry the plain id, and they keep being found by it."""
    conn.execute(text("ALTER TABLE bookings ADD COLUMN tag_key VARCHAR(32)"))


def _v8_to_v9(conn: Connection, now: datetime) -> None:
    """v9: whether a link's booking was made from a meeting the person created in Outlook (`sync purge` leaves
    such meetings). Links from before cannot tell: 0, as before (the audit log's sync:booking-from-exchange)."""
    conn.execute(text("ALTER TABLE booking_sync ADD COLUMN from_exchange INTEGER DEFAULT 0 NOT NULL"))


def _v9_to_v10(conn: Connection, now: datetime) -> None:
    """v10: the service each mailbox was last synced over (EWS or Graph). Mailboxes synced before cannot tell:
    NULL, recorded by their next pass (until then a person who left the sync is reached over `sync.backend`)."""
    conn.execute(text("ALTER TABLE mailbox_sync ADD COLUMN service VARCHAR(8)"))


def _v10_to_v11(conn: Connection, now: datetime) -> None:
    """v11: series (issue 25): a booking's recurrence, and its occurrences keyed by their original start. Bookings
    made before are single bookings: no rows."""
    frozen = MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        }
    )
    Table("bookings", frozen, Column("id", Integer, primary_key=True))
    patterns = (
        "'daily', 'weekly', 'absolute_monthly', 'relative_monthly', 'absolute_yearly', 'relative_yearly'"
    )
    Table(
        "booking_series",
        frozen,
        Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
        Column("pattern_type", String(16), nullable=False),
        Column("repeat_interval", Integer, nullable=False, server_default="1"),
        Column("days_of_week", String(80)),
        Column("day_of_month", Integer),
        Column("week_index", String(6)),
        Column("month", Integer),
        Column("first_day_of_week", String(9), nullable=False, server_default="monday"),
        Column("range_type", String(8), nullable=False),
        Column("start_date", Date, nullable=False),
        Column("end_date", Date),
        Column("number_of_occurrences", Integer),
        Column("time_zone", String(64), nullable=False),
        Column("booked_until", Date, nullable=False),
        CheckConstraint(f"pattern_type IN ({patterns})", name="ck_booking_series_pattern_type"),
        CheckConstraint(
            "range_type IN ('end_date', 'numbered', 'no_end')", name="ck_booking_series_range_type"
        ),
        CheckConstraint(
            "week_index IS NULL OR week_index IN ('first', 'second', 'third', 'fourth', 'last')",
            name="ck_booking_series_week_index",
        ),
        CheckConstraint("repeat_interval >= 1", name="ck_booking_series_repeat_interval"),
    )
    Table(
        "booking_occurrences",
        frozen,
        Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
        Column("original_start_utc", UTCDateTime, primary_key=True),
        Column("start_utc", UTCDateTime, nullable=False),
        Column("end_utc", UTCDateTime, nullable=False),
        Column("status", String(9), nullable=False, server_default="active"),
        Column("changes", Text),
        CheckConstraint("end_utc > start_utc", name="ck_booking_occurrences_end_after_start"),
        CheckConstraint("status IN ('active', 'cancelled')", name="ck_booking_occurrences_status"),
        Index("ix_booking_occurrences_start_utc", "start_utc"),
    )
    frozen.create_all(conn, tables=[t for t in frozen.sorted_tables if t.name != "bookings"])


def _add_columns(conn: Connection, table: str, *columns: Column[Any]) -> None:
    """ALTER TABLE ... ADD COLUMN for each nullable column without default, its type compiled for this database."""
    for column in columns:
        assert column.nullable and column.server_default is None, column
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}"))


def _v11_to_v12(conn: Connection, now: datetime) -> None:
    """v12: leased work (issue 27.2): each mailbox's next run and the lease of the worker that claimed it. Mailboxes
    synced before are due now and leased by nobody (NULL)."""
    _add_columns(
        conn,
        "mailbox_sync",
        Column("next_run_utc", UTCDateTime),
        Column("lease_owner", String(200)),
        Column("lease_until_utc", UTCDateTime),
        Column("lease_token", String(36)),
    )
    conn.execute(text("CREATE INDEX ix_mailbox_sync_next_run_utc ON mailbox_sync (next_run_utc)"))


def _v12_to_v13(conn: Connection, now: datetime) -> None:
    """v13: bookings whose room is to be asked again (review20q): a Sync-Master room taken off an Outlook meeting
    frees its slot for them. Databases from before hold none: an empty table."""
    frozen = MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        }
    )
    Table("bookings", frozen, Column("id", Integer, primary_key=True))
    Table(
        "room_asks",
        frozen,
        Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
        Column("room", String(320), nullable=False),
        Column("token", String(36), nullable=False),
        Column("marked_utc", UTCDateTime, nullable=False),
    )
    frozen.create_all(conn, tables=[t for t in frozen.sorted_tables if t.name != "bookings"])


def _v13_to_v14(conn: Connection, now: datetime) -> None:
    """v14: what a pass has to tell and has not said yet (review25aa: an occurrence deleted in Outlook that a pass
    took before it was killed). Databases from before hold none: an empty table."""
    frozen = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "pk": "pk_%(table_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        }
    )
    Table("bookings", frozen, Column("id", Integer, primary_key=True))
    Table(
        "sync_notices",
        frozen,
        Column("id", Integer, primary_key=True),
        Column("booking_id", Integer, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
        Column("mailbox", String(320), nullable=False),
        Column("notice", Text, nullable=False),
        Column("noted_utc", UTCDateTime, nullable=False),
        Index(None, "mailbox"),
    )
    frozen.create_all(conn, tables=[t for t in frozen.sorted_tables if t.name != "bookings"])


#: From-version -> the step that upgrades it to the next version.
STEPS: dict[int, Step] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
    5: _add_id_high_water,
    6: _v6_to_v7,
    7: _v7_to_v8,
    8: _v8_to_v9,
    9: _v9_to_v10,
    10: _v10_to_v11,
    11: _v11_to_v12,
    12: _v12_to_v13,
    13: _v13_to_v14,
}


def upgrade(conn: Connection, found: int, target: int, now: datetime) -> list[int]:
    """Run the steps from `found` to `target` in the caller's (write) transaction; the versions reached."""
    reached = []
    for version in range(found, target):
        STEPS[version](conn, now)
        conn.execute(
            insert(schema_version).values(version=version + 1, roomsops_version=__version__, applied_utc=now)
        )
        reached.append(version + 1)
    return reached
