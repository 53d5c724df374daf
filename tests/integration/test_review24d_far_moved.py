"""review24d: a linked meeting beyond the sync window that is moved in Outlook to another calendar of its organizer
keeps its booking over Graph; over EWS the next pass cancels it.

Steps: DiegoS (O365, or Microsoft365) has a booking 150 days ahead (beyond `sync.window_days_future`, 90), synced
and accepted by the room. In Outlook he moves the meeting to a calendar of his own ("Projects"). Two passes.

Expected (docs/sync.md "Over Microsoft Graph": a linked meeting beyond the window is read by each incremental pass,
"a missing item a deletion", "as EWS's whole-calendar sync would report them"; "only a meeting that left the
calendar is deleted"; review24a fixed the same move inside the window, test_review24a_graph_moved.py; issue 24
acceptance: the same tests, parametrised by backend): the booking is cancelled (and the room's copy of a meeting
deleted without a cancellation released), as over EWS — and as over Graph for the same move inside the window.

Actual: over Graph the beyond-window read (`Pass._beyond_reach` → `GraphCalendar.get`) asks
`/users/{id}/events/{immutable id}`, which finds the event in the other calendar (an immutable id survives the move;
`changes` reads removed ids under `/calendar/events/` for this reason, `_beyond_reach` does not); it is taken as
still there. The booking stays active and linked, the room keeps the slot, and
nothing is reported — until a full reconciliation (`sync.full_every`; never with 0). (A drag to Deleted Items is
cancelled over both: the lab's `/events/{id}` does not find an event there.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import answer, live

pytestmark = pytest.mark.integration

FAR = (datetime.now(UTC) + timedelta(days=150)).replace(hour=7, minute=0, second=0, microsecond=0)


def passed(invoke: Invoke, env: dict[str, str]) -> dict[str, object]:
    run = invoke("--json", "sync", env=env)
    (report,) = json.loads(run.out)["mailboxes"]
    return dict(report)


@pytest.mark.parametrize(
    "mode",
    [
        "O365",
        pytest.param(
            "Microsoft365",
            marks=pytest.mark.xfail(
                strict=True,
                reason="review24d: over Graph a meeting beyond the window moved out of the calendar keeps its booking",
            ),
        ),
    ],
)
def test_review24d_a_far_meeting_moved_out_of_the_calendar_cancels_its_booking(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(
        invoke(
            "bookings", "add", "--organizer", diego, "--room", zurich, "--title", "Far away",
            "--start", FAR.isoformat(), "--end", (FAR + timedelta(hours=1)).isoformat(), env=env,
        )
    )  # fmt: skip
    assert passed(invoke, env)["created"] == 1
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    passed(invoke, env)
    (meeting,) = live(lab, diego)
    made = lab.admin("POST", f"/lab/mailboxes/{diego}/folders", json={"display_name": "Projects"})
    assert made.status_code in (200, 201), made.text
    folder = made.json()["folder"]
    moved = lab.admin(
        "POST", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}/move", json={"folder": folder}
    )
    assert moved.status_code == 200, moved.text

    passed(invoke, env)
    passed(invoke, env)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["status"] == "cancelled", booking
