"""review25v: a monthly series on "the fourth weekday" written over Graph moves every ROOMS occurrence.

ROOMS books `--monthly fourth-weekday` as the fourth weekday of each month (2027-02-04, 03-04, 04-06, 05-06), and
over EWS (RelativeMonthly DaysOfWeek Weekday) Exchange agrees. Over Graph the series is written as relativeMonthly
with daysOfWeek monday..friday and index fourth (docs/series.md's mapping; Graph's recurrencePattern: the fourth
of the listed days, as in its "second Thursday or Friday" example), but the lab's Graph keeps only the first listed
day (roomsops/lab/graph/events.py: `days[:1]`, not marked unverified in FIDELITY.md) and expands it as the fourth
Monday (02-22, 03-22, 04-26, 05-24). The first pass then takes its own write for an Outlook edit (exchange_edits 1)
and moves every ROOMS occurrence there, unreported. A lab fidelity defect that hides whether the engine's
Graph series round trip is right, and shows the engine accepting its own write's read-back as a user's edit.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke
from tests.integration.test_series_from_exchange import series_of
from tests.integration.test_series_sync import setup, shown
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def test_review25v_a_fourth_weekday_series_over_graph_keeps_its_days(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room = setup(invoke, env, lab, addr, "Microsoft365")
    times = [
        "--start",
        "2027-01-29T09:00",
        "--end",
        "2027-01-29T10:00",
        "--monthly",
        "fourth-weekday",
        "--count",
        "4",
    ]
    run = invoke(
        "--json", "bookings", "add", "--organizer", diego, "--room", room, "--title", "M", *times, env=env
    )
    assert run.code == 0, run.err
    booked = json.loads(run.out)["booking"]
    days = [o["start"][:16] for o in booked["series"]["occurrences"]]
    assert days == ["2027-02-04T08:00", "2027-03-04T08:00", "2027-04-06T07:00", "2027-05-06T07:00"]
    code, found = sync(invoke, env)
    assert (code, found[diego]["exchange_edits"]) == (0, 0), found[diego]
    answer(lab)
    sync(invoke, env)
    rows = series_of(invoke, env, int(booked["id"]))["series"]["occurrences"]
    assert [o["start"][:16] for o in rows] == days
    assert [s[:16] for s, _ in shown(lab, diego, "2027-01-01T00:00", "2027-06-30T00:00")] == days
