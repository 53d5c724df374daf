"""review21d: `rooms remove --leave-meetings` (fix21cc, review21c finding 19). The record goes, its cancelled
bookings are deleted, and the meetings stay in the organizers' calendars. What the command then tells the
administrator to do with them must work for that situation (issue 21.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def test_the_way_to_cancel_a_room_removals_meetings_cancels_only_those(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """DiegoS organizes "Zurich call" in room-zurich and "Bern call" in room-bern, both synced. `rooms remove
    room-zurich --cancel-bookings --leave-meetings --yes` removes the room and deletes booking 1, leaving its meeting
    in DiegoS's calendar, and says: "cancel them there if they still exist (e.g. Remove-CalendarEvents -Identity
    <organizer> -CancelOrganizedMeetings -QueryWindowInDays 365)". For a room removal the organizer is an active
    person: that cmdlet cancels every meeting DiegoS organizes for a year — "Bern call" and all his meetings
    roomsops never made — not the one left behind. The booking ids it names no longer exist (deleted), so nothing
    else identifies the meeting. Expected: the remedy names where the meeting is (organizer, title, time) and no
    command that cancels the organizer's other meetings."""
    zurich, bern, diego = addr("room-zurich"), addr("room-bern"), addr("DiegoS")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", env=env))
    ok(invoke("persons", "add", diego, env=env))
    for title, room, hour in (("Zurich call", zurich, 0), ("Bern call", bern, 2)):
        start = TOMORROW + timedelta(hours=hour)
        times = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
        ok(invoke("bookings", "add", "--organizer", diego, "--room", room, *times, "--title", title, env=env))
    ok(invoke("sync", env=env))

    run = ok(invoke("rooms", "remove", zurich, "--cancel-bookings", "--leave-meetings", "--yes", env=env))
    text = run.out + run.err
    assert "CancelOrganizedMeetings" not in text, text
    assert diego.lower() in text.lower() and "Zurich call" in text, text
