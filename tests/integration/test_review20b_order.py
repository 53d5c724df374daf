"""review20b: issue 20 item 2 (writes that free a slot go before writes that take one) with moves: a chain of
moves in one pass (booking 2 moves away from 11:00, booking 1 moves onto it). Lab over TLS, rooms answer at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def sync_column(invoke: Invoke, env: dict[str, str]) -> dict[int, str]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b["sync"] for b in found}


def book(invoke: Invoke, env: dict[str, str], organizer: str, room: str, start: datetime, title: str) -> None:
    add_hour_booking(invoke, env, organizer, room, start, title)


def move(invoke: Invoke, env: dict[str, str], booking: int, start: datetime) -> None:
    ok(
        invoke(
            "bookings",
            "update",
            str(booking),
            "--start",
            start.isoformat(),
            "--end",
            (start + timedelta(hours=1)).isoformat(),
            env=env,
        )
    )


@pytest.mark.parametrize(
    ("first", "second"), [("DiegoS", "DiegoS"), ("AdeleV", "DiegoS"), ("DiegoS", "AdeleV")]
)
def test_a_chain_of_moves_frees_the_slot_before_taking_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, first: str, second: str
) -> None:
    """Booking 1 (DiegoS) 10:00, booking 2 (DiegoS, or AdeleV) 11:00, both synced and accepted. In ROOMS booking 2
    moves to 12:00, then booking 1 to 11:00 (each allowed: the slot is free in ROOMS). One pass: booking 1's move
    reaches the room while booking 2's meeting still holds 11:00, the room declines it. Item 2: a write that frees a
    slot (booking 2's move away) goes before one that takes it. Expected: both linked, the room accepted both."""
    zurich = addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    for person in {first, second}:
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
    book(invoke, env, addr(first), zurich, DAY + timedelta(hours=2), "First")
    book(invoke, env, addr(second), zurich, DAY + timedelta(hours=3), "Second")
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    fresh_lab.settings(room_answer_delay=0)
    ok(invoke("sync", env=env))
    assert sync_column(invoke, env) == {1: "linked", 2: "linked"}
    move(invoke, env, 2, DAY + timedelta(hours=4))
    move(invoke, env, 1, DAY + timedelta(hours=3))
    invoke("sync", "--concurrency", "1", env=env)
    invoke("sync", env=env)  # reads the room's answers
    answers = fresh_lab.admin("GET", "/lab/room-answers").json()["answered"]
    declined = [a for a in answers if a["response"] == "Decline"]
    assert declined == [], declined
    assert sync_column(invoke, env) == {1: "linked", 2: "linked"}


def test_a_swap_of_two_bookings_rooms_in_one_pass_is_accepted_by_both_rooms(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Booking 1 (DiegoS) in Zürich and booking 2 (AdeleV) in Bern, same hour, synced and accepted. In ROOMS they
    swap rooms (booking 1 to a free hour, booking 2 to Zürich, booking 1 back to Bern: each step allowed). Item 2:
    "moves away" free a slot and go before writes that take one. One pass sends booking 1's move (takes Bern, which
    booking 2 still holds) before booking 2 has left Bern: the room declines. Expected: both rooms accept.

    Corrected (fix20b): a swap is a cycle — whichever meeting moves first, its new room is still held by the
    other, and the only way round (moving one meeting off its room for a while) sends its attendees an extra
    update, which the review rules out. With rooms that answer at once (room_answer_delay 0) that first request is
    declined; roomsops asks the room again in the same pass once the other meeting has left (with a real delay the
    room answers only the latest request: no decline at all). Required: no booking ends room-declined, each room's
    last answer to each meeting is an accept, and at most one decline (the cycle's first move)."""
    zurich, bern = addr("room-zurich"), addr("room-bern")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", env=env))
    for person in ("DiegoS", "AdeleV"):
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
    at = DAY + timedelta(hours=2)
    book(invoke, env, addr("DiegoS"), zurich, at, "First")
    book(invoke, env, addr("AdeleV"), bern, at, "Second")
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    fresh_lab.settings(room_answer_delay=0)
    ok(invoke("sync", env=env))
    move(invoke, env, 1, at + timedelta(hours=5))
    ok(invoke("bookings", "update", "2", "--room", zurich, env=env))
    ok(invoke("bookings", "update", "1", "--room", bern, env=env))
    move(invoke, env, 1, at)
    invoke("sync", "--concurrency", "1", env=env)
    invoke("sync", env=env)
    answers = fresh_lab.admin("GET", "/lab/room-answers").json()["answered"]
    last = {(a["room"], a["uid"]): a["response"] for a in answers}
    assert set(last.values()) == {"Accept"}, answers
    assert len([a for a in answers if a["response"] == "Decline"]) <= 1, answers
    assert sync_column(invoke, env) == {1: "linked", 2: "linked"}


def test_a_failed_cancellation_does_not_let_the_new_invitation_for_its_slot_go_out(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """DiegoS's booking 1 is cancelled and AdeleV gets its slot (booking 2) before one pass. The cancellation (free
    phase) is dropped before Exchange applies it; the take phase still sends AdeleV's invitation, the room (still
    holding DiegoS's meeting) declines it, and booking 2 stays room-declined after the cancellation goes through
    on the next pass: the administrator has to move it. Expected (item 2: the room sees the cancellation before the
    new invitation): the invitation waits for the slot to be freed, and booking 2 ends linked, accepted."""
    zurich = addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    for person in ("DiegoS", "AdeleV"):
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
    book(invoke, env, addr("DiegoS"), zurich, DAY + timedelta(hours=2), "Planning")
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    fresh_lab.settings(room_answer_delay=0)
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    book(invoke, env, addr("AdeleV"), zurich, DAY + timedelta(hours=2), "Review")
    # CancelCalendarItem travels in a CreateItem: the first CreateItem of the pass is DiegoS's cancellation.
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_before", count=1)
    invoke("sync", "--concurrency", "1", env=env)
    fresh_lab.clear_faults()
    for _ in range(3):
        invoke("sync", env=env)
    assert sync_column(invoke, env) == {1: "cancelled", 2: "linked"}
