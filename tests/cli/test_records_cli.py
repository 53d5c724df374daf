"""Issue 21.2 offline: `persons remove`, `persons set --email`, `rooms set`, `rooms remove` through the real
CLI; a refusal is exit 2 with the database byte-identical."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Invoke, ok, one_line_error

DIEGO, ADELE, EIGER = "diego@contoso.com", "adele@contoso.com", "eiger@contoso.com"


def dump() -> str:
    with closing(sqlite3.connect("rooms.db")) as conn:
        return "\n".join(conn.iterdump())


def doc(run: Any) -> Any:
    return json.loads(ok(run).out)


@pytest.fixture(autouse=True)
def setup(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """Diego with booking 1 (active) in Eiger, and booking 2 (cancelled)."""
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "Europe/Zurich")
    ok(invoke("persons", "add", DIEGO, "--name", "Diego"))
    ok(invoke("rooms", "add", EIGER, "--name", "Eiger"))
    for start in ("2031-03-31T09:00", "2031-03-31T11:00"):
        end = start.replace("T09", "T10").replace("T11", "T12")
        ok(invoke(*"bookings add --organizer".split(), DIEGO, "--room", EIGER, "--start", start, "--end", end,
                  "--title", "Plan"))  # fmt: skip
    ok(invoke("bookings", "cancel", "2", "--yes"))


@pytest.mark.parametrize("kind, address", [("persons", DIEGO), ("rooms", EIGER)])
def test_remove_is_refused_while_active_bookings_exist(invoke: Invoke, kind: str, address: str) -> None:
    before = dump()
    run = invoke(kind, "remove", address, "--yes")
    assert run.code == 2
    assert one_line_error(run) == (
        f"Error: the {kind[:-1]} {address} has 1 active booking(s) (1); nothing was changed — cancel them "
        "('roomsops bookings cancel ID'), or add --cancel-bookings to cancel them with it"
    )
    assert dump() == before


@pytest.mark.parametrize("kind, address", [("persons", DIEGO), ("rooms", EIGER)])
def test_remove_with_cancel_bookings_removes_the_record_and_its_bookings(
    invoke: Invoke, kind: str, address: str
) -> None:
    removed = doc(invoke("--json", kind, "remove", address, "--cancel-bookings", "--yes"))
    assert (removed["action"], removed["cancelled"], removed["deleted_bookings"]) == ("removed", [1], 2)
    listed = doc(invoke("--json", kind, "list"))[kind]
    assert address not in [r["email"] for r in listed]
    assert doc(invoke("--json", "bookings", "list"))["bookings"] == []


@pytest.mark.parametrize("kind, address", [("persons", DIEGO), ("rooms", EIGER)])
def test_a_booking_that_is_over_does_not_refuse_the_removal(invoke: Invoke, kind: str, address: str) -> None:
    """review21g (d): an active booking that is over (here recorded with --allow-past, never synced) refused the
    removal, with the remedy to cancel it. It is history: not cancelled, it goes with the record."""
    ok(invoke("bookings", "cancel", "1", "--yes"))
    start = (datetime.now(ZoneInfo("Europe/Zurich")) - timedelta(days=2)).replace(
        minute=0, second=0, microsecond=0
    )
    ok(invoke(*"bookings add --organizer".split(), DIEGO, "--room", EIGER, "--start", start.isoformat(),
              "--end", (start + timedelta(hours=1)).isoformat(), "--title", "Over", "--allow-past"))  # fmt: skip
    removed = doc(invoke("--json", kind, "remove", address, "--yes"))
    assert (removed["action"], removed["cancelled"], removed["deleted_bookings"]) == ("removed", [], 3)
    assert doc(invoke("--json", "bookings", "list"))["bookings"] == []


def test_remove_needs_confirmation_without_a_terminal(invoke: Invoke) -> None:
    ok(invoke("bookings", "cancel", "1", "--yes"))
    before = dump()
    run = invoke("persons", "remove", DIEGO)
    assert run.code == 2 and "pass --yes" in run.err
    assert dump() == before


def test_remove_of_an_unknown_record_names_the_list(invoke: Invoke) -> None:
    before = dump()
    run = invoke("rooms", "remove", "moench@contoso.com", "--yes")
    assert one_line_error(run) == "Error: moench@contoso.com is not a known room — see 'roomsops rooms list'"
    assert run.code == 2 and dump() == before


def test_rename_keeps_the_bookings(invoke: Invoke) -> None:
    renamed = doc(invoke("--json", "persons", "set", DIEGO, "--email", "diego.s@contoso.com", "--no-check"))
    assert (renamed["action"], renamed["changed"], renamed["person"]["email"]) == (
        "updated",
        ["email"],
        "diego.s@contoso.com",
    )
    bookings = doc(invoke("--json", "bookings", "list", "--organizer", "diego.s@contoso.com"))["bookings"]
    assert [b["id"] for b in bookings] == [1, 2]
    assert invoke("persons", "set", DIEGO, "--name", "x").code == 2  # the old address is gone


def test_rename_onto_another_person_or_a_room_is_refused(invoke: Invoke) -> None:
    ok(invoke("persons", "add", ADELE))
    before = dump()
    taken = invoke("persons", "set", DIEGO, "--email", ADELE, "--no-check")
    assert taken.code == 2 and f"{ADELE} is already a person; nothing was changed" in taken.err
    room = invoke("persons", "set", DIEGO, "--email", EIGER, "--no-check")
    assert room.code == 2 and f"{EIGER} is a room, not a person" in room.err
    assert dump() == before


def test_rooms_set_changes_name_and_sync_master(invoke: Invoke) -> None:
    changed = doc(invoke("--json", "rooms", "set", EIGER, "--name", "Eiger (3 OG)", "--sync-master"))
    assert changed["action"] == "updated"
    assert changed["room"] == {"email": EIGER, "name": "Eiger (3 OG)", "sync_master": True}
    again = doc(invoke("--json", "rooms", "set", EIGER, "--sync-master"))
    assert again["action"] == "unchanged"
    before = dump()
    assert one_line_error(invoke("rooms", "set", EIGER)).endswith(
        "pass --name or --sync-master/--no-sync-master"
    )
    assert dump() == before
