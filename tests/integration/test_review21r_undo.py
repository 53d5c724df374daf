"""review21r: re-review of fix21q's undo remedies and `check_failed` (issue 21, Deliver 6 and 10).

1. `policy restrict --app-id OTHER` whose changes were all made and only the check after them failed (`check_failed`)
   names `roomsops policy test … --expect …` without `--app-id`: the remedy checks the configured sync app, not the
   app the run restricted (a probe expected Denied is Granted to the sync app: exit 1 on a policy that is right).
2. `ews allow --enable` with the sync app already on EwsAllowedAppIDs, interrupted (Ctrl-C) while Set-OrganizationConfig
   -EwsEnabled ran (it was made): the undo is "run 'roomsops ews disallow' to take the sync app off
   EwsAllowedAppIDs" — a listing the run did not make, so following it stops the sync (EwsEnabled is now True) — and
   it says nothing of EwsEnabled, the one change the run made."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest

from tests.conftest import Invoke
from tests.integration.test_review21p_undo import OTHER_APP, gated_run

pytestmark = pytest.mark.integration


def test_a_failed_check_for_another_app_names_policy_test_for_that_app(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    fresh_lab.fault(protocol="cmdlet", operation="Test-ApplicationAccessPolicy", kind="cmdlet_error")
    run = invoke(
        "--json", "policy", "restrict", "--app-id", OTHER_APP, "--member", addr("DiegoS"), "--probe",
        addr("AdeleV"), "--yes", env=env,
    )  # fmt: skip
    assert run.code == 1, run.out + run.err
    error = json.loads(run.out)["error"]
    assert error["code"] == "check_failed", error
    policies = fresh_lab.admin("GET", "state").json()["application_access_policies"]
    assert [p["app_id"] for p in policies] == [OTHER_APP], policies  # every change was made, for OTHER_APP
    commands = re.findall(r"'roomsops (policy test [^']*)'", error["remedy"])
    assert len(commands) == 2, error["remedy"]  # members --expect Granted, the probe --expect Denied
    # Run as written: without --app-id each tests the sync app (no policy: the probe is Granted, exit 1).
    for command in commands:
        check = invoke(*shlex.split(command), env=env)
        assert check.code == 0, (command, check.out + check.err)


def test_ews_allow_enable_interrupted_when_already_listed_names_the_ews_enabled_undo(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    listed = invoke("ews", "allow", "--yes", env=env)  # the sync app is on the list before the run
    assert listed.code == 0, listed.out + listed.err
    before = fresh_lab.admin("GET", "state").json()["organization"]
    assert before["ews_allowed_app_ids"] and before["ews_enabled"] is not True, before

    # Set-OrganizationConfig -EwsEnabled ran: Ctrl-C
    code, err = gated_run(fresh_lab, "Set-OrganizationConfig", ["ews", "allow", "--enable", "--yes"], env)
    assert code == 130, err
    after = fresh_lab.admin("GET", "state").json()["organization"]
    assert after["ews_enabled"] is True and after["ews_allowed_app_ids"] == before["ews_allowed_app_ids"], (
        after
    )
    undo = err.splitlines()[0].split("to undo,")[1]
    assert "EwsEnabled" in undo, err  # the change this run made
    # The listing predates the run: taking the app off it is no undo (with EwsEnabled True the sync stops).
    assert "roomsops ews disallow" not in err, err
