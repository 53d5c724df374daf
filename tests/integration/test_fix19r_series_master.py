"""fix19r: soak seed 33805 (stop 33's 30-minute soak on db7d464; replayed on a5ebe48 with `SYNC_CHECKER_FAMILIES=all
scripts/soak --backend ews --seed 33805 --batches 1 --examples 10 --steps 30` once the replay's first finding, an oracle
error, was fixed: test_fix19r_second_room_attendee.py). "I5: booking 8 ("S 6 Zoë's plan") and its meeting disagree:
start: booking 2026-12-06 12:00, meeting 2026-12-05 12:00", I2 for start and end, and Zürich holding 2026-12-05
12:00. A lab fidelity gap: `conflict_rollback` moved DiegoS' weekly Sunday series (a ROOMS series) by its master onto
a Saturday slot through the lab's Outlook edit, which stored the master at the Saturday as sent and sent the room
that. Exchange keeps a master on its first occurrence (UpdateItem: the lab's `normalise_master`), so the series stays
on Sundays at the new time of day, which the engine read by original start and applied. The lab's Outlook edit of a
master now stores it as UpdateItem does; the checker records the times Exchange stored (docs/sync-checker.md,
"fix19r").

The soak's printed sequence was replayed here too until speed37 dropped it (git log of this file): on e5f98dc with
the lab's Outlook edit storing a master's times as sent again, the three steps below fail with the replay's I5."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


def test_a_series_moved_by_its_master_onto_a_day_off_its_pattern(lab: Any, tmp_path: Path) -> None:
    """The three steps that matter: a ROOMS series of DiegoS (Rollback) in Zürich, synced; its master moved in
    Outlook onto booking 3's slot, the Saturday before its first Sunday."""
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES))()
    state.rooms_series(day=2, hour=13, op="create", person="DiegoS", pick=528, room="room-zurich", which=0)
    state.settle()
    state.conflict_rollback(pick=1)
    state.room_answers()
    state.teardown()
