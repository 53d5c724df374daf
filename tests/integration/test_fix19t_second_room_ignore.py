"""fix19t: soak seed 36004 (docs/sync-checker.md, "fix19t"): "I5: room room-bern does not hold the slot of active
booking 2 ('AdeleV weekly', …); the last pass reported nothing about it" (on 9685f00: room Zürich, booking 3). An
oracle error, not the engine's.

Shrunk (by dropping steps while it still failed) to three, on AdeleV's seeded series (booking 2, Bern):
`resolve_ignore(room=True)` (Outlook moves the meeting to Zürich; the pass records a room difference; `sync resolve
--use ignore`), `outlook_second_room(how='resource')` (Outlook lists Bern, the booking's room, first and Zürich
second), `resolve_ignore(room=True)` (Outlook lists Zürich alone again, then a pass). The engine saw Zürich before and
after (no pass between the two Outlook edits): the ignored difference stands, nothing new to record. The checker's
`_outlook_edit` drops an ignore whose value the meeting no longer holds unless Outlook changed that field in the same
epoch (else roomsops wrote it); `outlook_second_room` did not mark the room as Outlook-changed, so the model took
Bern, listed first by Outlook, for roomsops' write, dropped the ignore, and then judged the ignored room difference
(the booking in Bern, its meeting in Zürich) unrecorded. Fixed in the checker: `outlook_second_room` marks the
room (as a resource) or the attendees (as an attendee) in `Model.outlook_touched`. Both tests failed with that
message before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


def test_the_shrunk_sequence_holds_every_invariant(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES), backend="mixed")()
    state.resolve_ignore(choice=0, pick=1, room=True)
    state.outlook_second_room(how="resource", pick=1)
    state.resolve_ignore(choice=0, pick=1, room=True)
    state.rooms_subsecond(
        day=2, hour=7, millis=609, pick=1
    )  # the booking moved: no copy of Bern's at its slot
    state.settle()
    state.teardown()


def test_the_soaks_printed_sequence_holds_every_invariant(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES), backend="mixed")()
    state.rooms_subsecond(day=4, hour=11, millis=128, pick=632)
    state.outlook_second_room(how="resource", pick=0)
    state.rooms_add(attendees=(), day=1, hour=8, person="AdeleV", room="room-bern")
    state.outlook_delete(how="delete", pick=816)
    state.invalid_sync_state()
    state.fault_double(first="CancelCalendarItem", second="http_401", then="FindItem", times=10)
    state.outlook_zero_length(day=1, hour=8, person="AdeleV")
    state.invalid_sync_state()
    state.outlook_room_series(
        day=4, hour=14, op="move_one", person="DiegoS", pick=35, room="room-bern", which=2
    )
    state.rooms_subsecond(day=2, hour=10, millis=254, pick=651)
    state.outlook_room_series(
        day=4, hour=13, op="delete_one", person="AdeleV", pick=7263, room="room-zurich", which=0
    )
    state.outlook_zero_length(day=2, hour=8, person="AlexW")
    state.rooms_cancel(pick=7594)
    state.fault_401(operation="DeleteItem")
    state.outlook_two_rooms(day=4, first="room-bern", hour=8, how="resource", person="DiegoS")
    state.outlook_restore(pick=388)
    state.fault_dropped(operation="UpdateItem")
    state.far_future(add=False, day=4, hour=12, pick=4441)
    state.rooms_add(attendees=("LeeG", "MeganB"), day=3, hour=13, person="AdeleV", room="room-zurich")
    state.resolve_ignore(choice=0, pick=492, room=True)
    state.outlook_delete(how="delete", pick=634)
    state.rooms_long_title(length=399, pick=489)
    state.invalid_sync_state()
    state.outlook_second_room(how="resource", pick=162)
    state.resolve_ignore(choice=0, pick=150, room=True)
    state.kill(kill_at=7)
    state.rooms_subsecond(day=2, hour=7, millis=609, pick=340)
    state.fault_dropped(operation="UpdateItem")
    state.conflict_cancel(pick=1753)
    state.fault_double(first="DeleteItem", second="http_503", then="FindItem", times=10)
    state.settle()
    state.teardown()
