"""Review 19d: `sync resolve --use ignore` of a room difference sticks across a later ROOMS write of another field
(bug 11's family `resolve_ignore`, found by the 30-min soak on b68b4f7, seeds 3005 and 3006; docs/sync-checker.md,
"Findings").

The engine wrote every field that differs from the snapshot, and after the ignore the snapshot holds the meeting's
(Outlook's) room: the next write of an unrelated ROOMS edit put ROOMS' room back into the meeting, undoing the
ignore in Exchange (the room the organizer chose lost the slot), and when Outlook set the ignored room again the
pass recorded the same difference again. Deterministic: checker steps without races, each waiting for what it does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


def test_an_ignored_room_stays_through_a_rooms_edit_of_another_field(lab: Any, tmp_path: Path) -> None:
    families = frozenset(
        {"rooms_add", "room_answers", "rooms_edit", "resolve_ignore", "outlook_room_attendees"}
    )
    state = machine_for(lab.lab, tmp_path, families)()
    bern = state.world.addr("room-bern").lower()
    state.resolve_ignore(choice=0, pick=0, room=True)  # booking 1's meeting to Bern, recorded, ignored
    booking = state.world.booking(1)
    assert booking is not None and booking["room"].lower() != bern
    assert state.model.ignored.get(1) == {"room": bern}
    state.rooms_edit(choice=1, day=2, hour=9, pick=0, what="attendees")  # a ROOMS edit of another field
    assert state.world.booking(1)["attendees"] != booking["attendees"]  # type: ignore[index]
    state.sync()
    meeting = state.world.meeting_of(state.world.booking(1))  # type: ignore[arg-type]
    assert meeting is not None
    # The attendees are written; the ignored room stays as the organizer set it (before: back to Zürich).
    assert [r["email"].lower() for r in meeting["resources"]] == [bern]
    assert sorted(a["email"].lower() for a in meeting["required_attendees"]) == sorted(
        a.lower()
        for a in state.world.booking(1)["attendees"]  # type: ignore[index]
    )
    # Outlook sets the ignored room again: no change, nothing recorded again (before: I5, "the difference in room
    # settled with `sync resolve --use ignore` is recorded again").
    state.outlook_room_attendees(choice=0, pick=0, room=True)
    state.settle()
    assert not [d for d in state.world.differences() if d["booking_id"] == 1]
    state.teardown()
