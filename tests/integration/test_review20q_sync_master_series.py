"""review20q: the fix20q Sync-Master race (review20p) with Diego's Outlook meeting a weekly series.

Steps: Zürich is a Sync-Master ROOMS room (booking window 1080 days); DiegoS and AdeleV are synced. In Outlook Diego
invites Zürich to a weekly series (four Tuesdays, 09:00 Zurich); before the room answers, the administrator books
Zürich for Adele on the second Tuesday at 09:00 in ROOMS. A pass writes Adele's meeting; Zürich accepts Diego's
series (its request came first) and declines Adele's; three more passes, the room answering after each.

Expected (issue 20 Deliver 3 and I5; fix20q: "a Sync-Master room taken off an accepted Outlook meeting frees its slot
and the declined booking is sent again"): on Adele's Tuesday the room holds exactly one meeting, whose booking is
active and linked: Adele's (the series cannot be booked: booking 1 holds one of its slots; Zürich is taken off it,
which frees that Tuesday, so Adele's meeting is sent again).

Actual (fix20q): `_remove_rooms` records as freed only the series' first occurrence (`meeting.fields.start/end`), so
`_resend` does not ask the room again for Adele's booking on the second Tuesday: it stays `room-declined` for ever
("the room's calendar is free at this time now"), Zürich's calendar holds nothing that Tuesday while ROOMS shows it
booked — the review20p outcome for a series.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_sync import ZURICH

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import add_booking, answer, bookings, items

pytestmark = pytest.mark.integration


def test_review20q_a_sync_master_room_taken_off_an_accepted_series_frees_the_occurrence_rooms_booked(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", "--sync-master", env=env))
    window = {"booking_window_in_days": 1080}
    assert lab.admin("PATCH", f"mailboxes/{zurich}/calendar-processing", json=window).status_code == 200
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", "Microsoft365", env=env))
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
    runs = []
    for _ in range(3):
        runs.append(invoke("sync", env=env))
        answer(lab)
    holding = [i["organizer"].lower() for i in items(lab, zurich) if not i["is_cancelled"]]
    active = sorted(
        (b["organizer"].lower(), b["sync"]) for b in bookings(invoke, env).values() if b["status"] == "active"
    )
    assert (holding, active) == ([adele], [(adele, "linked")]), runs[-1].out
