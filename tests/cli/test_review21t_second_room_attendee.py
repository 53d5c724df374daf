"""review21t: `bookings add --attendee ROOM2` (another ROOMS room as an attendee) is accepted, exit 0. `bookings add`
refuses the booked room and the organizer as attendees, but not a second ROOMS room, which README says ROOMS never
books ("ROOMS books one room per meeting … a second ROOMS room is reported"). Against the lab the sync then writes
the meeting with both rooms invited: the second room accepts and holds the slot in Exchange only, every pass reports
"failed: booking N … a second ROOMS room … holds the slot in Exchange only" (a failure roomsops made itself), and a
later ROOMS booking of that room at that time is declined by Exchange (room-declined). A careless administrator's
room-vs-person mistake: bad input, exit 2, nothing recorded (issue 21, Deliver 2 and 6). `bookings update
--attendee` likewise."""

from __future__ import annotations

import pytest

from roomsops.cli import cli
from roomsops.cli.bookings import bookings
from roomsops.cli.persons import persons
from roomsops.cli.rooms import rooms
from tests.conftest import Invoke

DIEGO, EIGER, MOENCH = "diego@contoso.com", "eiger@contoso.com", "moench@contoso.com"


@pytest.fixture(autouse=True)
def rooms_cli(clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in (persons, rooms, bookings):
        if group.name not in cli.commands:
            monkeypatch.setitem(cli.commands, str(group.name), group)
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "Europe/Zurich")


def test_a_second_rooms_room_as_attendee_is_refused(invoke: Invoke) -> None:
    for args in (
        ("persons", "add", DIEGO),
        ("rooms", "add", EIGER, "--name", "Eiger"),
        ("rooms", "add", MOENCH, "--name", "Mönch"),
    ):
        assert invoke(*args).code == 0
    run = invoke(
        "bookings", "add", "--organizer", DIEGO, "--room", EIGER, "--attendee", MOENCH,
        "--start", "2031-03-31T09:00", "--end", "2031-03-31T10:00", "--title", "Two rooms",
    )  # fmt: skip
    listed = invoke("bookings", "list")
    assert "Two rooms" not in listed.out, listed.out  # nothing recorded
    assert run.code == 2, run.out + run.err
    assert run.err.startswith("Error: ") and MOENCH in run.err, run.err
