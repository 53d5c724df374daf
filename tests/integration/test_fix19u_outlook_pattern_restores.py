"""series36: soak seed 25062 (docs/sync-checker.md, fix25f: "series booking 4 has active occurrences Mon 2027-03-22
12:00Z and Sun 03-28 11:00Z in ROOMS, its meeting also shows Sun 03-21 12:00Z; nothing reported"). An engine bug.

Shrunk from 29 steps to six (the two lost answers are only passes here: no CancelCalendarItem or CreateItem is sent):
a ROOMS series across the March DST change, its pattern changed in ROOMS (Mon and Sun) and written, Outlook deletes
the 21 March occurrence (the pass cancels it in ROOMS), then Outlook sets the weekly pattern again (the same days):
Exchange drops every deleted occurrence with a new recurrence, so the 21st is back in the meeting. The engine read
the edit, but `series_from_exchange` keeps a series whose pattern and range Exchange still has as ROOMS wrote them
with ROOMS' occurrence rows, a cancelled one staying cancelled: ROOMS held the 21st cancelled while the meeting
showed it, and nothing was reported. With nothing of ROOMS unwritten, the occurrences are cancelled as Exchange's are
now (`exchange_cancels`); with a ROOMS change unwritten they stay as before (the edit is a difference)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]

FAMILIES = frozenset(
    ["rooms_series", "outlook_room_series", "room_answers", "outlook_edit", "fault_lost_answer"]
)


def test_an_occurrence_outlook_brought_back_with_a_pattern_set_again_is_active_in_rooms(
    lab: Any, tmp_path: Path
) -> None:
    state = machine_for(lab.lab, tmp_path, FAMILIES, backend="mixed")()
    state.rooms_series(
        day=1, dst=True, hour=13, op="create", person="AdeleV", pick=340, room="room-zurich", which=0
    )
    state.rooms_series(
        day=2, dst=True, hour=9, op="pattern", person="AdeleV", pick=1015, room="room-bern", which=0
    )
    state.fault_lost_answer(operation="CancelCalendarItem")
    state.outlook_room_series(
        day=3, hour=12, op="delete_one", person="AdeleV", pick=5559, room="room-bern", which=0
    )
    state.fault_lost_answer(operation="CreateItem")
    state.outlook_room_series(
        day=1, hour=7, op="pattern", person="AdeleV", pick=4273, room="room-zurich", which=0
    )
    state.settle()
    state.teardown()
