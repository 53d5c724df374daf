"""review21h: remedies of the Exchange address check (issue 21.2, on by default) that point the wrong way for an
address ROOMS already knows in the other role (issue 21.6: "every remedy sentence points at a command that works
for that situation"). The check runs before the database is asked, so:
- `rooms add <a ROOMS person>` answers "convert this one: Set-Mailbox -Identity <the person> -Type Room": it
  sends the administrator to turn a synced person's own mailbox into a room mailbox (with --no-check the same
  command says, rightly, "is a person, not a room");
- `persons add <a ROOMS room>` and `persons set P --email <a ROOMS room>` answer "add it as a room: 'roomsops rooms
  add ROOM'", which fails ("is already a room"): a command that does not work for that situation, and for a
  rename not the point at all."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def test_rooms_add_of_a_person_does_not_tell_to_convert_the_persons_mailbox(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    diego = addr("DiegoS")
    ok(invoke("persons", "add", diego, env=_checked(env)))
    run = invoke("rooms", "add", diego, "--name", "Diego", env=_checked(env))
    assert run.code == 2, run.out + run.err
    assert ok(invoke("--json", "rooms", "list", env=env)).out.count("@") == 0  # nothing recorded
    # Diego is a person of ROOMS: the way out is the room's own address, never Set-Mailbox -Type Room on him.
    assert "-Type Room" not in run.err and "is a person" in run.err, run.err


def test_persons_add_of_a_room_does_not_send_to_rooms_add_that_fails(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    room = addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=_checked(env)))
    run = invoke("persons", "add", room, env=_checked(env))
    assert run.code == 2, run.out + run.err
    if "roomsops rooms add" in run.err:
        # The remedy as written, run: it must work for this situation.
        followed = invoke("rooms", "add", room, "--name", "Zürich", env=_checked(env))
        assert followed.code == 0, f"remedy {run.err!r} → {followed.err!r}"
    assert "is a room" in run.err, run.err


def test_renaming_a_person_onto_a_room_does_not_send_to_rooms_add(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    room = addr("room-zurich")
    ok(invoke("persons", "add", addr("DiegoS"), env=_checked(env)))
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=_checked(env)))
    run = invoke("persons", "set", addr("DiegoS"), "--email", room, env=_checked(env))
    assert run.code == 2, run.out + run.err
    # As with --no-check: the room is a room, give the person's own mailbox address.
    assert "roomsops rooms add" not in run.err and "is a room" in run.err, run.err
