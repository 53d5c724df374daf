"""fix19q: the soak's sequence as it printed it (7f5a3c1, `SYNC_CHECKER_FAMILIES=all scripts/soak --minutes 30
--seed 33400`, batch seed 33403; replay `scripts/soak --backend ews --seed 33403 --batches 1 --examples 10 --steps
30`). Before the fix it ended in I5/I2: booking 5 ("Far 10 Zoë's plan", DiegoS) stayed active with no meeting and
Zürich held its slot: its meeting, created by a pass that held DiegoS' position for the new Outlook meeting awaiting
Zürich's answer, was hard-deleted in Outlook before the position moved on (test_fix19q_unseen.py has the few steps
that matter).

Shortened by trim33 to the printed steps 8-17 and 29-30 (of 30; the first seven — two other persons' meetings,
edits and a kill — and the eleven edits and faults between the hard delete and the room's answer were not needed):
with `MailboxSync._read_unseen` disabled these twelve still end in the same I5/I2 (booking 5, "Far 4 Zoë's
plan"), as the whole printed sequence did; with the fix they hold every invariant. The whole sequence:
`git show 365bcc8:tests/integration/test_fix19q_far_delete.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


def test_the_soaks_printed_sequence_holds_every_invariant(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES))()
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
    state.room_answers()
    state.sync()
    state.teardown()
