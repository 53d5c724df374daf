"""What a pass has to tell and has not said yet (schema 14, review25aa): stored per mailbox, read oldest first, dropped
by id only (one stored since stays), gone with its booking; the v13 -> v14 step on SQLite and PostgreSQL gives the
table a new database has."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from roomsops.adapters import store as db
from roomsops.adapters.store import SCHEMA_VERSION, Store, now_utc, open_store
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.schema import sync_notices
from tests.unit.test_store_room_asks import V1_FIXTURE, bookings_of, store

__all__ = ["store"]


@pytest.mark.both_databases
def test_notices_are_kept_per_mailbox_until_dropped(store: Store) -> None:
    made = bookings_of(store)
    adele, diego = made["adelev@contoso.com"], made["diegos@contoso.com"]
    with store.write() as conn:
        first = q.add_notices(conn, adele[0], "AdeleV@contoso.com", ["one", "two"], now_utc())
        q.add_notices(conn, diego[0], "diegos@contoso.com", ["three"], now_utc())
    with store.read() as conn:
        read = q.notices_of(conn, "adelev@contoso.com")
    assert [n for _, n in read] == ["one", "two"] and [i for i, _ in read] == first
    with store.write() as conn:  # stored after the pass read them: not dropped with them
        later = q.add_notices(conn, adele[1], "adelev@contoso.com", ["four"], now_utc())
        q.drop_notices(conn, [i for i, _ in read])
    with store.read() as conn:
        assert q.notices_of(conn, "adelev@contoso.com") == [(later[0], "four")]
    with store.write() as conn:
        db.delete_bookings(conn, [adele[1], *diego])  # a booking deleted takes its notices with it
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM sync_notices")).scalar() == 0


def shape(store: Store) -> tuple[Any, ...]:
    with store.read() as conn:
        found = inspect(conn)
        return (
            [(c["name"], str(c["type"]), bool(c["nullable"])) for c in found.get_columns(sync_notices.name)],
            found.get_pk_constraint(sync_notices.name)["constrained_columns"],
            sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                for f in found.get_foreign_keys(sync_notices.name)
            ),
            sorted((i["name"], tuple(i["column_names"])) for i in found.get_indexes(sync_notices.name)),
        )


@pytest.mark.both_databases
def test_the_v13_to_v14_step_gives_the_table_a_new_database_has(rooms_database: str, tmp_path: Path) -> None:
    url = rooms_database or f"sqlite:///{tmp_path / 'rooms.db'}"
    if not rooms_database:
        shutil.copyfile(V1_FIXTURE, tmp_path / "rooms.db")  # SQLite: up from schema 1, through every step
    fresh = open_store(url)
    made = shape(fresh)
    assert made[1] == ["id"] and made[2] == [(("booking_id",), "bookings", "CASCADE")], made
    with fresh.write() as conn:  # the database as schema 13 made it
        conn.execute(text("DROP TABLE sync_notices"))
        conn.execute(text("DELETE FROM schema_version WHERE version = 14"))
        if conn.execute(text("SELECT count(*) FROM schema_version")).scalar() == 0:  # created at 14
            conn.execute(
                text("INSERT INTO schema_version VALUES (13, '0.1.0', :now)"),
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
