"""review21n: `persons add ALIAS` and `rooms add ALIAS` (looked up in Exchange, issue 21 Deliver 2) of a mailbox that
ROOMS already has under its primary address answer 'use the primary SMTP address PRIMARY'. The command that remedy
leads to, `persons add PRIMARY` / `rooms add PRIMARY`, is refused ('already a person' / 'already a room'): the
administrator is sent round in a circle. fix21m worded `persons check`'s alias remedy for exactly this case ('ROOMS
already has this mailbox as the person …'); the add commands' remedy was not. Issue 21, Deliver 6: every remedy
sentence points at a command that works for that situation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def test_persons_add_of_an_alias_of_a_recorded_person_names_a_remedy_that_works(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    alias, primary = addr("diego.siciliani"), addr("DiegoS")
    ok(invoke("persons", "add", primary, env=_checked(env)))
    fresh_lab.reset_requests()
    run = invoke("persons", "add", alias, env=_checked(env))
    assert run.code == 2, run.out + run.err
    assert changes(fresh_lab) == {}
    line = one_line_error(run)
    # Following the remedy is refused: the mailbox is already the ROOMS person `primary`.
    again = invoke("persons", "add", primary, env=_checked(env))
    assert again.code == 2 and "already a person" in again.err, again.out + again.err
    assert "use the primary SMTP address" not in line, line
    assert "already" in line and primary in line, line  # says ROOMS has this mailbox, as `primary`


def test_rooms_add_of_an_alias_of_a_recorded_room_names_a_remedy_that_works(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    primary, alias = addr("room-geneve"), addr("geneve")
    fresh_lab.admin(
        "POST",
        "/lab/mailboxes",
        json={"email": primary, "display_name": "Genève", "kind": "room", "aliases": [alias]},
    ).raise_for_status()
    ok(invoke("rooms", "add", primary, "--name", "Genève", env=_checked(env)))
    fresh_lab.reset_requests()
    run = invoke("rooms", "add", alias, "--name", "Genf", env=_checked(env))
    assert run.code == 2, run.out + run.err
    assert changes(fresh_lab) == {}
    line = one_line_error(run)
    again = invoke("rooms", "add", primary, "--name", "Genf", env=_checked(env))
    assert again.code == 2 and "already a room" in again.err, again.out + again.err
    assert "use the primary SMTP address" not in line, line
    assert "already" in line and primary in line, line
