"""review24e: over Graph, a linked meeting that lies before the sync window (moved into the past in Outlook, or
simply over for longer than `sync.window_days_past`) is no longer watched: deleted in Outlook, its booking stays
active; over EWS the next pass cancels it.

Steps: DiegoS (O365, or Microsoft365) has a booking in two days, synced and accepted by the room. In Outlook he
moves the meeting to 20 days ago (before the window, `sync.window_days_past` 7); a pass applies the move to the
booking. He then deletes the meeting in Outlook. Two passes.

Expected (docs/sync.md bug 6: "linked bookings synced whatever their date"; issue 24 acceptance: the same tests as
EWS, parametrised by backend; docs/sync.md "Over Microsoft Graph": the beyond-window read exists so that a linked
meeting's Outlook change "is applied by the next pass as over EWS"): the booking is cancelled, as over EWS.

Actual: over Graph the calendarView delta covers the window only, and `Pass._beyond_reach` reads the linked meetings
that start at or after the window's end — not those that end before its start. The deletion is never seen (until a
full reconciliation, `sync.full_every`; never with 0); the booking stays active and linked."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, live, stamp, sync

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "mode",
    [
        "O365",
        "Microsoft365",
    ],
)
def test_review24e_a_linked_meeting_before_the_window_deleted_in_outlook_cancels_its_booking(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    assert sync(invoke, env)[1][diego]["created"] == 1
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    sync(invoke, env)
    (meeting,) = live(lab, diego)
    past = DAY - timedelta(days=22)
    moved = {"start": stamp(past), "end": stamp(past + timedelta(hours=1))}
    edit = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}", json=moved)
    assert edit.status_code == 200, edit.text
    sync(invoke, env)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["start"].startswith(stamp(past)[:10]), booking  # the move was applied

    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}")
    assert gone.status_code in (200, 204), gone.text
    sync(invoke, env)
    sync(invoke, env)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["status"] == "cancelled", booking
