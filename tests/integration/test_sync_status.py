"""Issue 21.3: `roomsops sync status` reads the summary files: the last runs with age and failures; exit 1 when
the last full run failed, is missing or is older than --max-age."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_readme_json import assert_documented
from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_status_follows_the_summary_files(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    missing = invoke("sync", "status", env=env)
    assert missing.code == 1
    assert "last full run: no full run recorded in" in missing.out

    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("sync", env=env))
    fine = json.loads(ok(invoke("--json", "sync", "status", "--max-age", "2h", env=env)).out)
    full, person = fine["runs"]
    assert (full["kind"], full["found"], full["ok"], full["age_minutes"]) == ("full", True, True, 0)
    assert (person["kind"], person["found"]) == ("person", False)
    assert fine["problem"] is None and fine["max_age_minutes"] == 120
    assert_documented("sync status", fine)

    # An old run: its start moved back three hours in the file the scheduler's last run wrote.
    path = Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"])
    doc = json.loads(path.read_text())
    doc["started"] = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    path.write_text(json.dumps(doc))
    old = invoke("sync", "status", "--max-age", "2h", env=env)
    assert old.code == 1
    assert "started 180 min ago, longer than --max-age (120 min)" in old.out
    assert invoke("sync", "status", env=env).code == 0  # no --max-age: age alone is no failure

    # A run that failed before any work (token service unreachable) is reported with its reason.
    failed = invoke("sync", env=env | {"ROOMSOPS_CLOUD_AUTHORITY_HOST": "https://127.0.0.1:9"})
    assert failed.code == 3
    status = invoke("sync", "status", env=env)
    assert status.code == 1
    assert "last full run: FAILED: cannot reach https://127.0.0.1:9" in status.out


@pytest.mark.parametrize("age", ["0", "abc", "5x", "-3"])
def test_a_bad_max_age_is_exit_2(invoke: Invoke, env: dict[str, str], age: str) -> None:
    run = invoke("sync", "status", "--max-age", age, env=env)
    assert run.code == 2
    assert run.err.startswith(f"Error: --max-age '{age}' is not an age — give minutes")


def test_a_run_under_way_is_running_while_it_holds_the_lock_and_interrupted_after(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    """The summary a run writes when it takes the lock (replaced when it ends): `sync status` shows it as running
    while the lock's holder lives, and as interrupted once nobody holds the lock (killed before it could
    write)."""
    from roomsops.services.sync.lock import run_lock
    from roomsops.services.sync.run import write_running_summary

    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("sync", env=env))
    path = Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"])
    lock = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///") + ".sync.lock")
    with run_lock(lock):  # this process is the run under way
        write_running_summary(path, datetime.now(UTC))
        under_way = json.loads(path.read_text())
        assert (under_way["ok"], under_way["running"], under_way["error"]["code"]) == (
            False,
            True,
            "interrupted",
        )
        running = invoke("--json", "sync", "status", env=env)
        assert running.code == 0, running.out
        doc = json.loads(running.out)
        assert (doc["runs"][0]["run_state"], doc["problem"]) == ("running", None)
        assert doc["runs"][0]["pid"] == under_way["pid"]
        assert_documented("sync status", doc)
        assert "last full run: running" in invoke("sync", "status", env=env).out
    died = invoke("sync", "status", env=env)
    assert died.code == 1
    assert "INTERRUPTED" in died.out and "last full run: FAILED: interrupted" in died.out
    ok(invoke("sync", env=env))  # the next run replaces it with its final document
    assert "running" not in json.loads(path.read_text())
    assert ok(invoke("sync", "status", env=env)).out.rstrip().endswith("last full run: ok")
