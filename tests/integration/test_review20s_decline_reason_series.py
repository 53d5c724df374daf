"""review20s: a room's decline because one of its series' occurrences holds the slot is reported as "the room's
calendar is free at this time now" — the wrong reason, pointing the administrator at the booking policy.

Steps: Zürich is a ROOMS room (not Sync-Master; booking window 1080 days); DiegoS and AdeleV are synced (EWS or Graph
for both). In Outlook Diego invites Zürich to a weekly series (four Tuesdays, 09:00 Zurich); the administrator books
Zürich for Adele in ROOMS on the second Tuesday at 09:00. A pass writes Adele's meeting; Zürich accepts Diego's series
(its request came first) and declines Adele's ("The resource is already booked at this time."); one more pass.

Expected (issue 20 Deliver 1: "`declined` is a persistent state ... with the reason when Exchange gives one (booking
window, duration, conflict)"; docs/sync.md: the reason roomsops states is the room's calendar holding another
meeting there, a conflict): the pass says the room declined Adele's booking for a conflict — the room's calendar
holds Diego's occurrence at that time (exchange-online.md / FIDELITY.md "Conflicts": a single meeting overlapping
another non-cancelled booking is declined; a room's calendar view lists each occurrence of a series, EWS
CalendarView and Graph calendarView expand recurrences).

Actual: `decline_reason` reads the room's calendar with `backend.room_calendar`, which keeps only single items (EWS:
`type in (None, "Single")`; Graph: `not m.is_recurring`) unless a UID is asked for: the occurrence is dropped, and
the failure says "reason not given by Exchange; the room's calendar is free at this time now: a conflict freed
since, or its booking policy (...)" on every pass while Diego's series holds the slot. `_series_decline_reason` has
the same blind spot (a ROOMS series declined for another series' occurrences: "free at every occurrence now").
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_sync import ZURICH

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import add_booking, answer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_review20s_a_decline_for_a_series_occurrence_in_the_room_is_reported_as_the_conflict_it_is(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    window = {"booking_window_in_days": 1080}
    assert lab.admin("PATCH", f"mailboxes/{zurich}/calendar-processing", json=window).status_code == 200
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", mode, env=env))
    ok(invoke("sync", env=env))
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)
    body = {
        "subject": "Diego weekly",
        "start": {"dateTime": f"{first}T09:00:00", "timeZone": "Europe/Zurich"},
        "end": {"dateTime": f"{first}T10:00:00", "timeZone": "Europe/Zurich"},
        "attendees": [{"emailAddress": {"address": zurich}, "type": "resource"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {
                "type": "endDate",
                "startDate": str(first),
                "endDate": str(first + timedelta(weeks=3)),
                "recurrenceTimeZone": "Europe/Zurich",
            },
        },
    }
    made = graph.post(f"/users/{diego}/events", body)
    assert made.status_code == 201, made.text
    second = datetime(first.year, first.month, first.day, 9, tzinfo=ZURICH) + timedelta(weeks=1)
    add_booking(invoke, env, adele, zurich, second, "Adele booked")
    invoke("sync", env=env)
    assert [(a["subject"], a["response"]) for a in answer(lab)] == [
        ("Diego weekly", "Accept"),
        ("Adele booked", "Decline"),
    ]
    out = invoke("sync", env=env).out
    said = [line for line in out.splitlines() if "Adele booked" in line]
    assert said and "free at this time now" not in said[0] and "conflict" in said[0], out
