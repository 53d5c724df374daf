"""review20x: a series whose occurrence check failed is checked again only after the conflicting meeting is gone,
and the occurrence the room declined is then lost for good: ROOMS shows it held, the room does not hold it.

Steps as test_review20v_series_check_fault.py: Zürich allows one conflicting occurrence per series; DiegoS (no
roomsops person) holds it in Outlook on the second of AdeleV's four weekly Tuesdays; a pass writes Adele's ROOMS
series; Zürich accepts it without that occurrence (its copy of the series has that occurrence deleted). The pass
that reads the Accept has its read of Zürich's calendar dropped (EWS FindItem, twice: the client's retry too): the
booking is noted "occurrences not checked". Before the next pass Diego cancels his meeting (a cancellation is
sent: the room's copy of it is cancelled, the slot is free). Two passes without faults.

Expected: the room's calendar does not hold Adele's second Tuesday (the lab's calendar of Zürich shows her series
without it; nobody asked the room again), so the check made again reports it, as the check at the Accept would
have (docs/series.md "An accepted series without some occurrences"; CHANGELOG fix20w: "the declined occurrences
are no longer lost"): the booking `room-declined` and the occurrence named by both passes, or at least reported
as not held. Without the fault the occurrence is reported on every pass (the note is kept until the room's next
answer), so the fault must not make it vanish.

Found: `_occurrences_declined` takes an occurrence the room's calendar holds nothing at for "free there: not a
declined conflict (a copy not updated yet)": the retry finds the slot free (Diego's meeting is gone) and settles
the link `linked` with no note; both passes exit 0 and say nothing. The room's copy of Adele's series is answered
and up to date (no update is pending: the booking's version is the one synced and the answer was read), so the
"copy may lag" reason does not apply; the series' own copy lacking the occurrence is the decline.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_sync import ZURICH

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import answer, bookings, outlook_new

pytestmark = pytest.mark.integration


def test_review20x_the_retried_check_reports_the_occurrence_the_room_declined_after_the_conflict_left(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    settings = {
        "booking_window_in_days": 1080,
        "maximum_conflict_instances": 1,
        "conflict_percentage_allowed": 50,
    }
    assert lab.admin("PATCH", f"mailboxes/{zurich}/calendar-processing", json=settings).status_code == 200
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)
    second = datetime(first.year, first.month, first.day, 9, tzinfo=ZURICH) + timedelta(weeks=1)
    own = outlook_new(lab, diego, "Diego own", second.astimezone(UTC), resources=[zurich])
    answer(lab)
    window = ["--start", f"{first}T09:00", "--end", f"{first}T10:00", "--weekly", "tue", "--count", "4"]
    made = ok(
        invoke(
            "--json",
            "bookings",
            "add",
            "--organizer",
            adele,
            "--room",
            zurich,
            "--title",
            "Adele weekly",
            *window,
            env=env,
        )
    )
    booking = int(json.loads(made.out)["booking"]["id"])
    invoke("sync", env=env)
    assert [(a["subject"], a["response"]) for a in answer(lab)] == [("Adele weekly", "Accept")]
    lab.reset_requests()
    lab.fault(protocol="ews", operation="FindItem", kind="drop_before", count=2)
    faulted = invoke(
        "sync", env=env
    )  # reads the Accept; its read of Zürich's calendar is dropped, and its retry
    lab.clear_faults()
    assert "occurrences not checked" in faulted.out, faulted.out
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{own['id']}")
    assert gone.status_code == 200, gone.text
    # The premise: Zürich holds Adele's series without the second Tuesday, and nothing else there now.
    held = lab.admin("GET", f"/lab/mailboxes/{zurich}/calendar").json()["items"]
    assert [i["organizer"].lower() for i in held if not i["is_cancelled"]] == [adele], held
    after = [invoke("sync", env=env) for _ in range(2)]
    state = bookings(invoke, env)[booking]["sync"]
    reported = [f"{second:%Y-%m-%d %H:%M}" in run.out for run in after]
    assert (state, reported) == ("room-declined", [True, True]), [run.out for run in after]
