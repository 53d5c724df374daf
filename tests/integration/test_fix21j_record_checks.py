"""fix21j: what ROOMS' database knows is asked before Exchange Online (issue 21.6: every remedy points at a command
that works for that situation), and remedies are worded by what the Exchange check found."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def _unreachable(env: dict[str, str]) -> dict[str, str]:
    """Exchange Online cannot be reached: no token can be had (nothing listens on port 9)."""
    return {**env, "ROOMSOPS_CLOUD_AUTHORITY_HOST": "https://127.0.0.1:9"}


def test_an_unknown_person_is_refused_from_the_database_before_exchange_is_asked(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    run = invoke("persons", "set", addr("AdeleV"), "--email", addr("MeganB"), env=_unreachable(_checked(env)))
    assert run.code == 2, (run.code, run.out, run.err)  # not 3: the database alone says no
    assert "is not a known person" in one_line_error(run), run.err
    run = invoke("rooms", "add", addr("DiegoS"), "--name", "Diego", env=_unreachable(_checked(env)))
    assert run.code == 2 and "is a person, not a room" in run.err, (run.code, run.err)


def test_renaming_onto_another_mailbox_does_not_advise_cancelling_its_bookings(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    old, new = addr("DiegoS"), addr("AdeleV")
    ok(invoke("persons", "add", old, env=env))
    ok(invoke("persons", "add", new, env=env))
    checked = invoke("persons", "set", old, "--email", new, env=_checked(env))
    assert checked.code == 2, checked.out + checked.err
    line = one_line_error(checked)
    # Exchange said AdeleV is another mailbox: removing her (cancelling her bookings) is no way out.
    assert "another mailbox" in line and "persons remove" not in line and "--cancel-bookings" not in line, (
        line
    )
    assert f"bookings add --organizer {new}" in line, line
    offline = invoke("persons", "set", old, "--email", new, "--no-check", env=env)
    assert offline.code == 2 and "if it is the same person" in offline.err, offline.err


def test_renaming_an_alias_onto_its_mailboxs_person_names_the_duplicate(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    alias, primary = addr("diego.siciliani"), addr("DiegoS")
    ok(invoke("persons", "add", alias, env=env))  # offline: recorded by an alias of Diego's mailbox
    ok(invoke("persons", "add", primary, env=env))
    run = invoke("persons", "set", alias, "--email", primary, env=_checked(env))
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "same mailbox" in line and f"persons remove {primary}" in line, line
    assert "if it is the same person" not in line, line


def test_rooms_check_does_not_advise_converting_a_persons_mailbox(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    fresh_lab.reset_requests()
    run = invoke("--json", "rooms", "check", addr("DiegoS"), addr("AdeleV"), env=env)
    assert run.code == 1, run.out + run.err
    remedies = {r["room"]: r["remedy"] for r in json.loads(run.out)["rooms"]}
    assert "-Type Room" not in remedies[addr("DiegoS")], remedies
    assert f"ROOMS person {addr('DiegoS')}" in remedies[addr("DiegoS")], remedies
    assert "-Type Room" in remedies[addr("AdeleV")], remedies  # no person of ROOMS: converting may be the way
    assert changes(fresh_lab) == {}


def test_resume_of_an_unknown_person_is_bad_input_when_exchange_cannot_be_reached(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    run = invoke("sync", "resume", "--person", addr("nobody"), env=_unreachable(env))
    assert run.code == 2, (run.code, run.out, run.err)
    line = one_line_error(run)
    assert addr("nobody") in line and "persons list" in line, line
    assert ok(invoke("sync", "resume", "--person", addr("DiegoS"), env=_unreachable(env))).code == 0
