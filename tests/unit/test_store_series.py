"""Series in the ROOMS database (schema 11): occurrences as rows by original start, the overlap rule per occurrence,
windows over a series' whole span, and the upgrade of a schema-10 database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from roomsops.adapters import store as db
from roomsops.core import recurrence

V1_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "rooms-v1.db"
MONDAY = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Zurich


@pytest.fixture
def store(tmp_path: Path) -> Iterator[db.Store]:
    opened = db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    yield opened
    opened.close()


@pytest.fixture
def ids(store: db.Store) -> dict[str, int]:
    with store.write() as conn:
        person = db.insert_person(
            conn, db.PersonFields("diego@contoso.com", "Diego", "O365", None, "Rollback"), db.now_utc()
        )
        eiger = db.insert_room(conn, "eiger@contoso.com", "Eiger", False, db.now_utc())
    return {"person": person.id, "eiger": eiger.id}


def weekly(store: db.Store, ids: dict[str, int], weeks: int = 3, **second: object) -> int:
    """Mondays 09:00-10:00 Zurich from 2031-03-03; `second` changes the second occurrence."""
    starts = [MONDAY + timedelta(weeks=i) for i in range(weeks)]
    occurrences = [db.Occurrence(s, s, s + timedelta(hours=1)) for s in starts]
    if second:
        occurrences[1] = replace(occurrences[1], **second)  # type: ignore[arg-type]
    rec = recurrence.Recurrence(
        recurrence.Pattern(recurrence.WEEKLY, days_of_week=("monday",)),
        recurrence.Range(recurrence.NUMBERED, date(2031, 3, 3), number_of_occurrences=weeks),
        "Europe/Zurich",
    )
    with store.write() as conn:
        booking_id = db.insert_booking(
            conn,
            db.NewBooking(
                ids["person"], ids["eiger"], "Jour fixe", starts[0], starts[0] + timedelta(hours=1)
            ),
            db.now_utc(),
        )
        db.save_series(
            conn,
            booking_id,
            db.NewSeries(rec.pattern, rec.range, rec.time_zone, starts[-1].date(), tuple(occurrences)),
        )
    return booking_id


def test_a_series_comes_back_with_its_occurrences_and_what_each_changed(
    store: db.Store, ids: dict[str, int]
) -> None:
    moved = MONDAY + timedelta(weeks=1, hours=5)
    booking_id = weekly(store, ids, start=moved, end=moved + timedelta(hours=1), changes={"title": "Review"})
    with store.read() as conn:
        booking = db.get_booking(conn, booking_id)
    assert booking is not None and booking.series is not None
    assert booking.series.description == "weekly on Monday from 2031-03-03, 3 times"
    assert [(o.original_start, o.start, o.moved, o.changes) for o in booking.series.occurrences] == [
        (MONDAY, MONDAY, False, {}),
        (MONDAY + timedelta(weeks=1), moved, True, {"title": "Review"}),
        (MONDAY + timedelta(weeks=2), MONDAY + timedelta(weeks=2), False, {}),
    ]


def test_each_active_occurrence_holds_the_room_at_its_own_time(store: db.Store, ids: dict[str, int]) -> None:
    moved = MONDAY + timedelta(weeks=1, hours=5)  # 14:00-15:00 on the second Monday
    booking_id = weekly(store, ids, start=moved, end=moved + timedelta(hours=1), changes={"title": "Review"})
    third = MONDAY + timedelta(weeks=2)
    with store.read() as conn:

        def held(start: datetime, hours: float = 1, **exclude: object) -> list[tuple[int, datetime, str]]:
            found = db.overlapping_bookings(
                conn,
                ids["eiger"],
                start,
                start + timedelta(hours=hours),
                **exclude,  # type: ignore[arg-type]
            )
            return [(b.id, b.start, b.title) for b in found]

        assert held(third) == [(booking_id, third, "Jour fixe")]
        assert held(third + timedelta(hours=1)) == []  # half-open, as for single bookings
        assert held(MONDAY + timedelta(weeks=1)) == []  # the second occurrence moved away from 09:00
        assert held(moved) == [(booking_id, moved, "Review")]  # to 14:00, with its own title
        assert held(MONDAY, hours=24 * 21) == [
            (booking_id, MONDAY, "Jour fixe"),
            (booking_id, moved, "Review"),
            (booking_id, third, "Jour fixe"),
        ]
        assert held(moved, exclude_occurrence=(booking_id, MONDAY + timedelta(weeks=1))) == []
        assert held(MONDAY, hours=24 * 21, exclude_id=booking_id) == []


def test_a_cancelled_occurrence_or_series_holds_nothing(store: db.Store, ids: dict[str, int]) -> None:
    booking_id = weekly(store, ids, status="cancelled")
    with store.read() as conn:
        assert (
            db.overlapping_bookings(
                conn, ids["eiger"], MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=1, hours=1)
            )
            == []
        )
        assert len(db.overlapping_bookings(conn, ids["eiger"], MONDAY, MONDAY + timedelta(weeks=3))) == 2
    with store.write() as conn:
        db.update_booking(conn, booking_id, {"status": "cancelled"}, db.now_utc())
    with store.read() as conn:
        assert db.overlapping_bookings(conn, ids["eiger"], MONDAY, MONDAY + timedelta(weeks=3)) == []


def test_a_window_finds_a_series_by_any_of_its_occurrences(store: db.Store, ids: dict[str, int]) -> None:
    booking_id = weekly(store, ids)
    last = MONDAY + timedelta(weeks=2)
    with store.read() as conn:

        def listed(start: datetime | None, end: datetime | None) -> list[int]:
            return [b.id for b in db.list_bookings(conn, db.BookingQuery(start=start, end=end))]

        # The booking's own row holds the first occurrence only; the window sees the last one too.
        assert listed(last, last + timedelta(hours=1)) == [booking_id]
        assert listed(last + timedelta(hours=1), last + timedelta(days=1)) == []
        assert listed(MONDAY - timedelta(days=1), MONDAY) == []
        assert listed(MONDAY + timedelta(days=1), MONDAY + timedelta(days=6)) == []  # between two occurrences
        assert listed(MONDAY + timedelta(days=1), None) == [booking_id]  # open windows too
        assert listed(None, MONDAY + timedelta(minutes=1)) == [booking_id]
        assert [
            b.id for b in db.bookings_in_window(conn, "diego@contoso.com", last, last + timedelta(days=1))
        ] == [booking_id]


def test_deleting_a_series_booking_deletes_its_rows(store: db.Store, ids: dict[str, int]) -> None:
    booking_id = weekly(store, ids)
    with store.write() as conn:
        db.delete_bookings(conn, [booking_id])
    with store.read() as conn:
        counts = [
            conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
            for t in ("booking_series", "booking_occurrences")
        ]
    assert counts == [0, 0]


def test_a_schema_10_database_upgrades_its_bookings_stay_single_and_take_series(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database as roomsops wrote it at schema 10 (the v1 fixture upgraded that far), then opened by this code."""
    path = tmp_path / "rooms.db"
    shutil.copyfile(V1_FIXTURE, path)
    monkeypatch.setattr(db.db, "SCHEMA_VERSION", 10)
    old = db.open_store(f"sqlite:///{path}")
    with old.read() as conn:
        assert conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() == 10
        assert "booking_series" not in inspect(conn).get_table_names()
    old.close()
    monkeypatch.undo()
    store = db.open_store(f"sqlite:///{path}")
    with store.read() as conn:
        assert conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() == db.SCHEMA_VERSION
        found = db.list_bookings(conn, db.BookingQuery())
        person, room = db.list_persons(conn)[0], db.list_rooms(conn)[0]
    assert [b.series for b in found] == [None, None, None]
    booking_id = weekly(store, {"person": person.id, "eiger": room.id})
    with store.read() as conn:
        booking = db.get_booking(conn, booking_id)
    store.close()
    assert booking is not None and booking.series is not None and len(booking.series.occurrences) == 3
