"""review21w: fix21u names an alias outside the application access policy as an alias in `persons check`, `auth test`
and `doctor` (review21t), but `sync test ALIAS` — README's command to test one mailbox before adding it — still
reports `impersonation failed: denied (HTTP 403): the application access policy does not include this mailbox →
add the mailbox to the application access policy's group (roomsops policy restrict --member ...)`. Following it
leaves a person the sync opens by an alias (issue 21, "Why" 6 and Deliver 6: a remedy per situation). Expected as
in `auth test --mailbox`: "is an alias; the primary SMTP address is AdeleV@…", no policy restrict remedy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_sync_test_names_an_alias_outside_the_policy_as_an_alias(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    run = invoke(
        "sync", "test", addr("adele"), env=env
    )  # AdeleV's alias; AdeleV is not in the policy's group
    assert run.code == 1, run.out + run.err
    assert "policy restrict" not in run.out + run.err, run.out + run.err
    assert addr("AdeleV") in run.out + run.err, run.out + run.err
