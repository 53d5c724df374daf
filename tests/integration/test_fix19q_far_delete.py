"""fix19q: the soak's sequence as it printed it (7f5a3c1, `SYNC_CHECKER_FAMILIES=all scripts/soak --minutes 30
--seed 33400`, batch seed 33403; replay `scripts/soak --backend ews --seed 33403 --batches 1 --examples 10 --steps
30`). Before the fix it ended in I5/I2: booking 5 ("Far 10 Zoë's plan", DiegoS) stayed active with no meeting and
Zürich held its slot: its meeting, created by a pass that held DiegoS' position for the new Outlook meeting awaiting
Zürich's answer, was hard-deleted in Outlook before the position moved on (test_fix19q_unseen.py has the few steps
that matter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


def test_the_soaks_printed_sequence_holds_every_invariant(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES))()
    state.outlook_new_meeting(day=4, hour=15, person="AdeleV", room="room-zurich")
    state.conflict_rollback(pick=7877)
    state.outlook_new_meeting(day=4, hour=7, person="AlexW", room="room-zurich")
    state.outlook_edit_after_write(choice=1, later=1, outlook="sensitivity", pick=18, rooms="reminder")
    state.outlook_delete_silent(how="soft", pick=364)
    state.outlook_edit_after_write(choice=0, later=1, outlook="subject", pick=246, rooms="reminder")
    state.kill(kill_at=4)
    state.rooms_add(attendees=("AlexW",), day=4, hour=7, person="DiegoS", room="room-zurich")
    state.outlook_new_meeting(day=4, hour=11, person="DiegoS", room="room-zurich")
    state.outlook_edit(choice=3, day=3, hour=7, pick=1910, what="subject")
    state.sync()
    state.fault_lost_answer(operation="CancelCalendarItem")
    state.resolve_ignore(choice=2, pick=255, room=True)
    state.far_future(add=True, day=3, hour=13, pick=38)
    state.rooms_subsecond(day=1, hour=8, millis=422, pick=76)
    state.sync()
    state.outlook_delete_silent(how="hard", pick=99)
    state.outlook_edit(choice=2, day=2, hour=13, pick=384, what="free_busy")
    state.outlook_all_day(day=2, person="DiegoS")
    state.outlook_delete_silent(how="move", pick=119)
    state.rooms_cancel(pick=54)
    state.outlook_edit_after_write(choice=2, later=1, outlook="free_busy", pick=5739, rooms="free_busy")
    state.rooms_subsecond(day=1, hour=8, millis=422, pick=76)
    state.resolve_ignore(choice=2, pick=241, room=True)
    state.fault_dropped(operation="DeleteItem")
    state.far_future(add=True, day=3, hour=13, pick=9999)
    state.fault_dropped(operation="GetItem")
    state.outlook_all_day(day=4, person="AlexW")
    state.room_answers()
    state.sync()
    state.teardown()
