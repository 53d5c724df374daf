"""review21w: fix21u tells an alias outside the application access policy from a policy denial only through the admin
connection (Get-Recipient over WinRM, `primaries_from_admin`), and when that cannot be opened — no WinRM password in
an unattended or non-interactive run, or a ROOMS server where no admin connection is configured (the sync app's
host, where README runs `persons check`) — it silently falls back to the old report: `adele@…: denied (HTTP 403):
the application access policy does not include this mailbox — add the mailbox to the application access policy's
group (roomsops policy restrict --member ...)`. That is issue 21 "Why" 6 as filed ("`persons check` reports an alias
outside the policy as a policy denial"). Where the look-up cannot be made, the report must at least not send the
administrator one way only: it should say the address may be an alias (and how to find out: Get-Recipient, or the
same check with the admin connection) — Deliver 6, a remedy that works for the situation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_an_alias_outside_the_policy_without_admin_connection_is_not_only_a_denial(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    ok(invoke("persons", "add", addr("adele"), "--no-check", env=env))  # AdeleV's alias, outside the policy
    no_admin = {k: v for k, v in env.items() if k != "ROOMSOPS_WINRM_PASSWORD"} | {
        "ROOMSOPS_WINRM_PASSWORD": ""
    }
    run = invoke("persons", "check", addr("adele"), env=no_admin)
    assert run.code == 1, run.out + run.err
    assert "alias" in (run.out + run.err).lower(), run.out + run.err
