"""The no-double-booking rule as a property: whatever is asked, active bookings of a room never overlap,
and a request is refused only when it really overlaps an active booking."""

from __future__ import annotations

import itertools
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from roomsops.adapters import store as db
from roomsops.core.errors import InputError
from roomsops.services.rooms import bookings as rooms

T0 = datetime(2031, 3, 31, 6, 0, tzinfo=UTC)
ZURICH = ZoneInfo("Europe/Zurich")

# (start minute, length in minutes, cancel it afterwards?)
requests = st.lists(
    st.tuples(st.integers(0, 240), st.integers(1, 120), st.booleans()), min_size=1, max_size=12
)


@settings(max_examples=30, deadline=None)
@given(requests)
def test_active_bookings_never_overlap(asked: list[tuple[int, int, bool]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = db.open_store(f"sqlite:///{Path(folder) / 'rooms.db'}")
        try:
            with store.write() as conn:
                db.insert_person(
                    conn, db.PersonFields("diego@contoso.com", "", "O365", None, "Rollback"), db.now_utc()
                )
                db.insert_room(conn, "eiger@contoso.com", "Eiger", False, db.now_utc())
            held: list[tuple[int, int, int]] = []  # (id, start, end) of active bookings, as the model sees it
            for start, length, cancel in asked:
                end = start + length
                request = rooms.BookingRequest(
                    "diego@contoso.com",
                    "eiger@contoso.com",
                    T0 + timedelta(minutes=start),
                    T0 + timedelta(minutes=end),
                    "t",
                )
                clash = [h for h in held if h[1] < end and start < h[2]]
                try:
                    with store.write() as conn:
                        booking = rooms.create_booking(conn, request, ZURICH)
                except InputError as exc:
                    assert exc.code == "room_taken"
                    assert clash, f"refused {start}-{end} though {held} leaves it free"
                    continue
                assert not clash, f"booked {start}-{end} over {clash}"
                if cancel:
                    with store.write() as conn:
                        db.update_booking(conn, booking.id, {"status": "cancelled"}, db.now_utc())
                else:
                    held.append((booking.id, start, end))
            with store.read() as conn:
                active = db.list_bookings(conn, db.BookingQuery(statuses=("active",)))
            assert [b.id for b in active] == [h[0] for h in sorted(held, key=lambda h: (h[1], h[0]))]
            assert all(a.end <= b.start for a, b in itertools.pairwise(active))
        finally:
            store.close()
