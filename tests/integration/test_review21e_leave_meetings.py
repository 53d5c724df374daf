"""review21e: `rooms|persons remove --leave-meetings` (fix21d: "names each meeting left (organizer, title, room,
time)"). The meetings are left in Exchange; the lines are the administrator's only way to find them once the
bookings are deleted. They must therefore describe each meeting as it is in Exchange."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def test_leave_meetings_names_the_meeting_as_it_is_in_exchange(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS books room-zurich tomorrow 08:00-09:00 UTC, "Zurich call"; `sync` makes the meeting in his
    calendar. Then the booking is changed in ROOMS (`bookings update 1 --title "Board" --start +5 h`) and, before a
    sync pass carried that to Exchange (the organizer's mailbox out of reach is exactly when --leave-meetings is
    used: CHANGELOG fix21cc), `rooms remove room-zurich --cancel-bookings --leave-meetings --yes`.
    Expected (CHANGELOG review21d: "names each meeting left (organizer, title, room, time)"; remedy: "cancel each
    one in its organizer's calendar ... only these"): the line names the meeting that is in Exchange: "Zurich call"
    at 08:00 UTC, the title and time the administrator finds in DiegoS's calendar (the sync's snapshot of the item
    holds them).
    Actual: it names the booking's ROOMS-side values ("Board", 13:00 UTC), which no meeting in Exchange has; the
    real meeting ("Zurich call" at 08:00) is named nowhere, and with the booking deleted nothing else identifies
    it."""
    zurich, diego = addr("room-zurich"), addr("DiegoS")
    ok(invoke("rooms", "add", zurich, "--name", "Zurich", env=env))
    ok(invoke("persons", "add", diego, env=env))
    end = TOMORROW + timedelta(hours=1)
    ok(
        invoke(
            "bookings", "add", "--organizer", diego, "--room", zurich, "--start", TOMORROW.isoformat(),
            "--end", end.isoformat(), "--title", "Zurich call", env=env,
        )
    )  # fmt: skip
    ok(invoke("sync", env=env))
    moved = TOMORROW + timedelta(hours=5)
    ok(
        invoke(
            "bookings", "update", "1", "--title", "Board", "--start", moved.isoformat(),
            "--end", (moved + timedelta(hours=1)).isoformat(), env=env,
        )
    )  # fmt: skip

    run = ok(
        invoke("--json", "rooms", "remove", zurich, "--cancel-bookings", "--leave-meetings", "--yes", env=env)
    )
    left = json.loads(run.out)["meetings_left"]
    assert len(left) == 1, left
    assert left[0]["title"] == "Zurich call", left
    assert left[0]["start"] == TOMORROW.strftime("%Y-%m-%d %H:%M"), left
