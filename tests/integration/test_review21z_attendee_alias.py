"""review21z: fix21z looks `bookings add|update --attendee` addresses up in Exchange (rooms.check_addresses) so that
an alias of a ROOMS room is refused as the room is. The look-up's answer is used for "another ROOMS room" only: the
other two rules of the same check, "not the organizer" and "not the booked room", still compare the address as
typed. So an alias of the booked room is refused with the remedy for a *second* room ("book it with its own
'roomsops bookings add --room ROOM'", i.e. book the very room of this booking again), and an alias of the organizer
is recorded as an attendee (exit 0), the organizer invited to the organizer's own meeting, which the same address
typed as the primary is refused for. An administrator expects the answer the primary address gets: "attendee … is
the booked room" / "… is the organizer" with "leave … out of --attendee", exit 2, nothing recorded (issue 21,
Deliver 6: every remedy points at a command that works for that situation; Deliver 2/acceptance: nothing changed
on refusal)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def _setup(invoke: Invoke, lab: Any, env: dict[str, str], addr: Any) -> dict[str, str]:
    made = lab.admin(
        "POST", "mailboxes", json={"email": addr("room-basel"), "kind": "room", "aliases": [addr("basel")]}
    )
    assert made.status_code == 201, made.text
    checked = env | {"ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}
    ok(invoke("persons", "add", addr("DiegoS"), env=checked))
    ok(invoke("rooms", "add", addr("room-basel"), "--name", "Basel", env=checked))
    return checked


def _bookings(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "rooms.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM bookings").fetchone()[0])


BOOKING = ("--start", "2031-03-31T09:00", "--end", "2031-03-31T10:00", "--title", "Board")


def test_an_alias_of_the_booked_room_is_refused_as_the_booked_room(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    checked = _setup(invoke, fresh_lab, env, addr)
    add = ("bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-basel"), *BOOKING)
    primary = invoke(*add, "--attendee", addr("room-basel"), env=checked)
    assert primary.code == 2 and "is the booked room" in primary.err, primary.out + primary.err
    run = invoke(*add, "--attendee", addr("basel"), env=checked)
    assert run.code == 2 and _bookings(tmp_path) == 0, run.out + run.err
    # Not "book it with its own 'roomsops bookings add --room room-basel'": that is this booking's room.
    assert "is the booked room" in run.err, run.err
    assert "book it with its own" not in run.err, run.err


def test_an_alias_of_the_organizer_is_refused_as_the_organizer(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    checked = _setup(invoke, fresh_lab, env, addr)
    add = ("bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-basel"), *BOOKING)
    primary = invoke(*add, "--attendee", addr("DiegoS"), env=checked)
    assert primary.code == 2 and "is the organizer" in primary.err, primary.out + primary.err
    run = invoke(*add, "--attendee", addr("diego.siciliani"), env=checked)  # an alias of DiegoS' mailbox
    recorded = _bookings(tmp_path)
    assert run.code == 2 and recorded == 0, run.out + run.err
    assert "is the organizer" in run.err, run.err


def test_an_attendee_given_by_two_addresses_of_its_mailbox_is_invited_once(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """fix21aa, the same look-up for the rule "each attendee once": AdeleV's primary and her alias are one mailbox,
    invited once (the first address as given), as the same address typed twice is."""
    checked = _setup(invoke, fresh_lab, env, addr)
    add = ("bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-basel"), *BOOKING)
    ok(invoke(*add, "--attendee", addr("AdeleV"), "--attendee", addr("adele"), env=checked))
    with sqlite3.connect(tmp_path / "rooms.db") as conn:
        recorded = [row[0] for row in conn.execute("SELECT email FROM booking_attendees")]
    assert recorded == [addr("AdeleV")], recorded
