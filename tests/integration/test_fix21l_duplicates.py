"""fix21l: one mailbox, one ROOMS person. `persons add` of a mailbox ROOMS already has as a person under another of
its addresses (an alias recorded offline) is refused as `persons set --email` refuses it ("recorded twice"): two
persons for one mailbox would sync it twice. And `persons check`'s alias remedy names the command that works:
`persons set ALIAS --email PRIMARY` for a ROOMS person, `persons add PRIMARY` for an address ROOMS does not have
(issue 21.6)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def _persons(invoke: Invoke, env: dict[str, str]) -> list[str]:
    return [p["email"] for p in json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"]]


def test_persons_add_of_a_mailbox_recorded_under_an_alias_is_refused_naming_the_person(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    alias, primary = addr("diego.siciliani"), addr("DiegoS")
    ok(invoke("persons", "add", alias, env=env))  # offline (--no-check, or an older roomsops)
    fresh_lab.reset_requests()
    run = invoke("persons", "add", primary, env=_checked(env))
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert f"ROOMS person {alias}" in line and "recorded twice" in line, line
    remedy = f"roomsops persons set {alias} --email {primary}"
    assert remedy in line, line
    assert changes(fresh_lab) == {}
    assert _persons(invoke, env) == [alias]  # nothing recorded
    # The remedy works: the one person, renamed to the primary address.
    ok(invoke(*remedy.split()[1:], env=_checked(env)))
    assert _persons(invoke, env) == [primary]
    assert ok(invoke("persons", "check", primary, env=_checked(env))).out.startswith("ok")


def test_persons_add_of_a_mailbox_recorded_in_another_case_is_refused(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    primary = addr("DiegoS")
    ok(invoke("persons", "add", primary.lower(), env=env))
    run = invoke("persons", "add", primary, env=_checked(env))
    assert run.code == 2, run.out + run.err
    assert "already a person" in one_line_error(run)
    assert _persons(invoke, env) == [primary.lower()]


def test_persons_check_alias_remedy_names_the_rename_that_works(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    alias, primary = addr("diego.siciliani"), addr("DiegoS")
    ok(invoke("persons", "add", alias, env=env))
    run = invoke("--json", "persons", "check", alias, env=_checked(env))
    assert run.code == 1, run.out + run.err
    (check,) = json.loads(run.out)["checks"]
    command = f"roomsops persons set {alias} --email {primary}"
    assert check["status"] == "alias" and command in check["remedy"], check
    ok(invoke(*command.split()[1:], env=_checked(env)))
    assert _persons(invoke, env) == [primary]
    assert invoke("persons", "check", primary, env=_checked(env)).code == 0


def test_persons_check_alias_remedy_for_an_address_rooms_does_not_have_adds_the_primary(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    alias, primary = addr("diego.siciliani"), addr("DiegoS")
    run = invoke("--json", "persons", "check", alias, env=_checked(env))
    assert run.code == 1, run.out + run.err
    (check,) = json.loads(run.out)["checks"]
    command = f"roomsops persons add {primary}"
    assert check["status"] == "alias" and command in check["remedy"], check
    assert "persons set" not in check["remedy"], check  # `persons set ALIAS` would be 'not a known person'
    ok(invoke(*command.split()[1:], env=_checked(env)))
    assert _persons(invoke, env) == [primary]


def test_sync_test_over_graph_of_an_alias_person_names_the_rename(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    alias, primary = addr("diego.siciliani"), addr("DiegoS")
    ok(invoke("persons", "add", alias, "--sync-mode", "Microsoft365", env=env))
    run = invoke("--json", "sync", "test", alias, env=env)
    assert run.code == 1, run.out + run.err
    (step,) = [c for c in json.loads(run.out)["checks"] if c["name"] == "primary SMTP address"]
    assert step["status"] == "failed", step
    assert f"roomsops persons set {alias} --email {primary}" in step["remedy"], step
