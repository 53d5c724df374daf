"""review20b: issue 20 item 2 (writes that free a slot go before writes that take one) with moves: a chain of
moves in one pass (booking 2 moves away from 11:00, booking 1 moves onto it). Lab over TLS, rooms answer at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def sync_column(invoke: Invoke, env: dict[str, str]) -> dict[int, str]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b["sync"] for b in found}


def book(invoke: Invoke, env: dict[str, str], organizer: str, room: str, start: datetime, title: str) -> None:
    ok(
        invoke(
            "bookings", "add", "--organizer", organizer, "--room", room, "--start", start.isoformat(),
            "--end", (start + timedelta(hours=1)).isoformat(), "--title", title, env=env,
        )
    )


def move(invoke: Invoke, env: dict[str, str], booking: int, start: datetime) -> None:
    ok(
        invoke(
            "bookings", "update", str(booking), "--start", start.isoformat(),
            "--end", (start + timedelta(hours=1)).isoformat(), env=env,
        )
    )


@pytest.mark.parametrize(("first", "second"), [("DiegoS", "DiegoS"), ("AdeleV", "DiegoS"), ("DiegoS", "AdeleV")])
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
