"""The README's `--json` shapes of the commands that need a tenant, against the lab's real output
(the reader and the comparison: tests/cli/test_readme_json.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_readme_json import assert_documented, document
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def test_auth_test_document(invoke: Invoke, env: dict[str, str]) -> None:
    doc = document(invoke("--json", "auth", "test", env=env))
    assert doc["checks"]
    assert_documented("auth test", doc)


def test_policy_documents_of_both_engines_and_of_migrate(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], addr: Addr
) -> None:
    members = ["--member", addr("DiegoS"), "--member", addr("AdeleV")]
    restricted = document(invoke("--json", "policy", "restrict", *members, env=env))
    assert restricted["steps"] and restricted["tests"]
    assert_documented("policy restrict", restricted)
    assert_documented("policy test", document(invoke("--json", "policy", "test", addr("DiegoS"), env=env)))

    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    planned = document(invoke("--json", "policy", "migrate", "--dry-run", *sp, env=env))
    assert planned["policies"] and planned["steps"]
    assert_documented("policy migrate", planned)
    migrated = document(invoke("--json", "policy", "migrate", "--yes", *sp, env=env))
    assert migrated["tests"]
    assert_documented("policy migrate", migrated)

    rbac = ["--engine", "rbac"]
    restricted = document(invoke("--json", "policy", "restrict", *rbac, *sp, *members, env=env))
    assert restricted["steps"] and restricted["tests"]
    assert_documented("policy restrict --engine rbac", restricted)
    tested = document(invoke("--json", "policy", "test", *rbac, addr("DiegoS"), env=env))
    assert_documented("policy test --engine rbac", tested)


def test_sync_document_and_its_summary_file(invoke: Invoke, env: dict[str, str], addr: Addr) -> None:
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    document(invoke("--json", "persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    booking = ["--organizer", addr("DiegoS"), "--room", addr("room-zurich"), "--title", "Planning"]
    times = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
    document(invoke("--json", "bookings", "add", *booking, *times, env=env))

    synced = document(invoke("--json", "sync", env=env))
    assert synced["mailboxes"] and synced["mailboxes"][0]["created"] == 1
    assert_documented("sync", synced)

    # "the same document (plus "totals") is the last-run summary file"
    summary: dict[str, Any] = json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text(encoding="utf-8"))
    assert "totals" in summary
    assert_documented("sync", {k: v for k, v in summary.items() if k != "totals"})

    # A person leaving the sync: "left_sync" (review20b: "own_meetings_left")
    diego = addr("DiegoS")
    ok(invoke("sync", env=env))
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    left = document(invoke("--json", "sync", env=env))
    assert left["left_sync"][diego]["action"] == "reported"
    assert_documented("sync", left)


def test_sync_diff_resolve_purge_resume_lab_env_and_interrupted_change_documents(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], addr: Addr, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = invoke("--json", "lab", "env", "--dir", str(fresh_lab.dir))
    lab_env = document(shown)
    password = json.loads((Path(fresh_lab.dir) / "lab.json").read_text(encoding="utf-8"))["winrm"]["password"]
    assert lab_env["mailboxes"] and lab_env["rooms"] and password not in shown.out  # never printed
    assert_documented("lab env", lab_env)

    diego, room = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, env=env))
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    for title, at in (
        ("Planning", start),
        ("Far away", start + timedelta(days=200)),
    ):  # beyond the room's window
        times = ["--start", at.isoformat(), "--end", (at + timedelta(hours=1)).isoformat()]
        ok(invoke("bookings", "add", "--organizer", diego, "--room", room, *times, "--title", title, env=env))
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200  # "Far away" is declined
    items = fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
    (planning,) = [i for i in items if i["subject"] == "Planning"]
    edited = fresh_lab.admin(
        "PATCH",
        f"/lab/mailboxes/{diego}/calendar/{planning['id']}",
        json={"subject": "Planning (O)", "send": False},
    )
    assert edited.status_code == 200, edited.text
    ok(invoke("bookings", "update", "1", "--title", "Planning (R)", env=env))  # both sides: a difference
    invoke("sync", env=env)  # exit 1: the room declined "Far away"

    diff = json.loads(invoke("--json", "sync", "diff", env=env).out)
    assert diff["differences"] and diff["rooms"], diff
    assert_documented("sync diff", diff)
    resolved = document(invoke("--json", "sync", "resolve", "1", "--use", "ignore", env=env))
    assert resolved["resolved"] == 1
    assert_documented("sync resolve", resolved)
    planned = document(invoke("--json", "sync", "purge", "--person", diego, "--dry-run", env=env))
    assert planned["removed"] and planned["not_synced"]
    assert_documented("sync purge", planned)
    assert_documented(
        "sync purge", document(invoke("--json", "sync", "purge", "--person", diego, "--yes", env=env))
    )
    resumed = document(invoke("--json", "sync", "resume", "--person", diego, env=env))
    assert resumed["resumed"]
    assert_documented("sync resume", resumed)

    # A tenant change stopped midway: the WinRM connection drops during New-ApplicationAccessPolicy.
    from collections.abc import Sequence

    from roomsops.adapters.exo.session import ExchangeSession

    original = ExchangeSession.run_batch

    def run_batch(self: ExchangeSession, statements: Sequence[tuple[str, Any]]) -> Any:
        if statements and statements[0][0] == "New-ApplicationAccessPolicy":
            fresh_lab.fault(protocol="wsman", operation="Command", kind="drop_before", count=1)
        return original(self, statements)

    monkeypatch.setattr(ExchangeSession, "run_batch", run_batch)
    run = invoke("--json", "policy", "restrict", "--member", addr("AdeleV"), env=env)
    assert run.code == 1, run.out + run.err
    stopped = json.loads(run.out)
    assert stopped["done"] and stopped["error"]["code"] == "winrm_dropped", stopped
    assert_documented("interrupted tenant change", stopped)


def test_lab_serve_and_lab_stop_documents(invoke: Invoke, tmp_path: Path) -> None:
    """`--json lab serve` prints the `lab env` document once the lab is ready, `--json lab stop` its own."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "lab"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "--json", "lab", "serve", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environ,
    )
    try:
        assert process.stdout is not None
        text, line = "", None
        while line != "}\n":  # the document ends with its closing brace on a line of its own
            line = process.stdout.readline()
            assert line, "lab serve ended before its document"
            text += line
        assert_documented("lab env", json.loads(text))
        assert_documented("lab stop", document(invoke("--json", "lab", "stop", "--dir", str(folder))))
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
