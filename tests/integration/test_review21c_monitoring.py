"""review21c: monitoring an unattended sync (issue 21.3): `sync status` and the summary file say when the last
run failed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_a_run_that_fails_on_its_configuration_is_not_reported_as_the_last_good_run(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """The scheduled sync runs every 5 minutes. Someone removes the client secret from RoomsAppSettings.config
    (or a ROOMS update replaces the file): from then on every `roomsops sync` exits 2 ("must hold exactly one of
    ExchangeClientSecret and ExchangeCertThumbprint"), but the summary file keeps the last success, and
    `roomsops sync status` — the check README gives a monitor — says "last full run: ok", exit 0. (With --max-age
    it notices only once the old success is older than the limit, and then says "too old", not why.) The run
    that failed must be the last run: the summary says "ok": false with its error, sync status exits 1."""
    config = tmp_path / "RoomsAppSettings.config"
    shutil.copy(fresh_lab.dir / "RoomsAppSettings.config", config)
    env = {**env, "ROOMSOPS_ROOMS_APP_SETTINGS": str(config)}
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("sync", env=env))
    assert ok(invoke("sync", "status", env=env)).code == 0

    ok(invoke("config", "unset", "ExchangeClientSecret", "--yes", env=env))
    failed = invoke("sync", env=env)
    assert failed.code == 2, failed.out + failed.err

    summary = json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text(encoding="utf-8"))
    status = invoke("--json", "sync", "status", env=env)
    assert summary["ok"] is False, summary
    assert status.code == 1, status.out


def test_a_run_that_fails_on_its_configuration_is_in_the_log_file(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """Under Task Scheduler stderr goes nowhere; the log file (`log.file`) is what README gives a monitor ("one
    line per mailbox and one per failure"). A sync refused on its configuration (RoomsAppSettings.config gone,
    e.g. after a ROOMS reinstall) writes nothing there: the log ends with the last good run's lines, and the only
    trace is the task's "Last Run Result" 0x2. (A token or TLS failure, exit 3, is logged: "sync FAILED before
    finishing: ...".)"""
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("sync", env=env))
    log = Path(env["ROOMSOPS_LOG_FILE"])
    before = log.read_text(encoding="utf-8")
    missing = tmp_path / "gone" / "RoomsAppSettings.config"
    failed = invoke("sync", env={**env, "ROOMSOPS_ROOMS_APP_SETTINGS": str(missing)})
    assert failed.code == 2, failed.out + failed.err
    added = log.read_text(encoding="utf-8").removeprefix(before)
    assert "RoomsAppSettings.config" in added and "ERROR" in added, added


def test_a_run_under_way_does_not_hide_that_the_last_finished_run_failed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Every run fails (a person whose mailbox was deleted: not found, exit 1). The schedule starts the
    next run every 5 minutes; a run of 1,000 mailboxes takes 2+ minutes (README's benchmark). While the next run
    is under way its "under way" document has replaced the failed run's summary, and `sync status` says "last
    full run: running", exit 0: a monitor polling every minute sees "healthy" for as long as each run lasts,
    although no run has succeeded. The failure of the last finished run must still make it exit 1.
    (The run under way is this test process: the sync lock taken and the under-way summary written with the
    sync's own functions, as `roomsops sync` does when it starts.)"""
    from roomsops.adapters.store import now_utc
    from roomsops.cli.sync import lock_path, summary_path
    from roomsops.core.settings import load_settings
    from roomsops.services.sync.lock import run_lock
    from roomsops.services.sync.run import write_running_summary

    ok(invoke("persons", "add", addr("NoSuchPerson"), "--no-check", env=env))
    failed = invoke("sync", env=env)
    assert failed.code == 1, failed.out + failed.err
    assert invoke("sync", "status", env=env).code == 1

    settings = load_settings(env["ROOMSOPS_SETTINGS"], environ=env)
    with run_lock(lock_path(settings)):
        write_running_summary(summary_path(settings), now_utc())
        status = invoke("sync", "status", env=env)
    assert "running" in status.out.casefold(), status.out
    assert status.code == 1, status.out
