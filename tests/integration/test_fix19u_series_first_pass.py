"""series36 (soak seed 37002, the other path): a pass from no position discovers from its own read's candidates
(`Changes.candidates`, cost19r), which named untagged single meetings only. An Outlook series inviting a ROOMS room
made before the person joined the sync (or before a mailbox without links lost its position) was never booked,
though an incremental pass takes such a series over whole (docs/series.md). SyncFolderItems' masters (EWS) and a
delta round's occurrences (Graph: their `seriesMasterId`) are candidates now."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_sync import ZURICH
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_an_outlook_series_made_before_the_person_joined_is_booked_by_the_first_pass(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, room = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    window = {"booking_window_in_days": 1080}
    assert lab.admin("PATCH", f"mailboxes/{room}/calendar-processing", json=window).status_code == 200
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)  # a Tuesday two to three weeks ahead
    last = first + timedelta(weeks=3)
    body = {
        "subject": "Outlook jour fixe",
        "start": {"dateTime": f"{first}T09:00:00", "timeZone": "Europe/Zurich"},
        "end": {"dateTime": f"{first}T10:00:00", "timeZone": "Europe/Zurich"},
        "attendees": [{"emailAddress": {"address": room}, "type": "resource"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {
                "type": "endDate",
                "startDate": str(first),
                "endDate": str(last),
                "recurrenceTimeZone": "Europe/Zurich",
            },
        },
    }
    made = graph.post(f"/users/{diego}/events", body)
    assert made.status_code == 201, made.text
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    code, found = sync(invoke, env)  # the first pass: no position, no link
    assert (code, found[diego]["failures"], found[diego]["bookings_created"]) == (0, [], 1), json.dumps(found)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert (booking["title"], booking["room"]) == ("Outlook jour fixe", room)
    assert len(booking["series"]["occurrences"]) == 4, booking["series"]
    code, found = sync(invoke, env)  # tagged: booked once
    assert (code, found[diego]["bookings_created"]) == (0, 0), found
