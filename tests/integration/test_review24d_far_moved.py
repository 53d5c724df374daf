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
import os
from datetime import UTC, datetime, timedelta

import pytest

from roomsops.core.calendar import MeetingFields
from roomsops.services.sync.backend import CalendarBackend
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import answer, live

pytestmark = pytest.mark.integration

FAR = (datetime.now(UTC) + timedelta(days=150)).replace(hour=7, minute=0, second=0, microsecond=0)


def passed(invoke: Invoke, env: dict[str, str]) -> dict[str, object]:
    run = invoke("--json", "sync", env=env)
    (report,) = json.loads(run.out)["mailboxes"]
    return dict(report)


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
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


def port_backend(lab: LabHelper, kind: str) -> CalendarBackend:
    """The backend of `kind` ("ews", "graph") as the sync builds it, on the lab's settings."""
    from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
    from roomsops.adapters.ews.client import EwsClient
    from roomsops.core.settings import app_settings_path, load_settings
    from roomsops.services.sync.factory import ews_backend, graph_backend

    settings = load_settings(
        str(lab.settings_path), environ={}, overrides={"rooms.time_zone": "Europe/Zurich"}
    )
    credentials = credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ)
    client = EwsClient(settings, TokenProvider(credentials, settings))
    return (graph_backend if kind == "graph" else ews_backend)(settings, client)


@pytest.mark.parametrize("kind", ["ews", "graph"])
def test_review24d_in_calendar_leaves_out_a_meeting_moved_to_another_calendar_get_finds_it(
    fresh_lab: LabHelper, addr: Addr, kind: str
) -> None:
    """The port's `in_calendar` (the beyond-window read) against `get`, over both backends: a meeting moved to a
    second calendar is left out by `in_calendar` (over Graph `get` still finds it: its immutable id survives the
    move); one that stays is found by both."""
    lab = fresh_lab
    diego = addr("DiegoS").lower()
    calendar = port_backend(lab, kind)
    made = {
        subject: calendar.create(
            diego,
            MeetingFields(
                subject=subject, start=FAR + timedelta(hours=n), end=FAR + timedelta(hours=n + 1),
                location="", room="", attendees=(), reminder_minutes=None, private=False, free_busy="Busy",
            ),
            "inst-review24d", f"b{n}",
        )
        for n, subject in enumerate(("Stays", "Moves"))
    }  # fmt: skip
    moving = next(i for i in live(lab, diego) if i["subject"] == "Moves")
    folder = lab.admin("POST", f"/lab/mailboxes/{diego}/folders", json={"display_name": "Projects"})
    assert folder.status_code in (200, 201), folder.text
    moved = lab.admin(
        "POST",
        f"/lab/mailboxes/{diego}/calendar/{moving['id']}/move",
        json={"folder": folder.json()["folder"]},
    )
    assert moved.status_code == 200, moved.text

    # Graph's immutable id survives the move; an EWS ItemId names the item in its folder: the moved item's new one.
    now = made["Moves"].item_id if kind == "graph" else moved.json()["item"]["id"]
    assert now != moving["id"] or kind == "graph"
    ids = [made["Stays"].item_id, now]
    assert sorted(m.fields.subject for m in calendar.get(diego, ids) if m.fields) == ["Moves", "Stays"]
    assert [m.item_id for m in calendar.in_calendar(diego, ids)] == [made["Stays"].item_id]
    assert calendar.in_calendar(diego, []) == []
