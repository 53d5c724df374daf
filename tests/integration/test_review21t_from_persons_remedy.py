"""review21t: `policy restrict --from-persons` with a ROOMS person (or room) whose mailbox Exchange does not have (a
mistyped address recorded with --no-check, or a mailbox deleted since) is refused, exit 2, nothing changed — good —
but the remedy reads "correct the addresses (each mailbox must exist in Exchange Online: Get-Mailbox -Identity
ADDRESS), then run the command again". With --from-persons the addresses are not on the command line: they come
from the ROOMS database, and running the command again gives the same refusal. The remedy must lead to the ROOMS
record ('roomsops persons set ADDRESS --email …' or 'roomsops persons remove ADDRESS'; 'roomsops rooms remove' for a
room). Issue 21, Deliver 6: every remedy sentence points at a command that works for that situation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_an_unknown_person_from_the_database_is_sent_to_the_persons_record(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("persons", "add", addr("DiegoSS"), "--no-check", env=env))  # a typo recorded offline
    run = invoke("policy", "restrict", "--from-persons", env=env)
    state = fresh_lab.admin("GET", "/lab/state").json()
    assert state["application_access_policies"] == []  # nothing changed (holds already)
    assert run.code == 2, run.out + run.err
    assert addr("DiegoSS") in run.err, run.err
    assert f"persons remove {addr('DiegoSS')}" in run.err or f"persons set {addr('DiegoSS')}" in run.err, (
        run.err
    )
