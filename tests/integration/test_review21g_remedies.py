"""review21g: remedies that point the wrong way (issue 21.6: "every remedy sentence points at a command that works
for that situation"). `bookings add|list --organizer <room|alias>` were fixed to say what the address is; `sync
--person` and `sync diff --person` still answer a room, and an alias of a known person, with "add one with
'roomsops persons add EMAIL'": the room as a person (issue 21.6's own example), or the alias as a second person
(the mistake `persons check` warns about; with `rooms.check_addresses = false` it is recorded as told)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("command", [("sync",), ("sync", "diff")])
def test_a_room_given_as_person_is_not_answered_with_persons_add(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: tuple[str, ...]
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    room = addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    run = invoke(*command, "--person", room, env=env)
    assert run.code == 2, run.out + run.err
    # As `bookings add --organizer <room>` says it: the address is a room, not a person.
    assert "roomsops persons add" not in run.err and "is a room" in run.err, run.err


@pytest.mark.parametrize("command", [("sync",), ("sync", "diff")])
def test_an_alias_of_a_person_is_not_answered_with_persons_add(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: tuple[str, ...]
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    alias = f"diego.siciliani@{fresh_lab.info['tenant']['domain']}"  # an alias of DiegoS's mailbox in the lab
    run = invoke(*command, "--person", alias, env=env)
    assert run.code == 2, run.out + run.err
    # Following the remedy must not record the alias as a second person (bookings list says "not an alias").
    assert "roomsops persons add" not in run.err, run.err


def test_persons_set_of_a_room_is_not_answered_with_persons_add(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    room = addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    run = invoke("persons", "set", room, "--name", "Zürich", env=env)
    assert run.code == 2, run.out + run.err
    assert "roomsops persons add" not in run.err and "is a room" in run.err, run.err


@pytest.mark.parametrize("command", ["add", "update"])
def test_a_person_given_as_room_is_not_answered_with_rooms_add(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: str
) -> None:
    """The mirror of issue 21.6's `bookings add --organizer <room>`: the organizer's own mailbox in --room."""
    diego = addr("DiegoS")
    ok(invoke("persons", "add", diego, env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    slot = ("--start", "2031-04-02T09:00", "--end", "2031-04-02T10:00")
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            diego,
            "--room",
            addr("room-zurich"),
            "--title",
            "T",
            *slot,
            env=env,
        )
    )
    if command == "add":
        run = invoke(
            "bookings", "add", "--organizer", diego, "--room", diego, "--title", "T2", *slot, env=env
        )
    else:
        run = invoke("bookings", "update", "1", "--room", diego, env=env)
    assert run.code == 2, run.out + run.err
    # `rooms add` of a user mailbox is refused by the Exchange check, or (offline) records a person as a room.
    assert "roomsops rooms add" not in run.err and "is a person" in run.err, run.err


def test_renaming_onto_another_person_names_a_way_that_exists(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """`persons set OLD --email NEW` where NEW is already a person: the remedy "move the bookings by hand" names
    no command (`bookings update` has no --organizer; cancelling and booking again sends a cancellation and a
    new invitation to every attendee)."""
    old, new = addr("DiegoS"), addr("AdeleV")
    ok(invoke("persons", "add", old, env=env))
    ok(invoke("persons", "add", new, env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    slot = ("--start", "2031-04-02T09:00", "--end", "2031-04-02T10:00")
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            old,
            "--room",
            addr("room-zurich"),
            "--title",
            "T",
            *slot,
            env=env,
        )
    )
    run = invoke("persons", "set", old, "--email", new, env=env)
    assert run.code == 2, run.out + run.err
    moved = invoke("bookings", "update", "1", "--organizer", new, env=env)
    assert "by hand" not in run.err or moved.code == 0, (run.err, moved.err)
