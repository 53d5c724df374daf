"""review21e: fix21d's refusal of paths that are no regular file ("A path setting naming a named pipe, socket or
device (e.g. `sync.summary_file`) is refused (exit 2); `sync` and `sync status` no longer hang on a FIFO") covers
the settings read through `Settings.setting_path`, not every file roomsops opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Invoke


def test_config_check_does_not_hang_on_a_certificate_file_that_is_a_named_pipe(
    app_settings: Path, tmp_path: Path
) -> None:
    """Steps: auth.certificate_file (ROOMSOPS_AUTH_CERTIFICATE_FILE) names a named pipe (nobody writes it), then
    `roomsops config check` — the check README gives for a new installation, and the one `doctor` runs too.
    Expected (fix21d, above; the database, RoomsAppSettings.config and sync.summary_file refuse a FIFO: "a FIFO would
    block for ever"): config check answers — a failed check or exit 2 naming auth.certificate_file.
    Actual: config check reads the path with read_bytes() (services/config/appsettings.py resolves it without
    setting_path's check) and blocks for ever; `doctor` hangs the same way. A monitor or scheduled check never
    returns."""
    fifo = tmp_path / "rooms.pem"
    os.mkfifo(fifo)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")},
        "ROOMSOPS_DATA_DIR": str(tmp_path),
        "ROOMSOPS_APP_SETTINGS": str(app_settings),
        "ROOMSOPS_AUTH_CERTIFICATE_FILE": str(fifo),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "roomsops", "config", "check"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=10,  # about a second when it does not hang
        )
    except subprocess.TimeoutExpired:
        pytest.fail("roomsops config check hung reading the named pipe auth.certificate_file")
    assert "auth.certificate_file" in done.stdout + done.stderr or str(fifo) in done.stdout + done.stderr


def test_a_sync_lock_path_that_is_a_folder_is_a_plain_error(
    invoke: Invoke, app_settings: Path, tmp_path: Path
) -> None:
    """Steps: where the sync lock goes (rooms.db.sync.lock beside the database) there is a folder of that name (or a
    named pipe: the same), then `roomsops sync`.
    Expected (README: errors are one line "Error: <problem> — <remedy>"; exit 2 for bad configuration, nothing
    changed; fix21d refuses a folder, pipe or device for the database, its id files and the summary): exit 2 naming
    the lock file and what to do (remove it).
    Actual: "Error: unexpected IsADirectoryError: [Errno 21] Is a directory: '.../rooms.db.sync.lock' — run again with
    --debug for the traceback, and report it", exit 1 (a named pipe there: "unexpected UnsupportedOperation: File or
    stream is not seekable"). The lock file of RoomsAppSettings.config refuses the same thing with a remedy
    (adapters/appsettings/lock.py)."""
    (tmp_path / "rooms.db.sync.lock").mkdir()
    run = invoke("--app-settings", str(app_settings), "sync")
    assert "report it" not in run.err and "unexpected" not in run.err, run.err
    assert run.code == 2, (run.code, run.err)
