"""review20x: a series whose only declined occurrence is over is reported (exit 1) and listed by `sync diff` until
the series' LAST occurrence is over — for a year-long weekly series, a year of failed passes nobody can settle.

Steps as test_review20v_series_declined_occurrence.py: Zürich allows one conflicting occurrence per series; DiegoS
(no roomsops person) holds it in Outlook on the second of AdeleV's four weekly Tuesdays; a pass writes Adele's ROOMS
series, Zürich accepts it without that occurrence, the next pass reports it (exit 1, `room-declined`). Then the
clock of the passes and of `sync diff` is moved to one hour after that second Tuesday's meeting ended (the pass
context's `now` and resolve's `now_utc`; the lab and its calendars are unchanged): the declined occurrence is over,
the two still ahead are held by the room.

Expected: a decline of a slot that is over settles nothing any more (review20e; `q.room_problems`' own docstring;
`_still_declined`: "A slot that is over settles nothing any more ... which would otherwise last for ever"): the pass
reports nothing for it and exits 0, and `sync diff` lists no room problem — as for a single declined meeting whose
slot is over, and as when the series' last occurrence is over.

Found: `_still_declined` and `q.room_problems` judge a partly declined series by its last active occurrence
(`last_end`, `series_end`), not by the declined occurrences the note names: every pass says "declined 1
occurrence(s) ... <the past Tuesday>" and exits 1, `sync diff` lists it, until the series ends; the note is only
re-computed on the room's next answer, which never comes for an unchanged series.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

import pytest

from roomsops.services.rooms import bookings as bookings_service
from roomsops.services.sync import engine, resolve
from roomsops.services.sync import run as run_module
from tests.conftest import Invoke, ok
from tests.integration.test_series_sync import ZURICH

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import answer, bookings, outlook_new

pytestmark = pytest.mark.integration


def test_review20x_a_declined_occurrence_that_is_over_is_no_longer_reported(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, monkeypatch: pytest.MonkeyPatch
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
    outlook_new(lab, diego, "Diego own", second.astimezone(UTC), resources=[zurich])
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
    reported = invoke("sync", env=env)
    assert (reported.code, "declined 1 occurrence" in reported.out) == (1, True), reported.out

    later = (second + timedelta(hours=2)).astimezone(UTC)  # the second Tuesday's 09:00-10:00 is over
    monkeypatch.setattr(run_module, "PassContext", functools.partial(engine.PassContext, now=lambda: later))
    monkeypatch.setattr(resolve, "now_utc", lambda: later)
    after = invoke("sync", env=env)
    rooms = json.loads(invoke("--json", "sync", "diff", env=env).out)["rooms"]
    assert (after.code, "declined" in after.out, [p["booking_id"] for p in rooms]) == (0, False, []), (
        after.out,
        rooms,
        booking,
    )
    # fix20y: `bookings list` no longer shows it `room-declined` either (its sync word goes by the same rule).
    monkeypatch.setattr(bookings_service.db, "now_utc", lambda: later)
    assert bookings(invoke, env)[booking]["sync"] == "linked"
