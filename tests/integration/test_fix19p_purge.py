"""fix19p: the soak's open finding at the end of stop 32 (seeds 32700 and 32500, "I5: room room-zurich holds the
slot: DiegoS left the sync with on_person_removed = purge, but the room still holds the slot"). A meeting dragged
to Deleted Items in Outlook (MoveItem: no cancellation, the room keeps its copy) and then its person leaving the
sync with `sync.on_person_removed = "purge"` before any pass read the deletion: the purge found no meeting in the
calendar to cancel, held the booking back as purged, and left the room holding the slot with no word. The purge
now removes the room's copy (by the meeting's UID) as a pass does for a meeting deleted without a cancellation.
Built from the soak's steps with the checker's own machine (the lab on 127.0.0.1, the CLI, real EWS over TLS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]

FAMILIES = frozenset(
    {"rooms_add", "room_answers", "outlook_second_room", "outlook_delete_silent", "persons_leave"}
)


def _live_copies(state: Any, room: str, uid: str) -> list[dict[str, Any]]:
    return [i for i in state.world.calendar(room) if i["uid"] == uid and not i["is_cancelled"]]


def test_a_purge_frees_the_room_of_a_meeting_dragged_to_deleted_items_before_any_pass(
    lab: Any, tmp_path: Path
) -> None:
    """Engine: booking 1 (DiegoS, Zürich) has its meeting dragged to Deleted Items, and DiegoS leaves the sync
    (mode None, purge) before a pass reads it. The room answers the request only after the purging pass (the lab's
    room answers late): its acceptance holds the slot again. Before the fix Zürich kept the slot (the soak's I5
    message); now the purging pass finds no meeting to cancel and watches the room, and the next pass removes
    Zürich's copy. The booking stays active, held back (a purge cancels meetings, not bookings)."""
    state = machine_for(lab.lab, tmp_path, FAMILIES)()
    booking = state.world.booking(1)
    assert booking is not None and booking["organizer"].lower().startswith("diegos")
    meeting = state.world.meeting_of(booking)
    assert meeting is not None
    room = booking["room"]
    state.outlook_delete_silent(how="move", pick=0)  # booking 1's meeting: MoveItem sends nothing
    state.persons_leave(how="None", person="DiegoS", purge=True)
    state.sync()  # the purge: no meeting left in the calendar to cancel
    state.room_answers()  # Zürich accepts the request it got before the deletion
    assert len(_live_copies(state, room, meeting["uid"])) == 1  # the room holds the slot again
    state.sync()
    assert _live_copies(state, room, meeting["uid"]) == []
    after = state.world.booking(1)
    assert after is not None and after["status"] == "active"
    state.teardown()  # the checker's settle and its I5 (rooms' calendars) find nothing


def test_a_purge_after_a_reported_second_room_frees_the_bookings_room(lab: Any, tmp_path: Path) -> None:
    """Engine and oracle: the same with Bern added to the meeting in Outlook as a resource first, and a pass that
    reports the second ROOMS room (not booked). The purge frees Zürich, the booking's room; Bern's copy of the
    deleted meeting stays, as it does for a person still synced (roomsops never booked Bern, and said so): the
    oracle excused it only while the person was synced, and now also after the leave."""
    state = machine_for(lab.lab, tmp_path, FAMILIES)()
    booking = state.world.booking(1)
    assert booking is not None
    meeting = state.world.meeting_of(booking)
    assert meeting is not None
    state.room_answers()
    assert len(_live_copies(state, booking["room"], meeting["uid"])) == 1
    state.outlook_second_room(how="resource", pick=0)
    state.sync()
    assert state.model.second_room_reported(1)
    state.outlook_delete_silent(how="move", pick=0)
    state.persons_leave(how="None", person="DiegoS", purge=True)
    state.sync()
    assert _live_copies(state, booking["room"], meeting["uid"]) == []
    state.teardown()


def test_a_purge_after_a_second_room_added_and_deleted_before_any_pass(lab: Any, tmp_path: Path) -> None:
    """Oracle: Bern added and the meeting dragged away before any pass read it: roomsops never saw Bern, so its copy
    is nobody's to free (the excuse a synced person had); Zürich is freed by the purge."""
    state = machine_for(lab.lab, tmp_path, FAMILIES)()
    booking = state.world.booking(1)
    assert booking is not None
    meeting = state.world.meeting_of(booking)
    assert meeting is not None
    state.outlook_second_room(how="resource", pick=0)
    state.outlook_delete_silent(how="move", pick=0)
    state.persons_leave(how="None", person="DiegoS", purge=True)
    state.sync()
    assert _live_copies(state, booking["room"], meeting["uid"]) == []
    state.teardown()
