"""Review of issue 17 (second part), against the lab: what the hardening missed.

- `rooms check --fix` changes the tenant (Set-CalendarProcessing) but did not run through `tenant_change`: an
  unwritable audit log gave "unexpected FileExistsError", exit 1, after the rooms were changed and nothing was
  audited; SIGTERM ended it without a report.
- An audit log that stops taking records in the middle of a change (after the pre-check) crashed with an
  "unexpected" error and no done / not done list, though the change it could not record was made.
- A byte that is not UTF-8 on the command line (Python hands it over as a lone surrogate) reached the lab
  mid-change: the group and a member were made, then the next cmdlet broke the connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from roomsops.lab.cmdlets import find
from roomsops.lab.cmdlets.base import Invocation
from tests.conftest import Invoke
from tests.integration.test_tenant_change import addr, changes, env, groups, held

pytestmark = pytest.mark.integration
__all__ = ["env"]  # the fixture, shared with test_tenant_change


@contextlib.contextmanager
def gated(name: str) -> Iterator[tuple[threading.Event, threading.Event]]:
    """The lab's first `name` cmdlet waits for `release` (then runs as usual); `reached` is set when it waits."""
    spec = find(name)
    assert spec is not None
    reached, release = threading.Event(), threading.Event()

    def wait_then_run(inv: Invocation) -> Iterable[Any]:
        if not reached.is_set():
            reached.set()
            assert release.wait(timeout=60), "never released"
        return spec.run(inv)

    registry = sys.modules["roomsops.lab.cmdlets"].CMDLETS
    key = name.casefold()
    registry[key] = replace(spec, run=wait_then_run)
    try:
        yield reached, release
    finally:
        release.set()
        registry[key] = spec


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "roomsops", *args],
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def rooms_fixed(lab: Any) -> dict[str, int]:
    return {k: v for k, v in lab.requests().items() if k == "cmdlet:Set-CalendarProcessing"}


# --- rooms check --fix is a tenant change ----------------------------------------------------------------------


def test_review17b_rooms_check_fix_with_an_unwritable_audit_log_changes_nothing(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "not-a-folder").write_text("x", encoding="utf-8")
    audit = tmp_path / "not-a-folder" / "audit.jsonl"  # cannot be created, whoever runs the test (root too)
    room = addr(fresh_lab, "room-zurich")
    before = fresh_lab.admin("GET", "state").json()
    run = invoke("rooms", "check", room, "--fix", "--yes", env=env | {"ROOMSOPS_LOG_AUDIT": str(audit)})
    # before: the room was changed, then "unexpected FileExistsError", exit 1, nothing audited
    assert run.code == 2, run.err
    assert run.err.startswith(
        f"Error: the audit log {audit} (log.audit, from $ROOMSOPS_LOG_AUDIT) cannot be "
    )
    assert "nothing was changed" in run.err
    assert changes(fresh_lab) == {} and fresh_lab.requests().get("cmdlet:Connect-ExchangeOnline", 0) == 0
    assert fresh_lab.admin("GET", "state").json() == before
    # a plain check and a dry run still need no audit log (exit 1: the room differs from the profile)
    for extra in ((), ("--fix", "--dry-run")):
        plain = invoke("rooms", "check", room, *extra, env=env | {"ROOMSOPS_LOG_AUDIT": str(audit)})
        assert plain.code == 1 and plain.err == "" and "differ" in plain.out, plain.err


@pytest.mark.parametrize("json_mode", [False, True])
def test_review17b_an_interrupted_rooms_check_fix_disconnects_and_reports(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path, json_mode: bool
) -> None:
    zurich, bern = addr(fresh_lab, "room-zurich"), addr(fresh_lab, "room-bern")
    shells_before = {s["id"] for s in fresh_lab.admin("GET", "/lab/winrm").json()["open_shells"]}
    args = [*(["--json"] if json_mode else []), "rooms", "check", zurich, bern, "--fix", "--yes"]
    with held("Set-CalendarProcessing") as reached:
        process = start(args, env, tmp_path)
        try:
            assert reached.wait(timeout=60), "the run never reached Set-CalendarProcessing"
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    # before: exit 143 with nothing on stdout or stderr, no Disconnect-ExchangeOnline, the shell left open
    assert process.returncode == 143, err
    assert fresh_lab.requests().get("cmdlet:Disconnect-ExchangeOnline", 0) == 1
    assert {s["id"] for s in fresh_lab.admin("GET", "/lab/winrm").json()["open_shells"]} <= shells_before
    running = "(interrupted while it ran: it may have been made)"
    not_done = [f"{zurich}: Set-CalendarProcessing {running}", f"{bern}: Set-CalendarProcessing {running}"]
    if json_mode:
        doc = json.loads(out)
        assert doc["ok"] is False and doc["command"] == "rooms check --fix" and doc["reason"] == "SIGTERM"
        assert doc["done"] == [] and doc["not_done"] == not_done
        assert "Set-CalendarProcessing" in doc["remedy"]
    else:
        assert out == ""
        assert err.splitlines()[0].startswith("Error: rooms check --fix was interrupted (SIGTERM) — ")
        assert err.splitlines()[1:] == ["done:", "  nothing", "not done:", *(f"  {n}" for n in not_done)]
    # the held cmdlet changed nothing, and running the command again finishes it
    again = invoke("rooms", "check", zurich, bern, "--fix", "--yes", env=env)
    assert again.code == 0, again.err
    assert invoke("rooms", "check", zurich, bern, env=env).code == 0


# --- the audit log fails in the middle of a change ---------------------------------------------------------------


@pytest.mark.parametrize("json_mode", [False, True])
def test_review17b_an_audit_log_that_fails_mid_run_is_reported_with_done_and_not_done(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path, json_mode: bool
) -> None:
    diego, adele = addr(fresh_lab, "DiegoS"), addr(fresh_lab, "AdeleV")
    audit = Path(env["ROOMSOPS_LOG_AUDIT"])
    args = [*(["--json"] if json_mode else []), "policy", "restrict", "--group", "Midway"]
    args += ["--member", diego, "--member", adele]
    with gated("Add-DistributionGroupMember") as (reached, release):
        process = start(args, env, tmp_path)
        try:
            assert reached.wait(timeout=60), "the run never reached Add-DistributionGroupMember"
            # after the pre-check and the group's record: the audit log can no longer be appended to
            audit.rename(audit.with_name("audit.kept"))
            audit.mkdir()
            release.set()
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    # before: "Error: unexpected IsADirectoryError: …", exit 1, without saying what was made
    assert process.returncode == 1, err
    assert groups(fresh_lab) == [("Midway", 2)]
    assert fresh_lab.requests().get("cmdlet:New-ApplicationAccessPolicy", 0) == 0
    assert fresh_lab.requests().get("cmdlet:Disconnect-ExchangeOnline", 0) == 1
    app_id = fresh_lab.app("rooms")["app_id"]
    done = ["group Midway: created", f"member {diego}: added", f"member {adele}: added"]
    not_done = [f"policy {app_id} → Midway: created"]
    reason = (
        f"the audit log {audit} could not be written (Is a directory) after cmdlet:Add-DistributionGroupMember "
        "on 127.0.0.1: that change was made but is not in the audit log"
    )
    if json_mode:
        doc = json.loads(out)
        assert doc["ok"] is False and doc["reason"] == reason
        assert doc["done"] == done and doc["not_done"] == not_done
    else:
        assert err.splitlines()[0].startswith(f"Error: policy restrict was interrupted ({reason}) — ")
        assert err.splitlines()[1:] == [
            "done:",
            *(f"  {d}" for d in done),
            "not done:",
            *(f"  {n}" for n in not_done),
        ]
    kept = [
        json.loads(line) for line in audit.with_name("audit.kept").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["action"] for r in kept][-2:] == ["cmdlet:New-DistributionGroup", "policy.group.made"]
    # with the audit log back, the same command finishes it
    audit.rmdir()
    audit.with_name("audit.kept").rename(audit)
    again = invoke("policy", "restrict", "--group", "Midway", "--member", diego, "--member", adele, env=env)
    assert again.code == 0, again.err
    assert fresh_lab.requests().get("cmdlet:New-ApplicationAccessPolicy", 0) == 1


# --- bytes that are not UTF-8 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["--group", "--description", "ROOMSOPS_POLICY_GROUP"])
def test_review17b_a_value_that_is_not_utf8_is_exit_2_before_anything_changes(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], where: str
) -> None:
    bad = os.fsdecode(b"Sync\xffAllowed")  # what Python makes of $'Sync\xffAllowed' on the command line
    args = ["policy", "restrict", "--member", addr(fresh_lab, "DiegoS"), "--yes"]
    run_env = env
    if where.startswith("--"):
        args += [where, bad]
    else:
        run_env = env | {where: bad}
    before = fresh_lab.admin("GET", "state").json()
    run = invoke(*args, env=run_env)
    # before: the group (or the group and the member) was made, then "the WinRM connection … failed", exit 1
    assert run.code == 2, run.err
    assert "is not UTF-8 text" in run.err and run.out == ""
    assert fresh_lab.requests().get("cmdlet:Connect-ExchangeOnline", 0) == 0
    assert fresh_lab.admin("GET", "state").json() == before
