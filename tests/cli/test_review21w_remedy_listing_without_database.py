"""review21w: fix21u made `persons list`, `rooms list` and `bookings list` refuse where no database is (exit 2,
no_database). On a new installation (no database yet) the remedies of other refusals still send the administrator
there: `persons remove X` → "see 'roomsops persons list'", `rooms remove X` → "see 'roomsops rooms
list'", `bookings cancel 1` → "see 'roomsops bookings list'" — and the named command is itself refused, exit 2 (issue
21, Deliver 6: every remedy sentence points at a command that works for that situation). Expected: the remedy says
there is no database yet (or names one that works), as the listings' own no_database line does."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Invoke


@pytest.mark.parametrize(
    "args",
    [
        ("persons", "remove", "a@contoso.com", "--yes"),
        ("rooms", "remove", "a@contoso.com", "--yes"),
        ("bookings", "cancel", "1", "--yes"),
    ],
    ids=["persons remove", "rooms remove", "bookings cancel"],
)
def test_the_remedy_names_a_command_that_works(invoke: Invoke, args: tuple[str, ...]) -> None:
    run = invoke(*args)
    assert run.code == 2, run.out + run.err
    named = re.findall(r"'(roomsops [a-z]+ list)'", run.err)
    # Where there is no database yet, the refusal says so (no_database) instead of naming a listing.
    assert named or "there is no ROOMS database" in run.err, run.err
    for command in named:
        listed = invoke(*command.split()[1:])
        assert listed.code == 0, (run.err, command, listed.err)
