"""Bookings whose room is to be asked again (schema 13, review20q): marks per organizer, a mark made since a pass read
one is never cleared by that pass (its token), a deleted booking takes its mark with it, and the v12 -> v13 step on
SQLite and PostgreSQL gives the table a new database has."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from roomsops.adapters import store as db
from roomsops.adapters.store import SCHEMA_VERSION, Store, now_utc, open_store
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.schema import room_asks

V1_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "rooms-v1.db"
T9 = datetime(2031, 3, 31, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(rooms_database: str, tmp_path: Path) -> Iterator[Store]:
    """The test's database: SQLite in its folder, or its PostgreSQL schema (tests marked both_databases)."""
    opened = open_store(rooms_database or f"sqlite:///{tmp_path / 'rooms.db'}")
    try:
        yield opened
    finally:
        opened.close()


def bookings_of(store: Store) -> dict[str, list[int]]:
    """Two bookings of Adele's and one of Diego's, in one room (at other hours)."""
    out: dict[str, list[int]] = {}
    with store.write() as conn:
        room = db.insert_room(conn, "room-zurich@contoso.com", "Zürich", True, now_utc())
        for n, email in enumerate(["AdeleV@contoso.com", "diegos@contoso.com"]):
            person = db.insert_person(
                conn, db.PersonFields(email, email, "O365", None, "Rollback"), now_utc()
            )
            out[email.lower()] = [
                db.insert_booking(
                    conn,
                    db.NewBooking(
                        person.id,
                        room.id,
                        "t",
                        T9 + timedelta(hours=2 * i + 4 * n),
                        T9 + timedelta(hours=2 * i + 4 * n + 1),
                    ),
                    now_utc(),
                )
                for i in range(2 - n)
            ]
    return out


@pytest.mark.both_databases
def test_marks_are_read_per_organizer_and_a_pass_clears_only_the_mark_it_read(store: Store) -> None:
    made = bookings_of(store)
    adele, diego = made["adelev@contoso.com"], made["diegos@contoso.com"]
    with store.write() as conn:
        first = q.mark_room_asks(conn, [*adele, *diego], "Room-Zurich@contoso.com", now_utc())
    with store.read() as conn:
        read = q.room_asks_of(conn, "ADELEV@contoso.com")  # the organizer, by any case
        assert sorted(read) == adele
        assert {(m.room, m.token) for m in read.values()} == {("room-zurich@contoso.com", first)}
        assert sorted(q.room_asks_of(conn, "diegos@contoso.com")) == diego
    with store.write() as conn:  # marked again (another removal) after the pass read the first mark
        again = q.mark_room_asks(conn, [adele[1]], "room-zurich@contoso.com", now_utc())
    assert again != first
    with store.write() as conn:
        q.clear_room_asks(conn, read.values())
    with store.read() as conn:
        left = q.room_asks_of(conn, "adelev@contoso.com")
    assert [(m.booking_id, m.token) for m in left.values()] == [(adele[1], again)]
    with store.write() as conn:
        db.delete_bookings(conn, [adele[1], *diego])  # a booking deleted takes its mark with it
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM room_asks")).scalar() == 0


def shape(store: Store) -> tuple[list[tuple[str, str, bool]], list[str], list[Any]]:
    """room_asks' columns (name, type, nullable), primary key and foreign keys, as the database reports them."""
    with store.read() as conn:
        found = inspect(conn)
        columns = [
            (c["name"], str(c["type"]), bool(c["nullable"])) for c in found.get_columns(room_asks.name)
        ]
        key = list(found.get_pk_constraint(room_asks.name)["constrained_columns"])
        foreign = sorted(
            (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]), f["options"])
            for f in found.get_foreign_keys(room_asks.name)
        )
    return columns, key, foreign


@pytest.mark.both_databases
def test_the_v12_to_v13_step_gives_the_table_a_new_database_has(rooms_database: str, tmp_path: Path) -> None:
    url = rooms_database or f"sqlite:///{tmp_path / 'rooms.db'}"
    if not rooms_database:
        shutil.copyfile(V1_FIXTURE, tmp_path / "rooms.db")  # SQLite: up from schema 1, through every step
    fresh = open_store(url)
    made = shape(fresh)
    assert made[1] == ["booking_id"] and made[2][0][1] == "bookings"
    with fresh.write() as conn:  # the database as schema 12 made it
        conn.execute(text("DROP TABLE room_asks"))
        conn.execute(text("DROP TABLE sync_notices"))  # schema 14's
        conn.execute(text("DELETE FROM schema_version WHERE version >= 13"))
        if conn.execute(text("SELECT count(*) FROM schema_version")).scalar() == 0:  # created at 13 or later
            conn.execute(
                text("INSERT INTO schema_version VALUES (12, '0.1.0', :now)"),
                {"now": now_utc().replace(tzinfo=None)},
            )
    fresh.close()
    upgraded = open_store(url)
    try:
        assert shape(upgraded) == made
        with upgraded.read() as conn:
            assert conn.execute(text("SELECT max(version) FROM schema_version")).scalar() == SCHEMA_VERSION
    finally:
        upgraded.close()
