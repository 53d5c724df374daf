"""review21w: fix21u refuses another ROOMS room as an attendee in `bookings add|update --attendee`, but the same
state is reached the other way round: a booking lists MOENCH as an attendee (not yet a ROOMS room: accepted), then
`rooms add MOENCH` is accepted, exit 0, and the active booking now invites a second ROOMS room — what the fix's
commit calls "every pass reported a failure roomsops had made itself" and README says ROOMS never books. Expected
as for `--attendee`: `rooms add` refuses (exit 2, nothing recorded) naming the booking, with a remedy
('roomsops bookings update ID --attendee …' without it). Issue 21, Deliver 2 and 6."""

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


def test_adding_an_attendee_as_a_room_is_refused(invoke: Invoke) -> None:
    for args in (("persons", "add", DIEGO), ("rooms", "add", EIGER, "--name", "Eiger")):
        assert invoke(*args).code == 0
    booked = invoke(
        "bookings", "add", "--organizer", DIEGO, "--room", EIGER, "--attendee", MOENCH,
        "--start", "2031-03-31T09:00", "--end", "2031-03-31T10:00", "--title", "Two rooms",
    )  # fmt: skip
    assert booked.code == 0, booked.out + booked.err
    run = invoke("rooms", "add", MOENCH, "--name", "Mönch")
    listed = invoke("rooms", "list")
    assert MOENCH not in listed.out, listed.out  # nothing recorded
    assert run.code == 2, run.out + run.err
    assert run.err.startswith("Error: ") and MOENCH in run.err, run.err
