"""Issue 17 D5 against the lab: a tenant-changing command checks its audit log before the first change, and
after SIGTERM or Ctrl-C disconnects and says which changes were made and which not.

The interruption is deterministic: the lab (in this process) holds Add-DistributionGroupMember until roomsops
stops the pipeline, and the test signals once the lab has reached it (an event, not a clock): by then the group
was created and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from roomsops.lab.cmdlets import find
from roomsops.lab.cmdlets.base import Invocation
from tests.conftest import Invoke, sigint_by_default
from tests.unit.test_store_faults import read_only

pytestmark = pytest.mark.integration

CHANGING = ("cmdlet:New-", "cmdlet:Add-", "cmdlet:Remove-", "cmdlet:Set-")


@pytest.fixture
def env(fresh_lab: Any, tmp_path: Path) -> dict[str, str]:
    return {
        "ROOMSOPS_SETTINGS": str(fresh_lab.settings_path),
        "ROOMSOPS_WINRM_PASSWORD": fresh_lab.info["winrm"]["password"],
        "ROOMSOPS_LOG_AUDIT": str(tmp_path / "audit.jsonl"),
        "ROOMSOPS_LOG_FILE": str(tmp_path / "roomsops.log"),
    }


def addr(lab: Any, name: str) -> str:
    return f"{name}@{lab.info['tenant']['domain']}"


def changes(lab: Any) -> dict[str, int]:
    return {k: v for k, v in lab.requests().items() if k.startswith(CHANGING)}


def groups(lab: Any) -> list[tuple[str, int]]:
    return [(g["name"], len(g["members"])) for g in lab.admin("GET", "state").json()["groups"]]


# --- the audit log is checked before the first change --------------------------------------------------------


COMMANDS = {
    "policy restrict": ("policy", "restrict", "--member", "DiegoS", "--yes"),
    "policy restrict rbac": (
        "policy",
        "restrict",
        "--engine",
        "rbac",
        "--sp-object-id",
        "SP",
        "--member",
        "DiegoS",
    ),
    "policy remove": ("policy", "remove", "--group", "SyncIsAllowed", "--yes"),
    "policy migrate": ("policy", "migrate", "--yes"),
    "ews allow": ("ews", "allow", "--enable", "--yes"),
}


@pytest.mark.parametrize("audit", ["folder", "read-only file"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unwritable_audit_log_is_exit_2_and_the_tenant_unchanged(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path, audit: str, command: str
) -> None:
    # Something to change for every command: a policy to remove or migrate.
    assert invoke("policy", "restrict", "--member", addr(fresh_lab, "AdeleV"), env=env).code == 0
    before, state = groups(fresh_lab), fresh_lab.admin("GET", "state").json()
    fresh_lab.reset_requests()
    target = tmp_path / "audit-target"
    args = [
        addr(fresh_lab, a) if a == "DiegoS" else fresh_lab.app("rooms")["object_id"] if a == "SP" else a
        for a in COMMANDS[command]
    ]
    if audit == "folder":
        target.mkdir()
        run = invoke(*args, env=env | {"ROOMSOPS_LOG_AUDIT": str(target)})
        assert run.code == 2, run.err
        assert run.err == (
            f"Error: log.audit = '{target}' (from $ROOMSOPS_LOG_AUDIT) is a folder, not a file — set log.audit "
            f"in $ROOMSOPS_LOG_AUDIT to a file, e.g. {target / 'audit.jsonl'}\n"
        )
    else:
        target.write_text("", encoding="utf-8")
        with read_only(target):
            run = invoke(*args, env=env | {"ROOMSOPS_LOG_AUDIT": str(target)})
        assert run.code == 2, run.err
        assert run.err.startswith(
            f"Error: the audit log {target} (log.audit, from $ROOMSOPS_LOG_AUDIT) cannot be written: "
        )
        assert (
            "nothing was changed — point log.audit in $ROOMSOPS_LOG_AUDIT at a file this account can append to"
            in (run.err)
        )
    assert changes(fresh_lab) == {} and fresh_lab.requests().get("cmdlet:Connect-ExchangeOnline", 0) == 0
    assert groups(fresh_lab) == before
    assert fresh_lab.admin("GET", "state").json() == state  # the whole tenant as it was


def test_a_dry_run_does_not_need_the_audit_log(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    audit = tmp_path / "read-only.jsonl"
    audit.write_text("", encoding="utf-8")
    with read_only(audit):
        run = invoke(
            "policy",
            "restrict",
            "--member",
            addr(fresh_lab, "DiegoS"),
            "--dry-run",
            env=env | {"ROOMSOPS_LOG_AUDIT": str(audit)},
        )
    assert run.code == 0, run.err
    assert "would be created" in run.out and changes(fresh_lab) == {}


# --- interrupted: disconnect, and say what was done ------------------------------------------------------------


@contextlib.contextmanager
def held(name: str) -> Iterator[threading.Event]:
    """The lab's `name` cmdlet waits (without changing anything) until roomsops stops its pipeline; the event
    is set when it has been reached."""
    spec = find(name)
    assert spec is not None
    reached = threading.Event()

    def wait(inv: Invocation) -> list[Any]:
        reached.set()
        inv.sleep(120)  # ends at once with PipelineStopped when the client stops the pipeline
        raise AssertionError(f"{name} was never stopped")

    registry = sys.modules["roomsops.lab.cmdlets"].CMDLETS
    key = name.casefold()
    registry[key] = replace(spec, run=wait)
    try:
        yield reached
    finally:
        registry[key] = spec


@pytest.mark.parametrize(
    ("sig", "status", "reason"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl-C")]
)
@pytest.mark.parametrize("json_mode", [False, True])
def test_an_interrupted_restrict_disconnects_and_lists_done_and_not_done(
    fresh_lab: Any,
    env: dict[str, str],
    tmp_path: Path,
    sig: signal.Signals,
    status: int,
    reason: str,
    json_mode: bool,
) -> None:
    diego, adele = addr(fresh_lab, "DiegoS"), addr(fresh_lab, "AdeleV")
    shells_before = {s["id"] for s in fresh_lab.admin("GET", "/lab/winrm").json()["open_shells"]}
    command = [sys.executable, "-m", "roomsops", *(["--json"] if json_mode else [])]
    command += ["policy", "restrict", "--group", "Interrupted", "--member", diego, "--member", adele]
    with held("Add-DistributionGroupMember") as reached:
        process = subprocess.Popen(
            command,
            env=os.environ | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            preexec_fn=sigint_by_default,
        )
        try:
            assert reached.wait(timeout=60), "the run never reached Add-DistributionGroupMember"
            process.send_signal(sig)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == status, err
    requests = fresh_lab.requests()
    assert requests.get("cmdlet:Disconnect-ExchangeOnline", 0) == 1  # the Exchange session was ended
    winrm = fresh_lab.admin("GET", "/lab/winrm").json()
    assert {s["id"] for s in winrm["open_shells"]} <= shells_before  # and the runspace pool closed
    assert requests.get("cmdlet:New-ApplicationAccessPolicy", 0) == 0
    assert groups(fresh_lab) == [("Interrupted", 0)]
    app_id = fresh_lab.app("rooms")["app_id"]
    running = "(interrupted while it ran: it may have been made)"
    expected_not_done = [
        f"member {diego}: added {running}",
        f"member {adele}: added {running}",
        f"policy {app_id} → Interrupted: created",
    ]
    if json_mode:
        doc = json.loads(out)
        assert doc["ok"] is False and doc["reason"] == reason and doc["command"] == "policy restrict"
        assert doc["done"] == ["group Interrupted: created"]
        assert doc["not_done"] == expected_not_done
        assert "run the same command again" in doc["remedy"]
        assert "roomsops policy remove --group Interrupted" in doc["remedy"]
        return
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(
        f"Error: policy restrict was interrupted ({reason}) — the Exchange session was closed; to finish, run the "
        "same command again: it keeps what is already in place and makes the rest; to undo, run 'roomsops "
        "policy remove --group Interrupted --with-group'"  # the group this run made goes too (fix21q)
    )
    assert lines[1:] == [
        "done:",
        "  group Interrupted: created",
        "not done:",
        *(f"  {n}" for n in expected_not_done),
    ]
