"""review21y: fix21x (62b983a) made `persons check ALIAS` say, when the admin look-up cannot be made (no WinRM
password here), that a policy denial "may be an alias of a mailbox outside the policy … find its primary SMTP
address with Get-Recipient …" instead of only "add the mailbox to the application access policy's group (roomsops
policy restrict --member ...)". The three other commands that probe one mailbox before it is added — `sync test`
(README's test of one mailbox), `auth test --mailbox` and `doctor --mailbox` — give, in the same situation and for
the same alias (adele@…, AdeleV's alias; AdeleV outside the policy), only the policy remedy. An administrator who
follows it adds the alias to the policy and then adds a person by its alias, the mistake `persons check` warns
about (issue 21, "Why" 6 and Deliver 6: every remedy sentence points at a command that works for that situation;
the same situation gets the same remedy in every command)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "command",
    [
        ("sync", "test", "{alias}"),
        ("auth", "test", "--mailbox", "{alias}"),
        ("doctor", "--mailbox", "{alias}"),
    ],
    ids=["sync-test", "auth-test", "doctor"],
)
def test_a_denied_alias_without_the_admin_look_up_names_the_alias_case(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: tuple[str, ...]
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env))
    no_admin = {
        k: v for k, v in env.items() if k != "ROOMSOPS_WINRM_PASSWORD"
    }  # the admin look-up cannot run
    alias = addr("adele")  # AdeleV's alias; AdeleV is outside the policy's group
    check = invoke("persons", "check", alias, env=no_admin)
    assert check.code == 1 and "is an alias of a mailbox outside" in check.out + check.err, (
        check.out + check.err
    )
    run = invoke(*(part.format(alias=alias) for part in command), env=no_admin)
    assert run.code == 1, run.out + run.err
    assert "alias" in run.out + run.err, run.out + run.err
