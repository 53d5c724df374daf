"""review21y: fix21x makes `rooms add` refuse an address that active bookings invite as an attendee (it would be a
second ROOMS room in those meetings; ROOMS books one room per meeting), but only when the attendee is written as
the room's primary address. A booking that invites the room mailbox by an alias (basel@…, an alias of
room-basel@…) does not stop `rooms add room-basel@…`: exit 0, "room added", and the meeting now invites a ROOMS room
as an attendee, the very state the guard is there to prevent. `rooms add` checks the address against Exchange and
knows the mailbox's addresses (it refuses `rooms add basel@…` as "an alias of the mailbox room-basel@…"), so an
administrator expects the same refusal as for the primary address: `Error: … is an attendee of active booking(s)
1 …`, exit 2, no room recorded (issue 21, Deliver 2: `rooms add` checks the address against Exchange, and nothing
changed on refusal)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_rooms_add_refuses_a_room_that_a_booking_invites_by_an_alias(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    basel = addr("room-basel")
    made = fresh_lab.admin(
        "POST", "mailboxes", json={"email": basel, "kind": "room", "aliases": [addr("basel")]}
    )
    assert made.status_code == 201, made.text
    checked = env | {"ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}  # rooms add looks the address up in Exchange
    ok(invoke("persons", "add", addr("DiegoS"), env=checked))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zurich", env=checked))
    ok(
        invoke(
            "bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-zurich"),
            "--start", "2031-03-31T09:00", "--end", "2031-03-31T10:00", "--title", "Board",
            "--attendee", addr("basel"), env=checked,
        )
    )  # fmt: skip
    ok(
        invoke(
            "bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-zurich"),
            "--start", "2031-04-01T09:00", "--end", "2031-04-01T10:00", "--title", "Team",
            "--attendee", addr("room-bern"), env=checked,
        )
    )  # fmt: skip
    # The guard as fix21x made it holds for the primary address invited (booking 2)...
    bern = invoke("rooms", "add", addr("room-bern"), "--name", "Bern", env=checked)
    assert bern.code == 2 and "attendee of active booking(s) 2" in bern.err, bern.out + bern.err
    # ...but not for the alias invited (booking 1).
    run = invoke("rooms", "add", basel, "--name", "Basel", env=checked)
    with sqlite3.connect(tmp_path / "rooms.db") as conn:
        rooms = sorted(r[0].casefold() for r in conn.execute("SELECT email FROM rooms"))
    assert rooms == [addr("room-zurich").casefold()], run.out + run.err
    assert run.code == 2, run.out + run.err
    assert "attendee of active booking(s) 1" in run.err, run.err


def test_bookings_add_refuses_an_alias_of_a_rooms_room_as_an_attendee(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """The twin (fix21z): `bookings add|update --attendee` refuses a ROOMS room as an attendee (ROOMS books one
    room per meeting), but compared only the address typed; an alias of the room's mailbox (basel@… of
    room-basel@…) was recorded, a second ROOMS room in the meeting. With rooms.check_addresses the attendees are
    looked up in Exchange and the alias is refused as the room is: exit 2, nothing recorded."""
    basel = addr("room-basel")
    made = fresh_lab.admin(
        "POST", "mailboxes", json={"email": basel, "kind": "room", "aliases": [addr("basel")]}
    )
    assert made.status_code == 201, made.text
    checked = env | {"ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}
    ok(invoke("persons", "add", addr("DiegoS"), env=checked))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zurich", env=checked))
    ok(invoke("rooms", "add", basel, "--name", "Basel", env=checked))
    booking = (
        "bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-zurich"),
        "--start", "2031-03-31T09:00", "--end", "2031-03-31T10:00", "--title", "Board",
    )  # fmt: skip
    primary = invoke(*booking, "--attendee", basel, env=checked)
    assert primary.code == 2 and "is the ROOMS room Basel" in primary.err, primary.out + primary.err
    run = invoke(*booking, "--attendee", addr("basel"), env=checked)
    with sqlite3.connect(tmp_path / "rooms.db") as conn:
        count = conn.execute("SELECT COUNT(*) FROM bookings").fetchone()[0]
    assert count == 0, run.out + run.err
    assert run.code == 2, run.out + run.err
    assert "is the ROOMS room Basel" in run.err, run.err
    ok(invoke(*booking, "--attendee", addr("AdeleV"), env=checked))  # another attendee is booked as before
    update = invoke("bookings", "update", "1", "--attendee", addr("basel"), env=checked)
    assert update.code == 2 and "is the ROOMS room Basel" in update.err, update.out + update.err
