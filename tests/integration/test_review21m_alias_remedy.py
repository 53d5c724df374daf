"""review21m: `alias_remedy()` (fix21l) words the remedy for an alias whose primary address is already a ROOMS
person as 'recorded twice … persons remove ALIAS' even when the alias itself is not a ROOMS person. `persons check`
(and `sync test` over Graph) of such an address then tells the administrator to remove a person ROOMS does not
have: `persons remove ALIAS` is refused ('not a known person'). Issue 21, Deliver 6: every remedy sentence points at
a command that works for that situation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def test_persons_check_of_an_unrecorded_alias_of_a_person_names_no_refused_remove(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    alias, primary = addr("diego.siciliani"), addr("DiegoS")
    ok(invoke("persons", "add", primary, env=_checked(env)))  # the person, under its primary address
    run = invoke("--json", "persons", "check", alias, env=_checked(env))
    assert run.code == 1, run.out + run.err
    (check,) = json.loads(run.out)["checks"]
    assert check["status"] == "alias" and check["primary_smtp"] == primary, check
    remedy = check["remedy"]
    # What the remedy says to run is refused: the alias is no ROOMS person.
    removed = invoke("persons", "remove", alias, "--yes", env=env)
    assert removed.code == 2, removed.out + removed.err
    assert f"persons remove {alias}" not in remedy, remedy
    assert "recorded twice" not in remedy, remedy  # ROOMS has the mailbox once, under its primary address
