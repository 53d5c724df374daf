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

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from roomsops.core.calendar import BackendError
from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

from .conftest import LabHelper, address
from .test_graph_backend import INSTALLATION, backend, fields, organized

pytestmark = [pytest.mark.integration]


def test_an_outlook_edit_between_read_and_patch_is_not_written_over(lab: Any, tmp_path: Path) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES), backend="graph")()
    state.sync_master(on=True, room="room-bern")
    state.outlook_second_room(how="attendee", pick=3323)
    state.outlook_edit_after_write(choice=0, later=2, outlook="subject", pick=104, rooms="title")
    state.settle()
    state.teardown()


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    """The session's lab, reset, with the Graph face's delta states, throttling and gate reset too."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def _outlook_subject(lab: LabHelper, mailbox: str, subject: str, edited: str) -> None:
    (item,) = [i for i in organized(lab, mailbox) if i["subject"] == subject]
    answer = lab.admin("PATCH", f"/lab/mailboxes/{mailbox}/calendar/{item['id']}", json={"subject": edited})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("attendees", [False, True], ids=["patch", "attendees"])
def test_an_update_over_an_outlook_edit_of_a_field_it_writes_is_a_conflict(
    graph_lab: LabHelper, attendees: bool
) -> None:
    """The backend alone: the meeting as the pass read it, then Outlook's subject edit, then roomsops' update of the
    subject (with the required attendees too: the write that reads the attendees just before its PATCH). The update
    fails as a conflict and Outlook's subject stays; a change of another field only is written over (the update is
    made once more: test_graph_backend)."""
    lab = graph_lab
    graph = backend(lab, [])
    diego = address(lab, "DiegoS")
    read = graph.create(diego, fields(lab, "Planning", 0), INSTALLATION, "b1", "r1")
    assert read.fields is not None
    _outlook_subject(lab, diego, "Planning", "Planning (Outlook)")
    wanted = replace(read.fields, subject="Planning (ROOMS)")
    if attendees:
        wanted = replace(wanted, attendees=(*wanted.attendees, address(lab, "MeganB").lower()))
    with pytest.raises(BackendError) as failed:
        graph.update(diego, read, wanted, "r2")
    assert failed.value.reason == "conflict" and "subject" in failed.value.detail
    (now,) = graph.get(diego, [read.item_id])
    assert now.fields is not None and now.fields.subject == "Planning (Outlook)"
    assert now.revision == "r1"  # nothing of the update landed
