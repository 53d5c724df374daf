"""review21t: issue 21, "Why" 6 names it: "`persons check` reports an alias outside the policy as a policy denial".
It still does. A person recorded under an alias (adele@, AdeleV's) whose mailbox is outside the application access
policy's group is reported `denied (HTTP 403): the application access policy does not include this mailbox` with
the remedy `roomsops policy restrict --member ...`; following it (the alias resolves to AdeleV) still leaves a
person the sync opens by an alias. The check should name the alias and its primary address first (the admin
session `persons add` uses knows it), as it does for an alias inside the policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_persons_check_names_an_alias_outside_the_policy_as_an_alias(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    alias = addr("adele")  # AdeleV's alias; AdeleV is not in the policy's group
    ok(invoke("persons", "add", alias, "--no-check", env=env))
    run = invoke("--json", "persons", "check", alias, env=env)
    assert run.code == 1, run.out + run.err
    (check,) = json.loads(run.out)["checks"]
    assert check["status"] == "alias", check
    assert check["primary_smtp"] == addr("AdeleV"), check


@pytest.mark.parametrize("command", [("auth", "test"), ("doctor",)], ids=["auth test", "doctor"])
def test_a_probe_names_an_alias_outside_the_policy_as_an_alias(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: tuple[str, ...]
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    run = invoke("--json", *command, "--mailbox", addr("adele"), env=env)
    assert run.code == 1, run.out + run.err
    (probe,) = [c for c in json.loads(run.out)["checks"] if "probe" in c["name"] or "mailbox" in c["name"]]
    assert f"is an alias; the primary SMTP address is {addr('AdeleV')}" in probe["message"], probe
    assert "policy restrict" not in str(probe.get("remedy")), probe
