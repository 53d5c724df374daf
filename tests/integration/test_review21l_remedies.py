"""review21l: a remedy that points at a change that is refused (issue 21, Deliver 6: every remedy sentence points at
a command that works for that situation). `persons check` of a person recorded by an alias of a mailbox whose
primary address is already another ROOMS person says to change the e-mail to that primary address; the rename
(`persons set ALIAS --email PRIMARY`) is refused as a duplicate ('the person is recorded twice')."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


pytestmark = pytest.mark.integration


def test_persons_check_of_an_alias_whose_primary_is_a_person_names_the_duplicate(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    alias, primary = addr("diego.siciliani"), addr("DiegoS")
    ok(invoke("persons", "add", alias, env=env))  # offline (as an older roomsops or --no-check recorded it)
    ok(invoke("persons", "add", primary, env=env))
    run = invoke("--json", "persons", "check", alias, env=_checked(env))
    assert run.code == 1, run.out + run.err
    (check,) = json.loads(run.out)["checks"]
    assert check["status"] == "alias" and check["primary_smtp"] == primary, check
    # What the remedy says to do today is refused: the rename onto the primary is a duplicate.
    rename = invoke("persons", "set", alias, "--email", primary, env=_checked(env))
    assert rename.code == 2 and "recorded twice" in rename.err, rename.out + rename.err
    remedy = check["remedy"]
    assert f"to {primary}" not in remedy, remedy  # not the refused rename
    assert f"persons remove {alias}" in remedy or "recorded twice" in remedy, remedy
