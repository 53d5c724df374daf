"""fix20w (review20v's note): a Sync-Master room taken off an Outlook series marks, to be asked again, only the ROOMS
bookings at occurrences the room held for it.

Steps: Zürich is a Sync-Master ROOMS room allowing one conflicting occurrence per series (MaximumConflictInstances 1,
ConflictPercentageAllowed 50). AdeleV's ROOMS booking on a Tuesday is written and accepted. In Outlook DiegoS (a
synced person) invites Zürich to a weekly series of four Tuesdays, the second one Adele's: Zürich accepts the
series and declines that occurrence (Adele's meeting holds it). A pass takes Zürich off Diego's series (Sync-Master).

Expected: no mark on Adele's booking: the room declined Diego's occurrence for it, so the removal freed nothing there
(a mark of a booking the room holds is never read again as settled, and would re-send it at a later, unrelated
decline: review20v's stale mark). Was: every occurrence of the series was taken for held (`_mark_asks`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_sync import ZURICH

from .conftest import Addr, LabHelper
from .test_fix20r_room_asks import marks
from .test_sync_rooms20_a import add_booking, answer, bookings, items

pytestmark = pytest.mark.integration


def test_fix20w_a_sync_master_removal_marks_no_booking_at_an_occurrence_the_room_declined(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", "--sync-master", env=env))
    settings = {
        "booking_window_in_days": 1080,
        "maximum_conflict_instances": 1,
        "conflict_percentage_allowed": 50,
    }
    assert lab.admin("PATCH", f"mailboxes/{zurich}/calendar-processing", json=settings).status_code == 200
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", "Microsoft365", env=env))
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)
    second = datetime(first.year, first.month, first.day, 9, tzinfo=ZURICH) + timedelta(weeks=1)
    add_booking(invoke, env, adele, zurich, second, "Adele booked")
    ok(invoke("sync", env=env))
    assert [(a["subject"], a["response"]) for a in answer(lab)] == [("Adele booked", "Accept")]
    ok(invoke("sync", env=env))  # reads the accept: Adele's booking is linked, held by the room
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
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
    assert [(a["subject"], a["response"]) for a in answer(lab)] == [("Diego weekly", "Accept")]
    invoke("sync", env=env)  # takes Zürich off Diego's series (Sync-Master)
    copy = [i for i in items(lab, zurich) if i["subject"] == "Canceled: Diego Siciliani"]
    assert [i["deleted_occurrences"] for i in copy] == [[f"{second.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"]]
    assert (marks(env), bookings(invoke, env)[1]["sync"]) == ([], "linked")
