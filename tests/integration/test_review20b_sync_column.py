"""review20b: the `bookings list` sync column (README: "`linked`, `pending` (the next pass writes it)", docs: linked =
"its meeting is in Exchange as synced"). Lab over TLS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def sync_column(invoke: Invoke, env: dict[str, str]) -> dict[int, str]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b["sync"] for b in found}


def test_a_booking_changed_or_cancelled_in_rooms_is_pending_until_the_pass_writes_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Bookings 1 and 2 synced (linked). Booking 1 is moved and booking 2 cancelled in ROOMS: their meetings in
    Exchange are not as synced any more, the next pass writes them. Expected: both `pending`; actual: `linked`, an
    administrator reading the column believes Exchange already has the change."""
    zurich, diego = addr("room-zurich"), addr("DiegoS")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    for hour, title in ((2, "Moved"), (4, "Cancelled")):
        start = DAY + timedelta(hours=hour)
        add_hour_booking(invoke, env, diego, zurich, start, title)
    ok(invoke("sync", env=env))
    # Written; the room's answer not read by a pass yet: room-pending (review20i).
    assert sync_column(invoke, env) == {1: "room-pending", 2: "room-pending"}
    later = DAY + timedelta(hours=6)
    ok(
        invoke(
            "bookings",
            "update",
            "1",
            "--start",
            later.isoformat(),
            "--end",
            (later + timedelta(hours=1)).isoformat(),
            env=env,
        )
    )
    ok(invoke("bookings", "cancel", "2", "--yes", env=env))
    assert sync_column(invoke, env) == {1: "pending", 2: "pending"}
    ok(invoke("sync", env=env))
    assert sync_column(invoke, env) == {1: "room-pending", 2: "cancelled"}  # the move: no answer read yet


def test_a_booking_over_before_it_reached_exchange_is_not_pending(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """A booking recorded with --allow-past that is already over: every pass skips it ("past": no invitation for
    it, README). The column says `pending` ("the next pass writes it") on every pass, though no pass ever will."""
    zurich, diego = addr("room-zurich"), addr("DiegoS")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    start = (datetime.now(UTC) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            diego,
            "--room",
            zurich,
            "--start",
            start.isoformat(),
            "--end",
            (start + timedelta(hours=1)).isoformat(),
            "--title",
            "Yesterday",
            "--allow-past",
            env=env,
        )
    )
    run = json.loads(ok(invoke("--json", "sync", env=env)).out)
    assert run["mailboxes"][0]["skipped"] == {"past": 1}
    ok(invoke("sync", env=env))
    assert sync_column(invoke, env)[1] != "pending"
