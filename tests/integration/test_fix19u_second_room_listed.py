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
Both the shrunk sequence and the soak's 28 steps failed before with the soak's message; speed37 dropped the 28
(git log of this file) once the shrunk one, on e5f98dc with the hand's check taken out again, failed with it too."""

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
