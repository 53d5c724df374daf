"""fix19t (issue 19): over Microsoft Graph an update never writes over an Outlook edit of a field it writes. The
PATCH says If-Match with the change key the pass read; a 412 (changed meanwhile) used to be read again and the same
body written once more on the current version, so an Outlook edit made between the pass's read and its write was
lost for good (last writer wins) — the loss fix19s removed over EWS (NeverOverwrite). Now the event is read: an edit
of a field the update writes fails the write as a conflict (reported; the next pass reads the edit and merges it:
the same field, ROOMS wins and a difference is recorded), a change elsewhere only gets the update made once more.

The sequence is fix19s's shrunk one (soak seed 35003) over Graph: Sync-Master Bern, Bern added in Outlook to booking
3's meeting, then a ROOMS title edit and a pass that first takes Bern off the meeting (a PATCH, read back), then
writes the title (a PATCH with the change key read before), the Outlook subject edit landing between the two (two
requests after the first PATCH: after the read-back; with one it lands before the read-back, which reads it). It
failed with the soak's message before ("I2: booking 3: the Outlook subject … is neither in the booking …")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


def test_an_outlook_edit_between_read_and_patch_is_not_written_over(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES), backend="graph")()
    state.sync_master(on=True, room="room-bern")
    state.outlook_second_room(how="attendee", pick=3323)
    state.outlook_edit_after_write(choice=0, later=2, outlook="subject", pick=104, rooms="title")
    state.settle()
    state.teardown()
