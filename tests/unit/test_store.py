"""The ROOMS database: schema version and upgrades, SQLite set-up, upsert, the overlap rule, sync state."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import StatementError

from roomsops.adapters import store as db
from roomsops.adapters.store import migrations
from roomsops.adapters.store.schema import schema_version
from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.settings import load_settings
from roomsops.services.rooms.common import database_url

V1_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "rooms-v1.db"
T9 = datetime(2031, 3, 31, 9, 0, tzinfo=UTC)


def at(hour: float) -> datetime:
    return T9 + timedelta(hours=hour - 9)


def dump(path: Path) -> str:
    """Schema and rows, as SQL text: equal dumps = an unchanged database."""
    with closing(sqlite3.connect(path)) as conn:
        return "\n".join(conn.iterdump())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[db.Store]:
    opened = db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    yield opened
    opened.close()


@pytest.fixture
def ids(store: db.Store) -> dict[str, int]:
    """A person and two rooms."""
    with store.write() as conn:
        person = db.insert_person(
            conn, db.PersonFields("diego@contoso.com", "Diego", "O365", None, "Rollback"), db.now_utc()
        )
        eiger = db.insert_room(conn, "eiger@contoso.com", "Eiger", False, db.now_utc())
        moench = db.insert_room(conn, "moench@contoso.com", "Mönch", True, db.now_utc())
    return {"person": person.id, "eiger": eiger.id, "moench": moench.id}


def book(
    store: db.Store,
    ids: dict[str, int],
    start: float,
    end: float,
    status: str = "active",
    room: str = "eiger",
) -> int:
    with store.write() as conn:
        return db.insert_booking(
            conn,
            db.NewBooking(ids["person"], ids[room], "t", at(start), at(end), status=status),
            db.now_utc(),
        )


# ---------------------------------------------------------------- opening, versions, upgrades


def test_new_database_is_current_in_wal_mode_with_foreign_keys(store: db.Store, tmp_path: Path) -> None:
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_TIMEOUT_MS
        first = db.installation_id(conn)
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
    assert versions == [db.SCHEMA_VERSION]
    assert str(uuid.UUID(first)) == first
    again = db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    with again.read() as conn:
        assert db.installation_id(conn) == first  # made once per database
    again.close()


def test_installation_holds_one_row(store: db.Store) -> None:
    with pytest.raises(OperationFailed), store.write() as conn:
        conn.execute(text("INSERT INTO installation VALUES (2, 'x', '2031-01-01 00:00:00')"))


def test_foreign_keys_are_enforced(store: db.Store) -> None:
    with pytest.raises(OperationFailed, match="FOREIGN KEY"), store.write() as conn:
        db.insert_booking(conn, db.NewBooking(99, 99, "t", at(9), at(10)), db.now_utc())


def test_a_newer_database_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "rooms.db"
    db.open_store(f"sqlite:///{path}").close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "INSERT INTO schema_version VALUES (?, '0.9.0', '2032-01-01 00:00:00.000000')",
            (db.SCHEMA_VERSION + 1,),
        )
    before = dump(path)
    with pytest.raises(InputError) as caught:
        db.open_store(f"sqlite:///{path}")
    assert caught.value.one_line() == (
        f"the database {path} has schema version {db.SCHEMA_VERSION + 1} (written by roomsops 0.9.0), but this "
        f"roomsops 0.1.0.dev0 knows schema versions up to {db.SCHEMA_VERSION} — upgrade roomsops to 0.9.0 or newer; "
        "a database is never downgraded"
    )
    assert dump(path) == before


def test_a_foreign_database_and_a_non_database_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE things (id INTEGER)")
    with pytest.raises(InputError, match="is not a roomsops database"):
        db.open_store(f"sqlite:///{other}")
    text_file = tmp_path / "notes.db"
    text_file.write_text("these are notes, not a database\n" * 100)
    with pytest.raises(InputError, match="is not an SQLite database"):
        db.open_store(f"sqlite:///{text_file}")
    with pytest.raises(InputError, match="cannot open the database"):
        db.open_store(f"sqlite:///{tmp_path / 'missing' / 'rooms.db'}")


def _shape(path: Path) -> dict[str, object]:
    """Tables with their columns (name, nullable), indexes and foreign keys: what code relies on."""
    engine = db.open_store(f"sqlite:///{path}").engine
    with engine.connect() as conn:
        found = inspect(conn)
        shape: dict[str, object] = {
            table: (
                sorted((c["name"], c["nullable"]) for c in found.get_columns(table)),
                sorted(i["name"] or "" for i in found.get_indexes(table)),
                sorted(str(fk["referred_table"]) for fk in found.get_foreign_keys(table)),
            )
            for table in found.get_table_names()
        }
    engine.dispose()
    return shape


def test_the_v1_fixture_is_upgraded_in_place(tmp_path: Path) -> None:
    original = V1_FIXTURE.read_bytes()
    path = tmp_path / "rooms.db"
    shutil.copyfile(V1_FIXTURE, path)
    upgraded = db.open_store(f"sqlite:///{path}")
    with upgraded.read() as conn:
        rows = conn.execute(text("SELECT version, roomsops_version FROM schema_version ORDER BY version"))
        assert [tuple(r) for r in rows] == [
            (1, "0.1.0"),
            (2, "0.1.0.dev0"),
            (3, "0.1.0.dev0"),
            (4, "0.1.0.dev0"),
            (5, "0.1.0.dev0"),
            (6, "0.1.0.dev0"),
            (7, "0.1.0.dev0"),
            (8, "0.1.0.dev0"),
            (9, "0.1.0.dev0"),
            (10, "0.1.0.dev0"),
            (11, "0.1.0.dev0"),
            (12, "0.1.0.dev0"),
            (13, "0.1.0.dev0"),
            (14, "0.1.0.dev0"),
        ]
        uuid.UUID(db.installation_id(conn))
        persons = {p.email: p for p in db.list_persons(conn)}
        assert persons["lee@contoso.com"].name == 'Lee Gu; "Ops" $(whoami) Zoë'
        assert {p.conflict_behaviour for p in persons.values()} == {"Rollback"}
        found = {b.id: b for b in db.list_bookings(conn, db.BookingQuery())}
    upgraded.close()
    assert found[1].attendees == ("adelev@contoso.com", "lee@contoso.com")
    assert found[2].attendees == () and found[3].attendees == ()
    assert [(b.free_busy, b.version, b.status) for b in found.values()] == [
        ("Busy", 1, "active"),
        ("Busy", 1, "cancelled"),
        ("Busy", 1, "sync_disabled"),
    ]
    assert found[1].start == datetime(2031, 3, 31, 7, 0, tzinfo=UTC)
    assert found[3].reminder_minutes == 0 and found[2].private is True
    # Bookings made before schema 8 have no tag key: their meetings keep the plain id as their booking tag.
    assert {b.tag_key for b in found.values()} == {None}
    # The upgraded schema is the one a new database gets.
    assert _shape(path) == _shape(tmp_path / "new.db")
    assert V1_FIXTURE.read_bytes() == original


def test_a_failing_upgrade_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rooms.db"
    shutil.copyfile(V1_FIXTURE, path)
    before = dump(path)
    real = migrations.STEPS[1]

    def half_done(conn: object, now: datetime) -> None:
        real(conn, now)  # type: ignore[arg-type]
        raise RuntimeError("power cut")

    monkeypatch.setitem(migrations.STEPS, 1, half_done)
    with pytest.raises(RuntimeError, match="power cut"):
        db.open_store(f"sqlite:///{path}")
    assert dump(path) == before
    monkeypatch.setitem(migrations.STEPS, 1, real)
    db.open_store(f"sqlite:///{path}").close()
    assert dump(path) != before


def test_the_fixture_script_regenerates_the_fixture(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_v1", V1_FIXTURE.with_name("make_v1_database.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.make(tmp_path / "again.db")
    assert dump(made) == dump(V1_FIXTURE)


def test_relative_sqlite_paths_follow_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    toml = tmp_path / "conf" / "roomsops.toml"
    toml.write_text('[rooms]\ndatabase = "sqlite:///data/rooms.db"\n', encoding="utf-8")
    assert database_url(load_settings(str(toml), environ={})).database == str(
        tmp_path / "conf" / "data" / "rooms.db"
    )
    # Without a settings file: the data folder, not the working folder (issue 21.9).
    machine = {"ROOMSOPS_DATA_DIR": str(tmp_path / "machine")}
    assert database_url(load_settings(None, environ=machine)).database == str(
        tmp_path / "machine" / "rooms.db"
    )
    absolute = f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url(load_settings(None, environ={"ROOMSOPS_ROOMS_DATABASE": absolute})).database == str(
        tmp_path / "x.db"
    )
    with pytest.raises(InputError, match="is not a database URL"):
        database_url(load_settings(None, environ={"ROOMSOPS_ROOMS_DATABASE": "rooms.db"}))


# ---------------------------------------------------------------- times


def test_times_come_back_aware_in_utc_and_naive_times_are_refused(
    store: db.Store, ids: dict[str, int]
) -> None:
    zurich = timezone(timedelta(hours=2))
    with store.write() as conn:
        booking_id = db.insert_booking(
            conn,
            db.NewBooking(ids["person"], ids["eiger"], "t", datetime(2031, 3, 31, 9, tzinfo=zurich), at(10)),
            db.now_utc(),
        )
        booking = db.get_booking(conn, booking_id)
    assert booking is not None and booking.start == at(7) and booking.start.tzinfo is UTC
    with pytest.raises(StatementError, match="naive datetime"), store.write() as conn:
        db.insert_booking(
            conn,
            db.NewBooking(ids["person"], ids["eiger"], "t", datetime(2031, 1, 1, 9), at(10)),
            db.now_utc(),
        )


# ---------------------------------------------------------------- persons upsert


def test_upsert_adds_updates_and_skips_unchanged_matching_case_insensitively(store: db.Store) -> None:
    fields = db.PersonFields
    with store.write() as conn:
        db.upsert_persons(
            conn,
            [
                fields("Diego@contoso.com", "Diego", "O365", "https://o/EWS/Exchange.asmx", "Rollback"),
                fields("adele@contoso.com", "Adele", "None", None, "Rollback"),
            ],
            db.now_utc(),
        )
    with store.write() as conn:
        counts = db.upsert_persons(
            conn,
            [
                fields("diego@CONTOSO.com", "Diego S.", "O365", "https://o/EWS/Exchange.asmx", "Cancel"),
                fields("adele@contoso.com", "Adele", "None", None, "Rollback"),
                fields("lee@contoso.com", "Lee", "EWS2", "https://m/EWS/Exchange.asmx", "Rollback"),
            ],
            db.now_utc(),
        )
        persons = db.list_persons(conn)
    assert counts == db.UpsertCounts(("lee@contoso.com",), ("diego@CONTOSO.com",), ("adele@contoso.com",))
    assert [(p.email, p.name, p.conflict_behaviour) for p in persons] == [
        ("adele@contoso.com", "Adele", "Rollback"),
        ("diego@CONTOSO.com", "Diego S.", "Cancel"),
        ("lee@contoso.com", "Lee", "Rollback"),
    ]
    with store.read() as conn:
        assert [p.email for p in db.list_persons(conn, ["EWS2", "None"])] == [
            "adele@contoso.com",
            "lee@contoso.com",
        ]


# ---------------------------------------------------------------- the overlap rule


@pytest.mark.parametrize(
    ("start", "end", "overlaps"),
    [
        (8, 9, False),  # ends when the other starts: [8-9) and [9-10) touch
        (10, 11, False),  # starts when the other ends
        (9, 10, True),
        (8, 11, True),  # contains it
        (9.25, 9.75, True),  # inside it
        (8, 9 + 1 / 60, True),  # one minute in
        (10 - 1 / 60, 12, True),
    ],
)
def test_overlap_is_half_open(
    store: db.Store, ids: dict[str, int], start: float, end: float, overlaps: bool
) -> None:
    existing = book(store, ids, 9, 10)
    with store.read() as conn:
        found = db.overlapping_bookings(conn, ids["eiger"], at(start), at(end))
    assert [b.id for b in found] == ([existing] if overlaps else [])


def test_cancelled_bookings_hold_nothing_sync_disabled_ones_do(store: db.Store, ids: dict[str, int]) -> None:
    book(store, ids, 9, 10, status="cancelled")
    disabled = book(store, ids, 11, 12, status="sync_disabled")
    book(store, ids, 9, 12, room="moench")
    with store.read() as conn:
        assert db.overlapping_bookings(conn, ids["eiger"], at(9), at(10)) == []
        assert [b.id for b in db.overlapping_bookings(conn, ids["eiger"], at(9), at(12))] == [disabled]
        # a booking never conflicts with itself (updates exclude it)
        assert db.overlapping_bookings(conn, ids["eiger"], at(11), at(12), exclude_id=disabled) == []


def test_update_bumps_the_version_and_checks_the_expected_one(store: db.Store, ids: dict[str, int]) -> None:
    booking_id = book(store, ids, 9, 10)
    with store.write() as conn:
        changed = db.update_booking(
            conn, booking_id, {"title": "new", "attendees": ["a@contoso.com"]}, db.now_utc(), 1
        )
    assert (changed.title, changed.attendees, changed.version) == ("new", ("a@contoso.com",), 2)
    with pytest.raises(OperationFailed, match="changed meanwhile"), store.write() as conn:
        db.update_booking(conn, booking_id, {"title": "stale"}, db.now_utc(), expected_version=1)


# ---------------------------------------------------------------- one writer at a time


def test_a_second_writer_waits_and_then_sees_the_first_ones_booking(
    store: db.Store, ids: dict[str, int]
) -> None:
    """Check-then-insert in two concurrent writers: the second waits for BEGIN IMMEDIATE, then
    finds the slot taken. Without the write lock both would see a free room."""
    checked = threading.Event()
    release = threading.Event()
    seen_by_second: list[int] = []

    def first() -> None:
        with store.write() as conn:
            assert db.overlapping_bookings(conn, ids["eiger"], at(9), at(10)) == []
            checked.set()
            release.wait(5)
            db.insert_booking(
                conn, db.NewBooking(ids["person"], ids["eiger"], "first", at(9), at(10)), db.now_utc()
            )

    def second() -> None:
        with store.write() as conn:
            seen_by_second.extend(b.id for b in db.overlapping_bookings(conn, ids["eiger"], at(9), at(10)))

    one = threading.Thread(target=first)
    one.start()
    assert checked.wait(5)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.3)
    assert two.is_alive()  # blocked on the write lock, not reading a stale "free"
    release.set()
    one.join(5)
    two.join(5)
    assert seen_by_second == [1]


def test_a_writer_that_waits_too_long_gets_a_clear_error(store: db.Store, tmp_path: Path) -> None:
    impatient = db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}", busy_timeout_ms=50)
    try:
        with store.write() as conn:
            conn.execute(text("UPDATE installation SET slot = 1"))
            with pytest.raises(OperationFailed) as caught, impatient.write():
                pass
            # readers are not blocked by the writer (WAL)
            with impatient.read() as reader:
                assert reader.execute(text("SELECT count(*) FROM persons")).scalar() == 0
    finally:
        impatient.close()
    assert caught.value.code == "database_busy"
    assert "another roomsops command is writing to it" in caught.value.one_line()


# ---------------------------------------------------------------- the sync's state


def test_booking_and_mailbox_sync_state_round_trip(store: db.Store, ids: dict[str, int]) -> None:
    booking_id = book(store, ids, 9, 10)
    state = db.BookingSyncState(booking_id, "Diego@contoso.com", "AAMk1", "CK1", {"subject": "t"}, 1)
    with store.write() as conn:
        saved = db.save_booking_sync(conn, state, db.now_utc())
        again = db.save_booking_sync(
            conn, state.__class__(**{**vars(state), "change_key": "CK2", "attempts": 1}), db.now_utc()
        )
        assert db.booking_sync_by_item(conn, "AAMk1") == again
        assert db.booking_sync_for_mailbox(conn, "DIEGO@contoso.com") == [again]
        db.save_mailbox_sync(conn, db.MailboxSyncState("Diego@contoso.com", "H4sI", at(9)), db.now_utc())
        mailbox = db.get_mailbox_sync(conn, "diego@contoso.com")
    assert (saved.mailbox, saved.snapshot, saved.change_key) == ("diego@contoso.com", {"subject": "t"}, "CK1")
    assert (again.change_key, again.attempts) == ("CK2", 1)
    assert mailbox is not None and (mailbox.sync_state, mailbox.last_pass) == ("H4sI", at(9))
    with store.write() as conn:
        db.delete_booking_sync(conn, booking_id)
        assert db.get_booking_sync(conn, booking_id) is None


def test_sync_mailboxes_and_bookings_in_window(store: db.Store, ids: dict[str, int]) -> None:
    with store.write() as conn:
        for email, mode in (("pull@contoso.com", "O365Pull"), ("graph@contoso.com", "Microsoft365")):
            db.insert_person(conn, db.PersonFields(email, "", mode, None, "Rollback"), db.now_utc())
    inside = book(store, ids, 9, 10, status="cancelled")
    book(store, ids, 30, 31)
    with store.read() as conn:
        assert [(m.email, m.kind, m.sync_mode) for m in db.sync_mailboxes(conn)] == [
            ("diego@contoso.com", "person", "O365"),
            ("graph@contoso.com", "person", "Microsoft365"),  # an access policy governs Graph too
            ("pull@contoso.com", "person", "O365Pull"),
            ("eiger@contoso.com", "room", None),
            ("moench@contoso.com", "room", None),
        ]
        assert [b.id for b in db.bookings_in_window(conn, "DIEGO@contoso.com", at(0), at(24))] == [inside]
        assert db.bookings_in_window(conn, "nobody@contoso.com", at(0), at(24)) == []


def test_schema_version_table_shape_is_frozen() -> None:
    assert [c.name for c in schema_version.columns] == ["version", "roomsops_version", "applied_utc"]
    assert str(insert(schema_version).compile()).startswith("INSERT INTO schema_version")


def test_a_deleted_bookings_id_is_never_given_again(tmp_path: Path) -> None:
    """SQLite gives max(id) + 1: after `rooms remove` deleted the last booking, the next one got its id, and the
    sync's look-up by tag adopted the old booking's meeting. The upgrade seeds the high-water mark with the
    highest id a database has; every insert raises it."""
    path = tmp_path / "rooms.db"
    shutil.copyfile(V1_FIXTURE, path)
    store = db.open_store(f"sqlite:///{path}")
    with store.write() as conn:
        highest = conn.execute(text("SELECT max(id) FROM bookings")).scalar()
        assert highest is not None
        last = db.get_booking(conn, highest)
        assert last is not None
        db.delete_bookings(conn, [highest])
        start = datetime(2031, 1, 6, 8, tzinfo=UTC)
        new = db.NewBooking(last.organizer_id, last.room_id, "again", start, start + timedelta(hours=1))
        first = db.insert_booking(conn, new, db.now_utc())
        db.delete_bookings(conn, [first])
        second = db.insert_booking(conn, new, db.now_utc())
    assert (first, second) == (highest + 1, highest + 2)
