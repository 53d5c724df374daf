"""Sync v2, a truthful summary and log (issue 19, deliver 7): a run that stops early says so, a --person run never
hides the last full run, and the log holds one line per mailbox result and per failure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def summary(env: dict[str, str], name: str | None = None) -> dict[str, Any]:
    path = Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"])
    return dict(json.loads((path.with_name(name) if name else path).read_text()))


@pytest.fixture
def two_persons(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    """DiegoS and AdeleV, one booking each (room-zurich), not synced yet."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    for index, person in enumerate(("DiegoS", "AdeleV")):
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
        start = DAY + timedelta(hours=2 * index)
        ok(
            invoke(
                "bookings",
                "add",
                "--organizer",
                addr(person),
                "--room",
                addr("room-zurich"),
                "--start",
                start.isoformat(),
                "--end",
                (start + timedelta(hours=1)).isoformat(),
                "--title",
                f"Planning {person}",
                env=env,
            )
        )


def test_a_person_run_writes_its_own_summary_beside_the_full_one(
    invoke: Invoke, env: dict[str, str], addr: Any, two_persons: None
) -> None:
    ok(invoke("sync", env=env))
    full = summary(env)
    assert [m["mailbox"] for m in full["mailboxes"]] == [addr("AdeleV"), addr("DiegoS")]
    ok(invoke("bookings", "update", "1", "--title", "Diego v2", env=env))
    ok(invoke("sync", "--person", addr("DiegoS"), env=env))
    assert summary(env) == full  # the last full run stays visible to monitoring
    person = summary(env, "last-sync.person.json")
    assert person["ok"] is True
    assert [(m["mailbox"], m["updated"]) for m in person["mailboxes"]] == [(addr("DiegoS"), 1)]


def test_a_damaged_database_writes_a_failed_summary(
    invoke: Invoke, env: dict[str, str], addr: Any, two_persons: None
) -> None:
    ok(invoke("sync", env=env))
    assert summary(env)["ok"] is True
    database = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"not a database, " * 256)
    run = invoke("sync", env=env)
    assert run.code == 2
    failed = summary(env)
    assert failed["ok"] is False and failed["mailboxes"] == []
    assert "is not an SQLite database" in failed["error"]["message"]
    assert "sync FAILED before finishing: " in Path(env["ROOMSOPS_LOG_FILE"]).read_text()


def test_the_log_has_one_line_per_mailbox_result_and_per_failure(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, two_persons: None
) -> None:
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_before", count=1)
    assert invoke("sync", "--concurrency", "1", env=env).code == 1
    lines = [line for line in Path(env["ROOMSOPS_LOG_FILE"]).read_text().splitlines() if " sync " in line]
    results = [line for line in lines if ": ok;" in line or "failure(s);" in line]
    failures = [line for line in lines if ": failed: " in line]
    assert len(results) == 2, lines
    assert f"INFO roomsops: sync {addr('AdeleV')}: 1 failure(s); " in results[0]
    assert f"INFO roomsops: sync {addr('DiegoS')}: ok; 1 created" in results[1]
    (failure,) = failures
    assert "WARNING" in failure and "booking 2 (Planning AdeleV)" in failure


def test_sigterm_during_a_pass_writes_a_failed_summary(
    fresh_lab: Any, env: dict[str, str], addr: Any, two_persons: None
) -> None:
    """SIGTERM (a service manager stopping roomsops) is sent once the lab has counted the first EWS request."""
    fresh_lab.settings(latency_ms=300)
    counted = threading.Event()

    def watch() -> None:
        while not counted.is_set():
            if fresh_lab.lab.context.counter.snapshot().get("ews:SyncFolderItems", 0) >= 1:
                counted.set()
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        watcher.start()
        assert counted.wait(timeout=60)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        counted.set()
        fresh_lab.settings(latency_ms=0)
    assert process.returncode == 143, err  # 128 + SIGTERM (README), not Ctrl-C's 130
    failed = summary(env)
    assert failed["ok"] is False
    assert failed["error"] == {
        "code": "interrupted",
        "message": "terminated (SIGTERM) before the pass finished",
        "remedy": None,
    }
