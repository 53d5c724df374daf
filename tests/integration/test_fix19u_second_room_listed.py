"""fix19u: soak seed 40000 (`SYNC_CHECKER_FAMILIES=all scripts/soak --minutes 30 --seed 40000 --backend mixed` on
1e10ab6; docs/sync-checker.md, "fix19u"): "I5: booking 2 ('AdeleV weekly') and its meeting disagree, nothing
recorded: attendees: booking [], meeting ['room-zurich@…']" — an oracle error.

The soak printed 28 steps; bisection (dropping steps while it still failed) left two, on AdeleV's booking 2 (booked
in Bern): `outlook_room_attendees(room=True)` (Outlook moves the meeting to Zürich: its only resource) and
`outlook_second_room(how='attendee')`, which added "the other room than the booking's", Zürich, to the required
attendees of a meeting that already listed it as its resource. Outlook lists a recipient once; the lab stored it
twice, and the engine rightly took Zürich on the To line for the meeting's own room (docs/sync.md: the meeting's
room listed as a required attendee is still its room): it recorded the room difference (Bern in ROOMS, Zürich in
Exchange) and no attendee difference. The checker's hand now adds no room the meeting lists as a resource already.
Both tests failed before with the soak's message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


def test_the_shrunk_sequence_holds_every_invariant(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES), backend="mixed")()
    state.outlook_room_attendees(choice=0, pick=1192, room=True)
    state.outlook_second_room(how="attendee", pick=64)
    state.teardown()


def test_the_soaks_printed_sequence_holds_every_invariant(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES), backend="mixed")()
    state.conflict_cancel(pick=1291)
    state.outlook_delete(how="delete", pick=222)
    state.outlook_two_rooms(day=4, first="room-zurich", hour=16, how="resource", person="AdeleV")
    state.outlook_empty_subject(day=4, hour=7, person="AdeleV")
    state.foreign_item(day=2, hour=10, kind="untagged", person="AdeleV")
    state.outlook_edit(choice=0, day=3, hour=8, pick=9999, what="subject")
    state.room_answers()
    state.outlook_room_attendees(choice=0, pick=1192, room=True)
    state.fault_401(operation="CreateItem")
    state.room_answers()
    state.kill(kill_at=1)
    state.kill(kill_at=7)
    state.outlook_empty_subject(day=1, hour=13, person="AlexW")
    state.room_declines(day=1, hour=11, reason="window", room="room-zurich")
    state.conflict_cancel(pick=54)
    state.room_answers()
    state.fault_lost_answer(operation="CancelCalendarItem")
    state.fault_lost_answer(operation="DeleteItem")
    state.outlook_delete(how="delete", pick=658)
    state.outlook_room_attendees(choice=2, pick=2374, room=False)
    state.outlook_second_room(how="attendee", pick=64)
    state.fault_lost_answer(operation="CancelCalendarItem")
    state.foreign_item(day=3, hour=11, kind="other", person="AdeleV")
    state.fault_401(operation="CreateItem")
    state.room_answers()
    state.far_future(add=False, day=1, hour=10, pick=151)
    state.far_future(add=True, day=1, hour=7, pick=329)
    state.persons_leave(how="EWS1", person="DiegoS", purge=True)
    state.teardown()
