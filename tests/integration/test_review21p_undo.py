"""review21p: the undo a half-done `policy restrict` names does not undo what the run did (after fix21o).

1. `--replace` of a DenyAccess policy: Remove-ApplicationAccessPolicy ran, New-ApplicationAccessPolicy failed (a
   transient Exchange error). The app that was denied the group's mailboxes now reaches every mailbox. The run says
   "stopped half-way" and, as the undo, "run 'roomsops policy remove --group SyncIsAllowed' for the policy": there is
   no policy left to remove, and nothing says how to bring the removed DenyAccess policy back.
2. `policy restrict --app-id OTHER` stopped (Ctrl-C) while New-ApplicationAccessPolicy ran: the undo names
   `roomsops policy remove --group SyncIsAllowed` without `--app-id`, so it looks for the policy of the configured
   sync app ("no policy for app <sync app>", exit 1) and keeps the group; OTHER's policy stays.
3. `--engine rbac` half-done (the role assignment failed after group, service principal and scope were made): the
   undo is "remove the role assignment and the management scope (Remove-ManagementRoleAssignment,
   Remove-ManagementScope) and the members or the group that were added": no roomsops command, although
   `roomsops policy remove --engine rbac` exists (Deliver 10), and no command names the group this run made, nor the
   service principal it made (Deliver 6: every remedy points at a command that works).
4. `ews allow --enable` stopped half-way names a bare Set-OrganizationConfig as its undo, not `roomsops ews
   disallow`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Invoke, sigint_by_default

pytestmark = pytest.mark.integration

#: An app id that is not the sync app's (ExchangeAppId) nor the admin app's.
OTHER_APP = "0c2b1a4e-1111-4222-8333-944455556666"


#: A hang guard, not a timing assumption: the client reaches the gate and a Ctrl-C that reached it stops the held
#: pipeline within moments; one that was lost would leave the run held until the gate's 120 s bound.
STOP_GUARD = 30.0


def ctrl_c(process: subprocess.Popen[str]) -> None:
    """The default `when_held` of `gated_run`: Ctrl-C (SIGINT); the gate opens once the lab saw the pipeline
    stopped."""
    process.send_signal(signal.SIGINT)


def _gate(lab: Any) -> dict[str, Any]:
    return dict(lab.admin("GET", "cmdlet-gate").json())


def _wait_for(lab: Any, process: subprocess.Popen[str], count: str) -> None:
    """Until the gate's `count` is at least 1 (counted events, no sleeps); a process that ended meanwhile, or a
    guard that ran out, fails the test at once with what the process said."""
    deadline = time.monotonic() + STOP_GUARD
    while _gate(lab)[count] < 1:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate()
            raise AssertionError(f"no {count!r} at the cmdlet gate {_gate(lab)}: {process.returncode} {err}")


def gated_run(
    lab: Any,
    cmdlet: str,
    args: list[str],
    env: dict[str, str],
    when_held: Callable[[subprocess.Popen[str]], None] = ctrl_c,
) -> tuple[int, str]:
    """Run `roomsops ARGS` in a process while the lab's cmdlet gate holds the answer of `cmdlet` once it ran (its
    change is made). Once the client waits for that answer (a Receive for the held pipeline arrived: it has the
    Command's answer, so a Ctrl-C stops the pipeline, not a command that is not running yet), `when_held` acts on
    the process (`ctrl_c`: then the gate opens only once the lab saw the held pipeline stopped) or on the lab (a
    fault for the next cmdlet), and the gate opens. Returns the exit code and stderr."""
    gate = {"open": False, "cmdlets": [cmdlet]}
    assert lab.admin("POST", "cmdlet-gate", json=gate).status_code == 200
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "roomsops", *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=sigint_by_default,  # run in the background (scripts/test &), the child ignored Ctrl-C
        )
        _wait_for(lab, process, "received")
        when_held(process)
        if when_held is ctrl_c:
            _wait_for(lab, process, "stopped")
    finally:
        assert lab.admin("POST", "cmdlet-gate", json={"open": True}).status_code == 200
    _, err = process.communicate(timeout=STOP_GUARD)
    return process.returncode, err


def test_a_replace_stopped_after_the_old_policy_went_says_how_to_restore_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    diego = addr("DiegoS")
    denied = invoke("policy", "restrict", "--access-right", "DenyAccess", "--member", diego, "--yes", env=env)
    assert denied.code == 0, denied.out + denied.err
    fresh_lab.fault(protocol="cmdlet", operation="New-ApplicationAccessPolicy", kind="cmdlet_error")
    run = invoke("--json", "policy", "restrict", "--replace", "--member", diego, "--yes", env=env)
    assert run.code == 1, run.out + run.err
    assert (
        fresh_lab.admin("GET", "state").json()["application_access_policies"] == []
    )  # the app is unrestricted
    document = json.loads(run.out)
    assert any(d.startswith("old policy") for d in document["done"]), document
    # The way back to where the run started: the DenyAccess policy it removed, made again.
    assert "DenyAccess" in document["error"]["remedy"], document["error"]["remedy"]


def test_the_undo_of_an_interrupted_restrict_for_another_app_names_that_app(
    fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    diego = addr("DiegoS")
    args = ["policy", "restrict", "--yes", "--app-id", OTHER_APP, "--member", diego]
    # Held: New-ApplicationAccessPolicy ran (the policy is made) and its answer waits at the gate: Ctrl-C.
    code, err = gated_run(
        fresh_lab,
        "New-ApplicationAccessPolicy",
        args,
        env,
    )
    assert code == 130, (code, err)
    policies = fresh_lab.admin("GET", "state").json()["application_access_policies"]
    assert [p["app_id"] for p in policies] == [OTHER_APP], policies
    assert "roomsops policy remove" in err, err
    assert f"--app-id {OTHER_APP}" in err, err  # else the undo removes the sync app's policy, not this one


def test_the_undo_of_a_half_done_rbac_restrict_names_commands_that_remove_what_it_made(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    fresh_lab.fault(protocol="cmdlet", operation="New-ManagementRoleAssignment", kind="cmdlet_error")
    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    run = invoke(
        "--json", "policy", "restrict", "--engine", "rbac", *sp, "--member", addr("DiegoS"), "--yes", env=env
    )
    assert run.code == 1, run.out + run.err
    document = json.loads(run.out)
    made = {d.split(" ")[0] for d in document["done"]}
    assert made == {"group", "member", "principal", "scope"}, document["done"]
    remedy = document["error"]["remedy"]
    assert "roomsops policy remove --engine rbac" in remedy, remedy  # the scope (Deliver 10's undo)
    assert "Remove-DistributionGroup -Identity SyncIsAllowed" in remedy, remedy  # the group this run made
    assert "Remove-ServicePrincipal" in remedy, remedy  # the pointer this run made


def test_ews_allow_stopped_after_the_allow_list_names_ews_disallow_as_its_undo(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    """`ews allow --enable` put the sync app on EwsAllowedAppIDs, then setting EwsEnabled failed (a transient
    Exchange error). The undo named is "set EwsAllowedAppIDs (and EwsEnabled) back with Set-OrganizationConfig": a
    cmdlet without its values, while the one change made is undone exactly by `roomsops ews disallow` (Deliver 10),
    which `ews disallow`'s own undo names the other way round ("run 'roomsops ews allow'")."""

    def fail_the_next(_: subprocess.Popen[str]) -> None:  # EwsAllowedAppIDs was set; EwsEnabled will fail
        fresh_lab.fault(protocol="cmdlet", operation="Set-OrganizationConfig", kind="cmdlet_error")

    code, err = gated_run(
        fresh_lab, "Set-OrganizationConfig", ["ews", "allow", "--enable", "--yes"], env, fail_the_next
    )
    assert code == 1, err
    organization = fresh_lab.admin("GET", "state").json()["organization"]
    assert organization["ews_enabled"] is None and organization["ews_allowed_app_ids"], organization
    assert "stopped half-way" in err, err
    assert "roomsops ews disallow" in err, err  # the undo of the one change made
    undo = invoke("ews", "disallow", "--yes", env=env)
    assert undo.code == 0, undo.out + undo.err
    assert fresh_lab.admin("GET", "state").json()["organization"]["ews_allowed_app_ids"] == []
