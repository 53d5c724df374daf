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


@pytest.mark.xfail(strict=True, reason="review21g: sync --person <room> tells to add the room as a person")
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


@pytest.mark.xfail(strict=True, reason="review21g: sync --person <alias> tells to add the alias as a person")
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
