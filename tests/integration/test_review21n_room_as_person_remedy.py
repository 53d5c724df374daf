"""review21n: `persons add PRIMARY` of a room mailbox that ROOMS has as a room under one of its aliases (recorded
offline, or by an older roomsops) answers 'add it as a room: roomsops rooms add PRIMARY --name NAME'. fix21m made
exactly that command refuse ('recorded_twice': the room would be recorded twice). The remedy for a room given as a
person does not look at the ROOMS rooms by the mailbox's other addresses, as `not_a_room_remedy` does for persons.
Issue 21, Deliver 6: every remedy sentence points at a command that works for that situation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def test_persons_add_of_a_room_recorded_under_its_alias_names_no_refused_rooms_add(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    primary, alias = addr("room-basel"), addr("basel")
    fresh_lab.admin(
        "POST",
        "/lab/mailboxes",
        json={"email": primary, "display_name": "Basel", "kind": "room", "aliases": [alias]},
    ).raise_for_status()
    ok(invoke("rooms", "add", alias, "--name", "Basel", "--no-check", env=env))  # offline
    fresh_lab.reset_requests()
    run = invoke("persons", "add", primary, env=_checked(env))
    assert run.code == 2, run.out + run.err
    assert changes(fresh_lab) == {}
    assert json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"] == []
    line = one_line_error(run)
    # What that remedy says to run is refused: the mailbox is already the ROOMS room `alias`.
    follow = invoke("rooms", "add", primary, "--name", "Basel", env=_checked(env))
    assert follow.code == 2 and "recorded twice" in follow.err, follow.out + follow.err
    assert f"rooms add {primary}" not in line, line
    assert alias in line, line  # names the room ROOMS has for this mailbox
