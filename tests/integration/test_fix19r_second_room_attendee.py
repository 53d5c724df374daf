"""fix19r: the replay of soak seed 33805 on a5ebe48 (`SYNC_CHECKER_FAMILIES=all scripts/soak --backend ews --seed 33805
--batches 1 --examples 10 --steps 30`) as it printed it: "I5: booking 6 ("New 3 Zoë's plan") and its meeting disagree,
nothing recorded: attendees: booking ['room-bern…'], meeting ['room-bern…', 'room-bern…']" — an oracle error. Booking 6
came from an Outlook meeting inviting Zürich as a resource and Bern as a required attendee (`outlook_two_rooms`); the
booking keeps Bern among its attendees and the second room is reported. `outlook_second_room(how='attendee')` then
appended Bern to the required attendees again: the lab stored it twice, which Outlook never sends (a recipient is
listed once), and the engine, which reads attendees as a set, rightly saw no change. The checker's hand now adds the
other room only when it is not listed yet (docs/sync-checker.md, "fix19r")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


def test_the_soaks_printed_sequence_holds_every_invariant(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES))()
    state.room_answers()
    state.rooms_add(attendees=("LeeG", "MeganB"), day=4, hour=11, person="AlexW", room="room-bern")
    state.outlook_zero_length(day=2, hour=13, person="AlexW")
    state.outlook_two_rooms(day=2, first="room-zurich", hour=7, how="attendee", person="AlexW")
    state.invalid_sync_state()
    state.room_answers()
    state.rooms_add(attendees=(), day=2, hour=9, person="AdeleV", room="room-zurich")
    state.rooms_cancel(pick=211)
    state.outlook_edit(choice=0, day=4, hour=7, pick=2288, what="reminder")
    state.conflict_rollback(pick=256)
    state.outlook_odd_free_busy(day=1, hour=11, person="DiegoS", shown="WorkingElsewhere")
    state.rooms_long_title(length=310, pick=899)
    state.outlook_empty_subject(day=4, hour=11, person="AlexW")
    state.sync()
    state.outlook_new_meeting(day=3, hour=11, person="AlexW", room="room-zurich")
    state.fault_double(first="DeleteItem", second="http_503", then="FindItem", times=10)
    state.outlook_edit_after_write(choice=0, later=1, outlook="subject", pick=2120, rooms="reminder")
    state.resolve_ignore(choice=3, pick=335, room=False)
    state.outlook_second_room(how="attendee", pick=1372)
    state.outlook_second_room(how="resource", pick=613)
    state.outlook_room_attendees(choice=0, pick=5206, room=False)
    state.outlook_two_rooms(day=4, first="room-zurich", hour=11, how="attendee", person="AdeleV")
    state.sync()
    state.rooms_series(day=2, hour=11, op="move_one", person="AdeleV", pick=367, room="room-bern", which=0)
    state.settle()
    state.teardown()
