"""review24f: over Graph, after `sync.window_days_past` is raised, a linked meeting that lies between the old and the
new window start is watched by nobody: deleted in Outlook, its booking stays active (over EWS the next pass cancels
it). (By reading the code, not tested: once the day changes, the new delta round lists the events that exist, so
the deletion is not reported then either.)

Steps: DiegoS (O365, or Microsoft365) has a booking in two days, synced. In Outlook the meeting is moved to 10 days
ago (before the window, `sync.window_days_past` 7), and a pass applies the move. The administrator widens the
window: `ROOMSOPS_SYNC_WINDOW_DAYS_PAST=30`; a pass. Then the meeting is deleted in Outlook; two passes.

Expected (docs/sync.md bug 6: "linked bookings synced whatever their date"; issue 24 acceptance: the same behaviour
as EWS, parametrised by backend; fix24f's `Changes.covers_from`: "the changes cover only meetings that end after
this (the window's start)"): the booking is cancelled, as over EWS.

Actual: `GraphCalendar.changes` keeps reading the stored delta round, whose window still starts 7 days back (only a
later window end starts a new round), yet reports `covers_from` = the new start, 30 days back. The meeting (ended 10
days ago) is neither in the round's window nor before `covers_from`, so `_beyond_reach` skips it: the booking stays
active and linked until a full reconciliation (`sync.full_every`; never with 0)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, live, stamp, sync

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_review24f_a_meeting_in_the_widened_windows_new_part_deleted_in_outlook_cancels_its_booking(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    assert sync(invoke, env)[1][diego]["created"] == 1
    (meeting,) = live(lab, diego)
    past = DAY - timedelta(days=12)
    moved = {"start": stamp(past), "end": stamp(past + timedelta(hours=1))}
    edit = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}", json=moved)
    assert edit.status_code == 200, edit.text
    sync(invoke, env)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["start"].startswith(stamp(past)[:10]), booking  # the move was applied

    wider = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_PAST": "30"}
    sync(invoke, wider)
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}")
    assert gone.status_code in (200, 204), gone.text
    sync(invoke, wider)
    sync(invoke, wider)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=wider)).out)["bookings"]
    assert booking["status"] == "cancelled", booking
