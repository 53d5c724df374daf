"""review24a: a booking in the hour that repeats when daylight saving time ends (rooms.time_zone Europe/Zurich:
02:00–03:00 local happens twice on 2027-10-31; 01:30 UTC is the second 02:30, CET).

The meeting is written with the wall-clock time in the rooms' zone (over Graph `{"dateTime": "2027-10-31T02:30:00",
"timeZone": "Europe/Zurich"}`), which names the *first* 02:30 (CEST, 00:30 UTC): the meeting lands an hour early,
and the pass then reads it back as an Outlook edit and moves the booking in ROOMS to 00:30 UTC — a 45-minute
booking becomes 1 h 45 min and blocks the room an hour earlier. No one edited anything. Over EWS the same
(so not only issue 24's backend, but it runs over Graph too: parametrised by backend)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

START, END = "2027-10-31T01:30:00+00:00", "2027-10-31T02:15:00+00:00"


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_booking_in_the_repeated_hour_keeps_its_time(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room = addr("DiegoS").lower(), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(
        invoke(
            "bookings", "add", "--organizer", diego, "--room", room, "--title", "Night shift",
            "--start", START, "--end", END, env=env,
        )
    )  # fmt: skip
    for _ in range(2):
        (report,) = json.loads(invoke("--json", "sync", env=env).out)["mailboxes"]
        assert report["error"] is None and report["failures"] == [], report
    (meeting,) = [
        i
        for i in lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
        if i["organizer"].lower() == diego
    ]
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert (booking["start"], booking["end"]) == (START, END)
    assert (meeting["start"], meeting["end"]) == ("2027-10-31T01:30:00Z", "2027-10-31T02:15:00Z")
